"""The operator's Prometheus metrics: what is counted, and how prometheus_client exposes it.

The operator process keeps one `OperatorMetrics`; the Kopf handlers record reconciles, the status
sink and the reconcile daemons feed each resource's status (resource_metrics.py: deadlines,
readiness, phase, review wait, completed renewals and their durations), the status-callback
receiver records its answers, and the Twilio gateway's own `CallCounter` (read here, never
counted twice) supplies request counts, latencies, retries and 429s; the gateway factory its
accounts' request slots (limit, in flight, waiting) and the loop-lag probe (loop_lag.py) how late
the event loop runs: the two saturation signals of a fleet. `OperatorMetrics` is a
prometheus_client custom collector: it keeps plain numbers and turns them into metric families
when collected. Each instance owns its own `CollectorRegistry` (never the library's global one),
so several instances, as in the tests, stay independent. `render()` is what `GET /metrics`
answers (http_server.py serves it on METRICS_PORT), in the text format 0.0.4 written by
`prometheus_client.exposition.generate_latest`.

Labels carry only bounded, non-sensitive values: operation and error class names, outcome and
reason keywords, HTTP codes, phases, condition statuses, and a BundleRenewal's namespace and name
(chosen by whoever applies it, visible to anyone who may list them). Never a resource's attribute
values, a SID of a bundle, end-user or document, a URL or a token.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from controller.core.models import BundleRenewalStatus
from controller.core.models.account import ComplianceAccountStatus
from controller.core.plan import ErrorKind
from controller.telemetry.account_metrics import AccountMetrics
from controller.telemetry.histogram import Snapshot
from controller.telemetry.resource_metrics import ResourceMetrics, histogram_family

#: The content type of `render()`'s text: generate_latest writes the text format 0.0.4 (the
#: library's CONTENT_TYPE_LATEST names version 1.0.0, which it pairs with UTF-8 name escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Reconcile outcomes besides the workflow's error kinds.
RECONCILE_OK = "ok"
RECONCILE_INVALID_SPEC = "invalid_spec"
RECONCILE_EXCEPTION = "exception"
RECONCILE_STATUS_WRITE_FAILED = "status_write_failed"
RECONCILE_OUTCOMES = (
    RECONCILE_OK,
    *(kind.value for kind in ErrorKind),
    RECONCILE_INVALID_SPEC,
    RECONCILE_STATUS_WRITE_FAILED,
    RECONCILE_EXCEPTION,
)


class CallCounts(Protocol):
    """What the Twilio gateway counts (twilio_gateway.metrics.CallCounter)."""

    def calls(self) -> dict[str, int]: ...

    def failures(self) -> dict[tuple[str, str], int]: ...

    def retries(self) -> dict[str, int]: ...

    def throttled(self) -> dict[str, int]: ...

    def durations(self) -> dict[tuple[str, str], Snapshot]: ...


class SlotCounts(Protocol):
    """The Twilio accounts' request slots, summed (twilio_gateway.slots.SlotCounts)."""

    @property
    def limit(self) -> int: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def waiting(self) -> int: ...


#: (method, encoding) of each callback shape the receiver accepts (callback_signature).
CALLBACK_SHAPES = (("GET", "query"), ("POST", "query"), ("POST", "form"), ("POST", "json"))
#: The answers BundleRenewalCallbacksNotVerified compares (devtools/alert_rules.py).
CALLBACK_ANSWERS_WATCHED = ((204, "woken"), (204, "noted"), (403, "not_verified"))


class OperatorMetrics(Collector):
    """Everything /metrics reports, for one operator process."""

    def __init__(
        self, twilio: CallCounts | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.twilio = twilio
        #: The gateway factory's `slot_counts` and the loop-lag probe's `snapshot`, once started.
        self.slots: Callable[[], SlotCounts] | None = None
        self.loop_lag: Callable[[], Mapping[tuple[()], Snapshot]] | None = None
        self.resources = ResourceMetrics(clock)
        self.accounts = AccountMetrics()
        self._reconciles: Counter[str] = Counter({outcome: 0 for outcome in RECONCILE_OUTCOMES})
        self._callbacks: Counter[tuple[int, str, str, str]] = Counter()
        self.webhook_enabled = False
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def record_reconcile(self, outcome: str) -> None:
        self._reconciles[outcome] += 1

    def record_callback(self, code: int, reason: str, method: str, encoding: str) -> None:
        self._callbacks[(code, reason, method, encoding)] += 1

    def enable_webhook(self) -> None:
        """The receiver serves: say so, and expose at 0 the answers the callback alert compares
        for every shape Twilio may send, so that the first of each counts in `increase()` (a
        counter whose series appears at 1 shows no increase)."""
        self.webhook_enabled = True
        for code, reason in CALLBACK_ANSWERS_WATCHED:
            for method, encoding in CALLBACK_SHAPES:
                self._callbacks[(code, reason, method, encoding)] += 0

    def reconciling(self, uid: str, namespace: str, name: str, status: BundleRenewalStatus) -> None:
        """A reconcile of the resource starts from `status` (the daemon, via runtime.track)."""
        self.resources.reconciling(uid, namespace, name, status)

    def status_written(
        self,
        uid: str,
        namespace: str,
        name: str,
        previous: BundleRenewalStatus,
        status: BundleRenewalStatus,
    ) -> None:
        """The API server accepted `status` over `previous` (the status sink)."""
        self.resources.written(uid, namespace, name, previous, status)

    def forget(self, uid: str) -> None:
        """The resource is gone (or no longer watched): its series go."""
        self.resources.forget(uid)
        self.accounts.forget(uid)

    def account_scanned(
        self, uid: str, namespace: str, name: str, status: ComplianceAccountStatus
    ) -> None:
        """A ComplianceAccount's scan wrote `status` (its daemon)."""
        self.accounts.scanned(uid, namespace, name, status)

    def collect(self) -> Iterator[Metric]:
        """The metric families, from the numbers as they are now (prometheus_client's
        Collector; a counter's `_total` suffix stays on its samples)."""
        reconciles = CounterMetricFamily(
            "bundle_renewal_reconciles_total",
            "Reconciles of BundleRenewals by outcome: ok, a workflow error kind"
            " (transient, permanent, not_found, authentication, credentials, value_secret,"
            " write_budget), invalid_spec,"
            " or exception (the daemon restarts).",
            labels=["outcome"],
        )
        for outcome, n in sorted(self._reconciles.items()):
            reconciles.add_metric([outcome], n)
        yield reconciles

        yield from self.resources.collect()
        yield from self.accounts.collect()

        yield GaugeMetricFamily(
            "bundle_renewal_webhook_enabled",
            "1 when the status-callback receiver serves (WEBHOOK_PUBLIC_URL is set), else 0.",
            value=1 if self.webhook_enabled else 0,
        )
        callbacks = CounterMetricFamily(
            "bundle_renewal_webhook_callbacks_total",
            "Twilio status callbacks received, by HTTP answer code, reason, method (GET, POST,"
            " other) and shape (query, form, json; unknown when refused before it was known).",
            labels=["code", "reason", "method", "encoding"],
        )
        for (code, reason, method, encoding), n in sorted(self._callbacks.items()):
            callbacks.add_metric([str(code), reason, method, encoding], n)
        yield callbacks

        yield from self._twilio()
        yield from self._saturation()

    def _saturation(self) -> Iterator[Metric]:
        slots = self.slots() if self.slots is not None else None
        for name, documentation, value in (
            (
                "bundle_renewal_twilio_concurrency_limit",
                "Requests the adaptive limit lets be in flight to Twilio now (summed over"
                " accounts).",
                slots.limit if slots is not None else 0,
            ),
            (
                "bundle_renewal_twilio_requests_in_flight",
                "Requests to Twilio in flight now (summed over accounts).",
                slots.in_flight if slots is not None else 0,
            ),
            (
                "bundle_renewal_twilio_requests_waiting",
                "Requests waiting for a slot under the adaptive limit now (summed over"
                " accounts): a queue that stays long means Twilio's limit or the operator's CPU"
                " sets the pace.",
                slots.waiting if slots is not None else 0,
            ),
        ):
            yield GaugeMetricFamily(name, documentation, value=value)
        yield histogram_family(
            "bundle_renewal_event_loop_lag_seconds",
            "How much later than asked the operator's event loop woke a probe sleeping 0.25 s:"
            " lag that stays high asks for more CPU, or for sharding the fleet.",
            [],
            self.loop_lag() if self.loop_lag is not None else {},
        )

    def _twilio(self) -> Iterator[Metric]:
        twilio = self.twilio
        calls = twilio.calls() if twilio is not None else {}
        failures = twilio.failures() if twilio is not None else {}
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

        yield histogram_family(
            "bundle_renewal_twilio_request_duration_seconds",
            "How long each HTTP attempt to Twilio took (every page of a list, every retry), by"
            " gateway operation and outcome (ok, throttled, authentication, not_found,"
            " permanent, transient, exception).",
            ["operation", "outcome"],
            twilio.durations() if twilio is not None else {},
        )
        for name, documentation, counts in (
            (
                "bundle_renewal_twilio_retries_total",
                "Retries of Twilio requests the gateway scheduled, by operation.",
                twilio.retries() if twilio is not None else {},
            ),
            (
                "bundle_renewal_twilio_throttled_total",
                "Twilio requests answered 429 Too Many Requests (rate limited), by operation.",
                twilio.throttled() if twilio is not None else {},
            ),
        ):
            family = CounterMetricFamily(name, documentation, labels=["operation"])
            for operation, n in sorted(counts.items()):
                family.add_metric([operation], n)
            yield family

    def render(self) -> bytes:
        """The exposition of this process's metrics (text format 0.0.4, UTF-8; CONTENT_TYPE)."""
        return generate_latest(self.registry)
