"""In-memory counters of the requests the gateway sends, per operation.

Each HTTP attempt counts once (a retried call counts every try; a list counts once for all its
pages, plus every retry of one of its pages), and each failed attempt counts under its error
class. Every attempt, each page of a list included, is also timed by outcome (`outcome_of`), so
that slow answers and rate limiting (429) show; and every retry the Retrier schedules counts.
Plain numbers: controller/telemetry/metrics.py reads them for GET /metrics
(bundle_renewal_twilio_request*, bundle_renewal_twilio_retries_total,
bundle_renewal_twilio_throttled_total).
"""

from __future__ import annotations

from collections import Counter

from controller.adapters.twilio_gateway.errors import CODE_TOO_MANY_REQUESTS, Failure
from controller.adapters.twilio_gateway.port import (
    TwilioAuthenticationError,
    TwilioNotFoundError,
    TwilioPermanentError,
)
from controller.telemetry.histogram import REQUEST_BUCKETS, Histogram, Snapshot

#: Outcomes of one attempt, the label values of the latency histogram.
OK = "ok"
THROTTLED = "throttled"
OUTCOMES = (OK, THROTTLED, "authentication", "not_found", "permanent", "transient", "exception")


def outcome_of(failure: Failure | None) -> str:
    """The outcome keyword of a failed attempt (None: not a Twilio failure, i.e. a bug)."""
    if failure is None:
        return "exception"
    error = failure.error
    if error.status == 429 or error.code == CODE_TOO_MANY_REQUESTS:
        return THROTTLED
    if isinstance(error, TwilioAuthenticationError):
        return "authentication"
    if isinstance(error, TwilioNotFoundError):
        return "not_found"
    if isinstance(error, TwilioPermanentError):
        return "permanent"
    return "transient"


class CallCounter:
    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._failures: Counter[tuple[str, str]] = Counter()
        self._retries: Counter[str] = Counter()
        self._durations: Histogram[tuple[str, str]] = Histogram(REQUEST_BUCKETS)

    def record_call(self, operation: str) -> None:
        self._calls[operation] += 1

    def record_failure(self, operation: str, error_class: str) -> None:
        self._failures[(operation, error_class)] += 1

    def record_attempt(self, operation: str, outcome: str, seconds: float) -> None:
        """One HTTP attempt's answer (or failure) and how long it took."""
        self._durations.observe((operation, outcome), seconds)

    def record_retry(self, operation: str) -> None:
        """The Retrier is about to repeat `operation` (the Retrier's `on_retry`)."""
        self._retries[operation] += 1

    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    def failures(self) -> dict[tuple[str, str], int]:
        return dict(self._failures)

    def retries(self) -> dict[str, int]:
        return dict(self._retries)

    def durations(self) -> dict[tuple[str, str], Snapshot]:
        """(operation, outcome) -> histogram of attempt durations in seconds."""
        return self._durations.snapshot()

    def throttled(self) -> dict[str, int]:
        """Attempts Twilio answered 429 (too many requests), by operation."""
        return {
            operation: snapshot.count
            for (operation, outcome), snapshot in self.durations().items()
            if outcome == THROTTLED
        }
