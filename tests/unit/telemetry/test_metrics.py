"""The Prometheus metrics: what OperatorMetrics reports as prometheus_client exposes it (read back
by the library's parser, with the strictness checks of tests/metrics_scrape.py), the /metrics
application, and the handlers' bookkeeping of completed renewals and phases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import kopf
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from controller.adapters.cluster import ClusterClient
from controller.adapters.twilio_gateway.metrics import CallCounter
from controller.adapters.twilio_gateway.slots import SlotCounts
from controller.core.models import BundleRenewalStatus, Phase, RenewalRecord, ReviewStatus
from controller.core.parsing import read_object
from controller.core.plan import ErrorKind
from controller.core.settings import OperatorSettings
from controller.inbound.http_server import metrics_application
from controller.operator.runtime import Runtime
from controller.operator.status_sink import KopfSink
from controller.telemetry.histogram import Histogram, Snapshot
from controller.telemetry.loop_lag import LAG_BUCKETS
from controller.telemetry.metrics import CONTENT_TYPE, RECONCILE_OUTCOMES, OperatorMetrics
from tests.metrics_scrape import scrape, total, value

label_values = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)

FAMILIES = {
    "bundle_renewal_reconciles_total": "counter",
    "bundle_renewal_renewals_completed_total": "counter",
    "bundle_renewal_resources": "gauge",
    "bundle_renewal_valid_until_timestamp_seconds": "gauge",
    "bundle_renewal_last_completed_timestamp_seconds": "gauge",
    "bundle_renewal_ready_status": "gauge",
    "bundle_renewal_phase": "gauge",
    "bundle_renewal_in_review_seconds": "gauge",
    "bundle_renewal_failed_attempts": "gauge",
    "bundle_renewal_review_polls_total": "counter",
    "bundle_renewal_renewal_duration_seconds": "histogram",
    "bundle_renewal_review_duration_seconds": "histogram",
    "bundle_renewal_account_bundles_with_deadline": "gauge",
    "bundle_renewal_account_covered_bundles": "gauge",
    "bundle_renewal_account_uncovered_bundles": "gauge",
    "bundle_renewal_account_next_uncovered_deadline_timestamp_seconds": "gauge",
    "bundle_renewal_account_last_scan_timestamp_seconds": "gauge",
    "bundle_renewal_webhook_enabled": "gauge",
    "bundle_renewal_webhook_callbacks_total": "counter",
    "bundle_renewal_twilio_requests_total": "counter",
    "bundle_renewal_twilio_request_failures_total": "counter",
    "bundle_renewal_twilio_request_duration_seconds": "histogram",
    "bundle_renewal_twilio_retries_total": "counter",
    "bundle_renewal_twilio_throttled_total": "counter",
    "bundle_renewal_twilio_concurrency_limit": "gauge",
    "bundle_renewal_twilio_requests_in_flight": "gauge",
    "bundle_renewal_twilio_requests_waiting": "gauge",
    "bundle_renewal_event_loop_lag_seconds": "histogram",
}


class FixedCounts:
    """A stand-in for the gateway's CallCounter with given counts."""

    def __init__(
        self, calls: dict[str, int], failures: dict[tuple[str, str], int] | None = None
    ) -> None:
        self._calls = calls
        self._failures = failures or {}

    def calls(self) -> dict[str, int]:
        return self._calls

    def failures(self) -> dict[tuple[str, str], int]:
        return self._failures

    def retries(self) -> dict[str, int]:
        return {}

    def throttled(self) -> dict[str, int]:
        return {}

    def durations(self) -> dict[tuple[str, str], Snapshot]:
        return {}


@given(values=st.lists(label_values, min_size=1, max_size=5, unique=True))
def test_any_label_value_round_trips_through_the_escaping(values: list[str]) -> None:
    metrics = OperatorMetrics(
        FixedCounts(
            {value: i for i, value in enumerate(values)},
            {(value, value): i for i, value in enumerate(values)},
        )
    )
    for i, label in enumerate(values):
        for n in range(i + 1):
            complete(metrics, label, at=T0 + timedelta(days=n))
        metrics.record_callback(400 + i, label, label, label)

    families = scrape(metrics.render())
    for i, label in enumerate(values):
        assert value(families["bundle_renewal_renewals_completed_total"], namespace=label) == i + 1
        callbacks = families["bundle_renewal_webhook_callbacks_total"]
        assert value(callbacks, code=str(400 + i), reason=label, method=label, encoding=label) == 1
        assert value(families["bundle_renewal_twilio_requests_total"], operation=label) == i
        failures = families["bundle_renewal_twilio_request_failures_total"]
        assert value(failures, operation=label, error=label) == i


T0 = datetime(2026, 3, 1, tzinfo=UTC)


def complete(
    metrics: OperatorMetrics, namespace: str, *, uid: str = "uid-c", at: datetime = T0
) -> None:
    """A renewal of `uid` in `namespace` completes at `at` (a new status.completedAt)."""
    previous = BundleRenewalStatus(phase=Phase.IN_PROGRESS)
    done = BundleRenewalStatus(phase=Phase.COMPLETED, completed_at=at)
    metrics.status_written(uid, namespace, "acme", previous, done)


def test_special_characters_are_escaped_on_one_line() -> None:
    metrics = OperatorMetrics()
    complete(metrics, 'q"\\\n')
    lines = metrics.render().decode().split("\n")
    assert 'bundle_renewal_renewals_completed_total{namespace="q\\"\\\\\\n"} 1.0' in lines


def test_every_help_text_round_trips() -> None:
    metrics = OperatorMetrics()
    declared = {family.name: family.documentation for family in metrics.collect()}
    parsed = {family.name: family.documentation for family in scrape(metrics.render()).values()}
    assert parsed == declared
    assert all(declared.values())


@pytest.mark.parametrize("count", [0, 3, 2**53, 10**20])
def test_counts_keep_their_value(count: int) -> None:
    exposition = OperatorMetrics(FixedCounts({"fetch_bundle": count})).render()
    requests = scrape(exposition)["bundle_renewal_twilio_requests_total"]
    assert value(requests, operation="fetch_bundle") == count


@pytest.mark.parametrize(
    "bad",
    [
        "x 1\n",  # no HELP/TYPE
        "# HELP x_total h\n# TYPE x_total counter\nx_total 1",  # no final newline
        '# HELP x h\n# TYPE x gauge\nx{l="a} 1\n',  # unterminated
        '# HELP x h\n# TYPE x gauge\nx{l="\\t"} 1\n',  # bad escape
        "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",  # repeated series
        "# HELP x h\n# TYPE x thing\n",  # unknown type
        "# HELP x h\n# HELP x i\n# TYPE x gauge\nx 1\n",  # second HELP
        "# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\nx 2\n",  # split family
    ],
)
def test_scrape_refuses_what_the_format_forbids(bad: str) -> None:
    # ExpositionError for what the library's parser lets through, its ValueError for the rest.
    with pytest.raises(ValueError):  # noqa: PT011
        scrape(bad)


def test_an_idle_operator_reports_every_family_with_zeroes() -> None:
    families = scrape(OperatorMetrics().render())
    assert {name: family.type for name, family in families.items()} == FAMILIES
    for family in families.values():
        assert family.documentation
        assert all(sample.value == 0 for sample in family.samples)
    reconciles = families["bundle_renewal_reconciles_total"]
    assert {s.labels["outcome"] for s in reconciles.samples} == set(RECONCILE_OUTCOMES)
    assert {kind.value for kind in ErrorKind} < set(RECONCILE_OUTCOMES)
    phases = families["bundle_renewal_resources"]
    assert {s.labels["phase"] for s in phases.samples} == {p.value for p in Phase}


def test_each_instance_has_its_own_registry() -> None:
    first, second = OperatorMetrics(), OperatorMetrics()
    first.record_reconcile("ok")
    assert first.registry is not second.registry
    assert value(scrape(second.render())["bundle_renewal_reconciles_total"], outcome="ok") == 0
    assert value(scrape(first.render())["bundle_renewal_reconciles_total"], outcome="ok") == 1


def test_recorded_events_show_up_with_their_labels() -> None:
    metrics = OperatorMetrics()
    for outcome in ("ok", "ok", "transient", "invalid_spec"):
        metrics.record_reconcile(outcome)
    complete(metrics, "telecom")
    complete(metrics, "telecom", at=T0 + timedelta(days=1))
    complete(metrics, "billing", uid="uid-b")
    metrics.record_callback(204, "woken", "GET", "query")
    metrics.record_callback(403, "not_verified", "POST", "json")
    metrics.record_callback(204, "woken", "POST", "form")
    metrics.record_callback(204, "woken", "GET", "query")
    metrics.forget("uid-b")  # the completed ones count on; their resources are gone
    metrics.forget("uid-c")
    for uid, phase in (
        ("uid-1", Phase.IN_REVIEW),
        ("uid-2", Phase.IN_REVIEW),
        ("uid-3", None),
        ("uid-2", Phase.COMPLETED),  # the same resource moves on
        ("uid-4", Phase.FAILED),
    ):
        metrics.reconciling(uid, "telecom", uid, BundleRenewalStatus(phase=phase))
    metrics.forget("uid-4")

    families = scrape(metrics.render())
    reconciles = families["bundle_renewal_reconciles_total"]
    assert value(reconciles, outcome="ok") == 2
    assert value(reconciles, outcome="transient") == 1
    assert value(reconciles, outcome="invalid_spec") == 1
    assert value(reconciles, outcome="permanent") == 0
    completed = families["bundle_renewal_renewals_completed_total"]
    assert value(completed, namespace="telecom") == 2
    assert value(completed, namespace="billing") == 1
    callbacks = families["bundle_renewal_webhook_callbacks_total"]
    assert value(callbacks, code="204", reason="woken", method="GET", encoding="query") == 2
    assert value(callbacks, code="204", reason="woken", method="POST", encoding="form") == 1
    assert value(callbacks, code="403", reason="not_verified", method="POST", encoding="json") == 1
    assert value(families["bundle_renewal_webhook_enabled"]) == 0
    phases = families["bundle_renewal_resources"]
    assert value(phases, phase="InReview") == 1
    assert value(phases, phase="Completed") == 1
    assert value(phases, phase="Pending") == 1  # no status yet
    assert value(phases, phase="Failed") == 0  # forgotten


def test_twilio_requests_are_the_gateway_counters_read_not_counted_again() -> None:
    counter = CallCounter()
    for operation in ("fetch_bundle", "fetch_bundle", "fetch_bundle", "create_bundle_copy"):
        counter.record_call(operation)
    counter.record_failure("fetch_bundle", "TwilioTransientError")
    metrics = OperatorMetrics(counter)

    for _ in range(2):  # rendering twice changes nothing
        families = scrape(metrics.render())
        requests = families["bundle_renewal_twilio_requests_total"]
        assert value(requests, operation="fetch_bundle") == 3
        assert value(requests, operation="create_bundle_copy") == 1
        failures = families["bundle_renewal_twilio_request_failures_total"]
        assert value(failures, operation="fetch_bundle", error="TwilioTransientError") == 1
        assert len(failures.samples) == 1
    counter.record_call("create_bundle_copy")
    requests = scrape(metrics.render())["bundle_renewal_twilio_requests_total"]
    assert value(requests, operation="create_bundle_copy") == 2


def test_saturation_is_the_gateway_slots_and_the_loop_lag_as_they_are_now() -> None:
    """The slot gauges read the factory's counts at each scrape; the lag is the probe's
    histogram."""
    metrics = OperatorMetrics()
    counts = [SlotCounts(limit=60, in_flight=60, waiting=140)]
    metrics.slots = lambda: counts[0]
    lag: Histogram[tuple[()]] = Histogram(LAG_BUCKETS)
    for seconds in (0.0004, 0.03, 0.04, 0.3):
        lag.observe((), seconds)
    metrics.loop_lag = lambda: lag.snapshot()

    families = scrape(metrics.render())
    assert value(families["bundle_renewal_twilio_concurrency_limit"]) == 60
    assert value(families["bundle_renewal_twilio_requests_in_flight"]) == 60
    assert value(families["bundle_renewal_twilio_requests_waiting"]) == 140
    lag_family = families["bundle_renewal_event_loop_lag_seconds"]
    buckets = {s.labels["le"]: s.value for s in lag_family.samples if s.name.endswith("_bucket")}
    assert (buckets["0.001"], buckets["0.025"], buckets["0.05"], buckets["+Inf"]) == (1, 1, 3, 4)
    (lag_sum,) = (s.value for s in lag_family.samples if s.name.endswith("_sum"))
    assert lag_sum == pytest.approx(0.3704)

    counts[0] = SlotCounts(limit=64, in_flight=3, waiting=0)
    families = scrape(metrics.render())
    assert value(families["bundle_renewal_twilio_requests_waiting"]) == 0
    assert value(families["bundle_renewal_twilio_concurrency_limit"]) == 64


def test_the_gateway_counter_may_be_attached_after_creation() -> None:
    metrics = OperatorMetrics()  # handlers.py sets .twilio at startup
    metrics.twilio = FixedCounts({"fetch_bundle": 1})
    requests = scrape(metrics.render())["bundle_renewal_twilio_requests_total"]
    assert value(requests, operation="fetch_bundle") == 1


async def test_the_application_serves_get_metrics_only() -> None:
    metrics = OperatorMetrics(CallCounter())
    metrics.record_reconcile("ok")
    async with TestClient(TestServer(metrics_application(metrics))) as client:
        async with client.get("/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == CONTENT_TYPE
            assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
            families = scrape(await response.read())
        assert value(families["bundle_renewal_reconciles_total"], outcome="ok") == 1
        async with client.post("/metrics") as response:
            assert response.status == 405
        async with client.get("/") as response:
            assert response.status == 404


class Cluster:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.patches.append(patch)


def body(status: str | dict[str, Any] | None = None) -> kopf.Body:
    """The object, its stored status a phase or a whole status."""
    stored = {"phase": status} if isinstance(status, str) else status
    return kopf.Body(
        {
            "metadata": {"uid": "uid-1", "namespace": "telecom", "name": "acme"},
            "spec": {"bundleSid": "BU" + "a" * 32, "credentialsSecretRef": {"name": "twilio"}},
            "status": stored or {},
        }
    )


def runtime() -> Runtime:
    return Runtime(OperatorSettings(), cluster=cast(ClusterClient, Cluster()))


def phase_values(metrics: OperatorMetrics) -> dict[str, float]:
    phases = scrape(metrics.render())["bundle_renewal_resources"]
    return {s.labels["phase"]: s.value for s in phases.samples if s.value}


def completions(metrics: OperatorMetrics) -> float:
    return total(scrape(metrics.render())["bundle_renewal_renewals_completed_total"])


async def test_the_sink_counts_a_renewal_once_when_it_sets_a_new_completed_at() -> None:
    state = runtime()
    sink = KopfSink(state, body("InReview"), read_object(body("InReview")))
    done = BundleRenewalStatus(phase=Phase.COMPLETED, completed_at=T0)
    for status in (
        BundleRenewalStatus(phase=Phase.IN_REVIEW),
        BundleRenewalStatus(phase=Phase.IN_PROGRESS),
        done,
        done,  # written again: the same renewal
    ):
        await sink.write_status(status)
        assert phase_values(state.metrics) == {str(status.phase): 1}
    assert completions(state.metrics) == 1
    completed = scrape(state.metrics.render())["bundle_renewal_renewals_completed_total"]
    assert value(completed, namespace="telecom")
    await sink.write_status(BundleRenewalStatus(phase=Phase.IN_PROGRESS, completed_at=T0))
    await sink.write_status(done.model_copy(update={"completed_at": T0 + timedelta(days=30)}))
    assert completions(state.metrics) == 2
    state.forget("uid-1")
    assert phase_values(state.metrics) == {}


async def test_up_to_date_is_not_a_completed_renewal() -> None:
    state = runtime()
    sink = KopfSink(state, body(), read_object(body()))
    await sink.write_status(BundleRenewalStatus(phase=Phase.COMPLETED))  # nothing was due
    assert completions(state.metrics) == 0
    assert phase_values(state.metrics) == {"Completed": 1}


async def test_a_status_already_completed_before_a_restart_is_not_counted_again() -> None:
    state = runtime()  # a new process: nothing in memory, the stored status is Completed
    stored = {"phase": "Completed", "completedAt": T0.isoformat()}
    sink = KopfSink(state, body(stored), read_object(body(stored)))
    await sink.write_status(BundleRenewalStatus(phase=Phase.COMPLETED, completed_at=T0))
    assert completions(state.metrics) == 0
    obj = read_object(body(stored))
    state.track(obj.owner, obj.bundle_sid, obj.status)
    assert phase_values(state.metrics) == {"Completed": 1}


async def test_the_next_reconcile_starts_from_the_written_status_kept_as_json() -> None:
    """What the sink wrote comes back whole (the next reconcile reads it over Kopf's possibly
    older body), but neither the runtime nor the metrics keep the status model itself."""
    state = runtime()
    sink = KopfSink(state, body("InReview"), read_object(body("InReview")))
    written = BundleRenewalStatus(
        phase=Phase.IN_REVIEW,
        copy_sid="BU" + "c" * 32,
        review=ReviewStatus(submitted_at=T0, status="in-review"),
        history=[RenewalRecord(started_at=T0 - timedelta(minutes=3), submitted_at=T0)],
    )
    await sink.write_status(written)

    assert state.last_written("uid-1") == written
    assert read_object(body("Pending"), state.last_written("uid-1")).status == written
    assert isinstance(state.written["uid-1"], str)
    kept = [
        item
        for value in vars(state).values()
        for item in (value.values() if isinstance(value, dict) else [value])
    ]
    assert not any(isinstance(item, BundleRenewalStatus) for item in kept), kept
    (tracked,) = state.metrics.resources.resources()
    assert tracked.figures.phase is Phase.IN_REVIEW
    assert tracked.figures.submitted_at == T0.timestamp()
    assert state.last_written("uid-other") is None


def test_the_enabled_webhook_exposes_every_shape_s_watched_answers_from_zero() -> None:
    """The callback alert compares increases; a series born at 1 would hide its first count."""
    metrics = OperatorMetrics()
    metrics.enable_webhook()
    metrics.record_callback(204, "woken", "GET", "query")
    families = scrape(metrics.render())
    assert value(families["bundle_renewal_webhook_enabled"]) == 1
    callbacks = families["bundle_renewal_webhook_callbacks_total"]
    for method, encoding in (
        ("GET", "query"),
        ("POST", "query"),
        ("POST", "form"),
        ("POST", "json"),
    ):
        assert (
            value(callbacks, code="403", reason="not_verified", method=method, encoding=encoding)
            == 0
        )
        assert value(callbacks, code="204", reason="noted", method=method, encoding=encoding) == 0
    assert value(callbacks, code="204", reason="woken", method="GET", encoding="query") == 1
    assert value(callbacks, code="204", reason="woken", method="POST", encoding="json") == 0
