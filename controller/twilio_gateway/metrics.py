"""In-memory counters of the requests the gateway sends, per operation.

Each HTTP attempt counts once (a retried call counts every try; a list counts once for all its
pages, plus every retry of one of its pages), and each failed attempt counts under its error
class. Plain counters: controller/metrics.py reads them for GET /metrics
(bundle_renewal_twilio_request*_total).
"""

from __future__ import annotations

from collections import Counter


class CallCounter:
    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._failures: Counter[tuple[str, str]] = Counter()

    def record_call(self, operation: str) -> None:
        self._calls[operation] += 1

    def record_failure(self, operation: str, error_class: str) -> None:
        self._failures[(operation, error_class)] += 1

    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    def failures(self) -> dict[tuple[str, str], int]:
        return dict(self._failures)
