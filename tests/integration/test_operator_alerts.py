"""The alert rules on a real Prometheus server scraping a running operator (real API server,
simulator, `python -m controller`).

A regulation change gives two bundles a deadline five days away; one BundleRenewal renews its
bundle, the other is left in NeedsInput (the spec lacks a field the regulation now requires).
Prometheus, started on loopback with a 1-second scrape and evaluation interval and the project's
rules with their `for:` shortened to seconds, must show: the deadline series as the status has
it, gone with the renewal; the NeedsInput and deadline-approaching alerts first pending, then
firing; no alert left for the renewed resource. Then the same change again with a deadline
already passed: the simulator expires the stuck bundle, and the passed-deadline alert takes
over from the approaching one (an expired deadline is never dropped). `promtool check metrics`
lints the live exposition; once the operator stops, the operator-absent alert fires.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools import alert_rules
from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.prometheus_server import PrometheusServer
from tests.integration.scenario import missing_field_spec, renewal_spec
from tests.measurements import report
from tests.monitoring.promtool import promtool
from tests.sim_fixtures import Sim

#: The rules' `for:` in this test: long enough to see the pending state, short enough to wait.
SHORT_FOR = "3s"


def short_rules() -> dict[str, Any]:
    """The project's rules file, with every `for:` shortened (the expressions untouched)."""
    rules = copy.deepcopy(yaml.safe_load(alert_rules.RULES_FILE.read_text()))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = SHORT_FOR
    return dict(rules)


@pytest.fixture
def alerting_operator(operator_factory: OperatorFactory) -> OperatorProcess:
    """The operator, re-reading resting resources every 2 s (the expiry shows quickly)."""
    process = operator_factory(LIGHT_CHECK_INTERVAL_SECONDS="2")
    process.start()
    return process


@pytest.fixture
def prometheus(tmp_path: Path, alerting_operator: OperatorProcess) -> Iterator[PrometheusServer]:
    operator = alerting_operator
    target = f"{operator.env['METRICS_HOST']}:{operator.env['METRICS_PORT']}"
    server = PrometheusServer(tmp_path / "prometheus", [target], short_rules())
    started = time.monotonic()
    server.start()
    report("prometheus server start-to-ready", f"{time.monotonic() - started:.2f} s")
    try:
        yield server
    finally:
        server.stop()


def wait_until(what: str, check: Callable[[], Any], timeout: float, log: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not {what} within {timeout}s; prometheus log:\n{log()[-3000:]}")


def of(alerts: list[dict[str, Any]], name: str, resource: str | None = None) -> list[str]:
    """The states of the alerts `name` (for `resource`, when given)."""
    return [
        a["state"]
        for a in alerts
        if a["labels"]["alertname"] == name
        and (resource is None or a["labels"].get("name") == resource)
    ]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def timestamp(wire: str) -> float:
    return datetime.fromisoformat(wire.replace("Z", "+00:00")).timestamp()


def test_deadline_and_needs_input_alerts_on_a_real_prometheus(
    sim: Sim,
    renewals: Renewals,
    alerting_operator: OperatorProcess,
    prometheus: PrometheusServer,
) -> None:
    operator = alerting_operator
    assert wait_until(
        "scraping the operator",
        lambda: [t for t in prometheus.targets_up() if t["value"][1] == "1"],
        30,
        prometheus.log,
    )
    stuck_account, renewed_account = sim.new_account(), sim.new_account()
    stuck = sim.seed_approved_bundle(stuck_account.sid, phone_numbers=1)["bundle_sid"]
    renewed = sim.seed_approved_bundle(renewed_account.sid, phone_numbers=1)["bundle_sid"]
    soon = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    changed = sim.change_regulation(valid_until=iso(soon))
    assert {stuck, renewed} <= set(changed["affected_bundle_sids"])
    renewals.create_credentials(stuck_account, name="stuck-credentials")
    renewals.create_credentials(renewed_account, name="renewed-credentials")
    renewals.create("stuck", missing_field_spec(stuck, "stuck-credentials"))
    renewals.create("renewed", renewal_spec(renewed, "renewed-credentials"))

    renewals.wait_for_phase("stuck", "NeedsInput", timeout=60)
    seen: list[list[dict[str, Any]]] = []

    def both_firing() -> bool:
        seen.append(prometheus.alerts())
        return all(
            "firing" in of(seen[-1], name, "stuck")
            for name in ("BundleRenewalNeedsInput", "BundleRenewalDeadlineApproaching")
        )

    wait_until("NeedsInput and DeadlineApproaching firing", both_firing, 60, prometheus.log)
    for name in ("BundleRenewalNeedsInput", "BundleRenewalDeadlineApproaching"):
        states = [state for alerts in seen for state in of(alerts, name, "stuck")]
        assert states[0] == "pending", (name, states)  # pending for `for:`, then firing
        assert states[-1] == "firing", (name, states)
    assert not any(of(alerts, "BundleRenewalDeadlinePassed", "stuck") for alerts in seen)
    firing = next(a for a in seen[-1] if a["labels"]["alertname"] == "BundleRenewalNeedsInput")
    assert firing["labels"]["namespace"] == renewals.namespace
    assert firing["labels"]["phase"] == "NeedsInput"
    assert firing["annotations"]["runbook_url"] == (
        f"{alert_rules.site_url()}runbooks/bundlerenewalneedsinput/"
    )

    deadline = prometheus.query('bundle_renewal_valid_until_timestamp_seconds{name="stuck"}')
    assert len(deadline) == 1
    stored = timestamp(renewals.status("stuck")["original"]["validUntil"])
    assert float(deadline[0]["value"][1]) == stored == soon.timestamp()
    assert deadline[0]["metric"]["namespace"] == renewals.namespace
    not_ready = prometheus.query('bundle_renewal_ready_status{name="stuck",condition="False"}')
    assert [float(s["value"][1]) for s in not_ready] == [1.0]

    renewals.wait_for_phase("renewed", "Completed", timeout=90)
    wait_until(
        "the renewed bundle's deadline gone and its completion shown",
        lambda: (
            not prometheus.query('bundle_renewal_valid_until_timestamp_seconds{name="renewed"}')
            and prometheus.query('bundle_renewal_last_completed_timestamp_seconds{name="renewed"}')
        ),
        30,
        prometheus.log,
    )
    wait_until(
        "no alert left for the renewed resource",
        lambda: not [a for a in prometheus.alerts() if a["labels"].get("name") == "renewed"],
        30,
        prometheus.log,
    )
    durations = prometheus.query("bundle_renewal_renewal_duration_seconds_count")
    assert [float(s["value"][1]) for s in durations] == [1.0]
    assert prometheus.query("bundle_renewal_twilio_request_duration_seconds_count")
    assert promtool("check", "metrics", stdin=operator.metrics().encode()).strip() == ""

    # The deadline passes (the same change, published with a date already gone): only the
    # noncompliant bundle is affected, and the simulator expires it at once.
    passed = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    assert sim.change_regulation(valid_until=iso(passed))["affected_bundle_sids"] == [stuck]
    renewals.wait_for(
        "stuck",
        lambda s: (
            timestamp((s.get("original") or {}).get("validUntil") or "1970-01-01")
            == passed.timestamp()
        ),
        "showing the passed deadline",
        timeout=60,
    )
    alerts = wait_until(
        "DeadlinePassed firing",
        lambda: (
            (a := prometheus.alerts())
            and "firing" in of(a, "BundleRenewalDeadlinePassed", "stuck")
            and not of(a, "BundleRenewalDeadlineApproaching", "stuck")
            and a
        ),
        30,
        prometheus.log,
    )
    passed_alert = next(
        a for a in alerts if a["labels"]["alertname"] == "BundleRenewalDeadlinePassed"
    )
    assert passed_alert["labels"]["severity"] == "critical"

    operator.stop()
    wait_until(
        "operator-absent firing",
        lambda: "firing" in of(prometheus.alerts(), "BundleRenewalOperatorAbsent"),
        30,
        prometheus.log,
    )


def test_an_uncovered_deadline_alerts_until_a_renewal_covers_it(
    sim: Sim,
    renewals: Renewals,
    alerting_operator: OperatorProcess,
    prometheus: PrometheusServer,
) -> None:
    """A ComplianceAccount's uncovered bundle: BundleDeadlineUncovered pending, then firing;
    gone once a BundleRenewal covers the bundle and the account scans again."""
    wait_until(
        "scraping the operator",
        lambda: [t for t in prometheus.targets_up() if t["value"][1] == "1"],
        30,
        prometheus.log,
    )
    account = sim.new_account()
    soon = iso((datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0))
    bundle = sim.seed_approved_bundle(account.sid, valid_until=soon)["bundle_sid"]
    renewals.create_credentials(account)
    accounts = renewals.custom
    body = {
        "apiVersion": "twilio-compliance.io/v1alpha1",
        "kind": "ComplianceAccount",
        "metadata": {"name": "acme"},
        "spec": {"credentialsSecretRef": {"name": "twilio-credentials"}},
    }
    args = ("twilio-compliance.io", "v1alpha1", renewals.namespace, "complianceaccounts")
    accounts.create_namespaced_custom_object(*args, body)
    seen: list[list[dict[str, Any]]] = []

    def firing() -> bool:
        seen.append(prometheus.alerts())
        return "firing" in of(seen[-1], "BundleDeadlineUncovered", "acme")

    wait_until("BundleDeadlineUncovered firing", firing, 60, prometheus.log)
    states = [state for alerts in seen for state in of(alerts, "BundleDeadlineUncovered", "acme")]
    assert (states[0], states[-1]) == ("pending", "firing")
    alert = next(a for a in seen[-1] if a["labels"]["alertname"] == "BundleDeadlineUncovered")
    assert alert["labels"]["namespace"] == renewals.namespace
    assert alert["annotations"]["runbook_url"] == (
        f"{alert_rules.site_url()}runbooks/bundledeadlineuncovered/"
    )
    assert bundle not in str(alert)  # labels and annotations name no SID

    renewals.create(
        "acme-renewal",
        {
            "bundleSid": bundle,
            "credentialsSecretRef": {"name": "twilio-credentials"},
            "suspend": True,
        },
    )
    accounts.patch_namespaced_custom_object(*args, "acme", {"spec": {"scanInterval": "2h"}})
    wait_until(
        "the alert gone once covered",
        lambda: not of(prometheus.alerts(), "BundleDeadlineUncovered", "acme"),
        30,
        prometheus.log,
    )
    covered = prometheus.query('bundle_renewal_account_covered_bundles{name="acme"}')
    assert [float(s["value"][1]) for s in covered] == [1.0]
