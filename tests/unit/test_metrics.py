"""The Prometheus metrics: the text rendering (read back by an independent strict parser), what
OperatorMetrics reports, the /metrics application, and the handlers' bookkeeping of completed
renewals and phases."""

from __future__ import annotations

import math
from typing import Any, cast

import kopf
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from controller.cluster import ClusterClient
from controller.handlers import KopfSink, Runtime
from controller.http_server import metrics_application
from controller.metrics import (
    CONTENT_TYPE,
    RECONCILE_OUTCOMES,
    MetricFamily,
    MetricType,
    OperatorMetrics,
    Sample,
    format_value,
    render,
)
from controller.models import BundleRenewalStatus, Phase
from controller.plan import ErrorKind
from controller.settings import OperatorSettings
from controller.twilio_gateway.metrics import CallCounter
from tests.prometheus_text import FormatError, parse

label_values = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(values=st.lists(label_values, min_size=1, max_size=5, unique=True), help_text=label_values)
def test_any_label_value_and_help_text_round_trips_through_the_escaping(
    values: list[str], help_text: str
) -> None:
    family = MetricFamily(
        "demo_total",
        MetricType.COUNTER,
        help_text,
        [Sample({"key": value, "n": str(i)}, i) for i, value in enumerate(values)],
    )
    parsed = parse(render([family]))["demo_total"]
    assert parsed.type == "counter"
    assert parsed.help == help_text
    for i, value in enumerate(values):
        assert parsed.value(key=value, n=str(i)) == i


def test_special_characters_are_escaped_on_one_line() -> None:
    text = render(
        [MetricFamily("x", MetricType.GAUGE, 'a\\b\nc "d"', [Sample({"l": 'q"\\\n'}, 1)])]
    )
    assert text == '# HELP x a\\\\b\\nc "d"\n# TYPE x gauge\nx{l="q\\"\\\\\\n"} 1\n'


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (3, "3"), (2.5, "2.5"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (1e20, "1e+20")],
)
def test_values(value: float, text: str) -> None:
    assert format_value(value) == text
    assert float(text) == value
    assert format_value(math.nan) == "NaN"


def test_the_parser_refuses_what_the_format_forbids() -> None:
    for bad in (
        "x 1\n",  # no HELP/TYPE
        "# HELP x h\n# TYPE x counter\nx 1",  # no final newline
        '# HELP x h\n# TYPE x gauge\nx{l="a} 1\n',  # unterminated
        '# HELP x h\n# TYPE x gauge\nx{l="\\t"} 1\n',  # bad escape
        "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",  # repeated series
        "# HELP x h\n# TYPE x thing\n",  # unknown type
    ):
        with pytest.raises(FormatError):
            parse(bad)


def test_an_idle_operator_reports_every_family_with_zeroes() -> None:
    families = parse(OperatorMetrics().render())
    assert set(families) == {
        "bundle_renewal_reconciles_total",
        "bundle_renewal_renewals_completed_total",
        "bundle_renewal_resources",
        "bundle_renewal_webhook_callbacks_total",
        "bundle_renewal_twilio_requests_total",
        "bundle_renewal_twilio_request_failures_total",
    }
    for name, family in families.items():
        assert family.help
        assert family.type == ("gauge" if name == "bundle_renewal_resources" else "counter")
        assert all(value == 0 for value in family.samples.values())
    reconciles = families["bundle_renewal_reconciles_total"]
    assert {dict(key)["outcome"] for key in reconciles.samples} == set(RECONCILE_OUTCOMES)
    assert {kind.value for kind in ErrorKind} < set(RECONCILE_OUTCOMES)
    phases = families["bundle_renewal_resources"]
    assert {dict(key)["phase"] for key in phases.samples} == {p.value for p in Phase}


def test_recorded_events_show_up_with_their_labels() -> None:
    metrics = OperatorMetrics()
    for outcome in ("ok", "ok", "transient", "invalid_spec"):
        metrics.record_reconcile(outcome)
    metrics.record_completion("telecom")
    metrics.record_completion("telecom")
    metrics.record_completion("billing")
    metrics.record_callback(204, "woken")
    metrics.record_callback(403, "not_verified")
    metrics.record_callback(204, "woken")
    metrics.set_phase("uid-1", Phase.IN_REVIEW)
    metrics.set_phase("uid-2", Phase.IN_REVIEW)
    metrics.set_phase("uid-3", None)
    metrics.set_phase("uid-2", Phase.COMPLETED)  # the same resource moves on
    metrics.set_phase("uid-4", Phase.FAILED)
    metrics.forget("uid-4")

    families = parse(metrics.render())
    reconciles = families["bundle_renewal_reconciles_total"]
    assert reconciles.value(outcome="ok") == 2
    assert reconciles.value(outcome="transient") == 1
    assert reconciles.value(outcome="invalid_spec") == 1
    assert reconciles.value(outcome="permanent") == 0
    completed = families["bundle_renewal_renewals_completed_total"]
    assert completed.value(namespace="telecom") == 2
    assert completed.value(namespace="billing") == 1
    callbacks = families["bundle_renewal_webhook_callbacks_total"]
    assert callbacks.value(code="204", reason="woken") == 2
    assert callbacks.value(code="403", reason="not_verified") == 1
    phases = families["bundle_renewal_resources"]
    assert phases.value(phase="InReview") == 1
    assert phases.value(phase="Completed") == 1
    assert phases.value(phase="Pending") == 1  # no status yet
    assert phases.value(phase="Failed") == 0  # forgotten


def test_twilio_requests_are_the_gateway_counters_read_not_counted_again() -> None:
    counter = CallCounter()
    for operation in ("fetch_bundle", "fetch_bundle", "fetch_bundle", "create_bundle_copy"):
        counter.record_call(operation)
    counter.record_failure("fetch_bundle", "TwilioTransientError")
    metrics = OperatorMetrics(counter)

    for _ in range(2):  # rendering twice changes nothing
        families = parse(metrics.render())
        requests = families["bundle_renewal_twilio_requests_total"]
        assert requests.value(operation="fetch_bundle") == 3
        assert requests.value(operation="create_bundle_copy") == 1
        failures = families["bundle_renewal_twilio_request_failures_total"]
        assert failures.value(operation="fetch_bundle", error="TwilioTransientError") == 1
        assert len(failures.samples) == 1
    counter.record_call("create_bundle_copy")
    requests = parse(metrics.render())["bundle_renewal_twilio_requests_total"]
    assert requests.value(operation="create_bundle_copy") == 2


async def test_the_application_serves_get_metrics_only() -> None:
    metrics = OperatorMetrics(CallCounter())
    metrics.record_reconcile("ok")
    async with TestClient(TestServer(metrics_application(metrics))) as client:
        async with client.get("/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == CONTENT_TYPE
            families = parse(await response.text())
        assert families["bundle_renewal_reconciles_total"].value(outcome="ok") == 1
        async with client.post("/metrics") as response:
            assert response.status == 405
        async with client.get("/") as response:
            assert response.status == 404


class Cluster:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.patches.append(patch)


def body(phase: str | None = None) -> kopf.Body:
    return kopf.Body(
        {
            "metadata": {"uid": "uid-1", "namespace": "telecom", "name": "acme"},
            "spec": {"bundleSid": "BU" + "a" * 32, "credentialsSecretRef": {"name": "twilio"}},
            "status": {"phase": phase} if phase else {},
        }
    )


def runtime() -> Runtime:
    return Runtime(OperatorSettings(), cluster=cast(ClusterClient, Cluster()))


def phase_values(metrics: OperatorMetrics) -> dict[str, float]:
    phases = parse(metrics.render())["bundle_renewal_resources"]
    return {dict(key)["phase"]: v for key, v in phases.samples.items() if v}


def completions(metrics: OperatorMetrics) -> float:
    return parse(metrics.render())["bundle_renewal_renewals_completed_total"].total()


async def test_the_sink_counts_a_renewal_once_when_its_status_reaches_completed() -> None:
    state = runtime()
    sink = KopfSink(state, body("InReview"))
    for phase in (Phase.IN_REVIEW, Phase.IN_PROGRESS, Phase.COMPLETED, Phase.COMPLETED):
        await sink.write_status(BundleRenewalStatus(phase=phase))
        assert phase_values(state.metrics) == {phase.value: 1}
    assert completions(state.metrics) == 1
    assert parse(state.metrics.render())["bundle_renewal_renewals_completed_total"].value(
        namespace="telecom"
    )
    await sink.write_status(BundleRenewalStatus(phase=Phase.IN_PROGRESS))  # a new renewal
    await sink.write_status(BundleRenewalStatus(phase=Phase.COMPLETED))
    assert completions(state.metrics) == 2
    state.forget("uid-1")
    assert phase_values(state.metrics) == {}


async def test_a_status_already_completed_before_a_restart_is_not_counted_again() -> None:
    state = runtime()  # a new process: nothing in memory, the stored status is Completed
    sink = KopfSink(state, body("Completed"))
    await sink.write_status(BundleRenewalStatus(phase=Phase.COMPLETED))
    assert completions(state.metrics) == 0
    state.track(body("Completed"), BundleRenewalStatus(phase=Phase.COMPLETED))
    assert phase_values(state.metrics) == {"Completed": 1}
