"""The operator's Prometheus metrics: what is counted, and how prometheus_client exposes it.

The operator process keeps one `OperatorMetrics`; the Kopf handlers record reconciles, completed
renewals and each resource's last known phase, the status-callback receiver records its answers,
and the Twilio gateway's own `CallCounter` (read here, never counted twice) supplies the request
counts. `OperatorMetrics` is a prometheus_client custom collector: it keeps plain counters and
turns them into metric families when collected. Each instance owns its own `CollectorRegistry`
(never the library's global one), so several instances, as in the tests, stay independent.
`render()` is what `GET /metrics` answers (http_server.py serves it on METRICS_PORT), in the text
format 0.0.4 written by `prometheus_client.exposition.generate_latest`.

Labels carry only bounded, non-sensitive values: operation and error class names, outcome and
reason keywords, HTTP codes, phases, and namespaces. Never a resource's attribute values, a SID of
an end-user or document, a URL or a token.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Protocol

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from controller.models import Phase
from controller.plan import ErrorKind

#: The content type of `render()`'s text: generate_latest writes the text format 0.0.4 (the
#: library's CONTENT_TYPE_LATEST names version 1.0.0, which it pairs with UTF-8 name escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Reconcile outcomes besides the workflow's error kinds.
RECONCILE_OK = "ok"
RECONCILE_INVALID_SPEC = "invalid_spec"
RECONCILE_EXCEPTION = "exception"
RECONCILE_OUTCOMES = (
    RECONCILE_OK,
    *(kind.value for kind in ErrorKind),
    RECONCILE_INVALID_SPEC,
    RECONCILE_EXCEPTION,
)
#: A resource the operator has not written a status for yet counts under this phase.
PHASE_WITHOUT_STATUS = Phase.PENDING


class CallCounts(Protocol):
    """What the Twilio gateway counts (twilio_gateway.metrics.CallCounter)."""

    def calls(self) -> dict[str, int]: ...

    def failures(self) -> dict[tuple[str, str], int]: ...


class OperatorMetrics(Collector):
    """Everything /metrics reports, for one operator process."""

    def __init__(self, twilio: CallCounts | None = None) -> None:
        self.twilio = twilio
        self._reconciles: Counter[str] = Counter({outcome: 0 for outcome in RECONCILE_OUTCOMES})
        self._completed: Counter[str] = Counter()
        self._callbacks: Counter[tuple[int, str]] = Counter()
        self._phases: dict[str, Phase] = {}
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def record_reconcile(self, outcome: str) -> None:
        self._reconciles[outcome] += 1

    def record_completion(self, namespace: str) -> None:
        self._completed[namespace] += 1

    def record_callback(self, code: int, reason: str) -> None:
        self._callbacks[(code, reason)] += 1

    def set_phase(self, uid: str, phase: Phase | None) -> None:
        self._phases[uid] = phase or PHASE_WITHOUT_STATUS

    def forget(self, uid: str) -> None:
        self._phases.pop(uid, None)

    def collect(self) -> Iterator[Metric]:
        """The metric families, from the counters as they are now (prometheus_client's
        Collector; a counter's `_total` suffix stays on its samples)."""
        reconciles = CounterMetricFamily(
            "bundle_renewal_reconciles_total",
            "Reconciles of BundleRenewals by outcome: ok, a workflow error kind"
            " (transient, permanent, not_found, authentication, credentials), invalid_spec,"
            " or exception (the daemon restarts).",
            labels=["outcome"],
        )
        for outcome, n in sorted(self._reconciles.items()):
            reconciles.add_metric([outcome], n)
        yield reconciles

        completed = CounterMetricFamily(
            "bundle_renewal_renewals_completed_total",
            "Renewals this process took to the Completed phase, by namespace.",
            labels=["namespace"],
        )
        for namespace, n in sorted(self._completed.items()):
            completed.add_metric([namespace], n)
        yield completed

        resources = GaugeMetricFamily(
            "bundle_renewal_resources",
            "BundleRenewals watched by this process, by their last known phase.",
            labels=["phase"],
        )
        phases = Counter(self._phases.values())
        for phase in Phase:
            resources.add_metric([phase.value], phases[phase])
        yield resources

        callbacks = CounterMetricFamily(
            "bundle_renewal_webhook_callbacks_total",
            "Twilio status callbacks received, by HTTP answer code and reason.",
            labels=["code", "reason"],
        )
        for (code, reason), n in sorted(self._callbacks.items()):
            callbacks.add_metric([str(code), reason], n)
        yield callbacks

        calls = self.twilio.calls() if self.twilio is not None else {}
        failures = self.twilio.failures() if self.twilio is not None else {}
        requests = CounterMetricFamily(
            "bundle_renewal_twilio_requests_total",
            "HTTP requests sent to Twilio, by gateway operation (each retry counts; a"
            " paginated list counts once).",
            labels=["operation"],
        )
        for operation, n in sorted(calls.items()):
            requests.add_metric([operation], n)
        yield requests

        request_failures = CounterMetricFamily(
            "bundle_renewal_twilio_request_failures_total",
            "Twilio requests that failed, by gateway operation and error class.",
            labels=["operation", "error"],
        )
        for (operation, error), n in sorted(failures.items()):
            request_failures.add_metric([operation, error], n)
        yield request_failures

    def render(self) -> bytes:
        """The exposition of this process's metrics (text format 0.0.4, UTF-8; CONTENT_TYPE)."""
        return generate_latest(self.registry)
