"""Issue 12: what GitOps tools make of the statuses the operator writes, phase by phase.

The operator process against the API server and the simulator drives one BundleRenewal into
each situation of tests/fixtures/health/health_test.yaml; there, the object as the API server
returns it is read by the kstatus oracle (Flux) and by the shipped Argo CD health.lua in Lua 5.1
(devtools/health_checks.py), and both must say what the expectations file says. The object is
then compared with its captured fixture (phase, conditions' status and reason, generation and
deletion): the documentation's Health table, generated from the fixtures, is what a real run writes.
With BRO_UPDATE_HEALTH_FIXTURES=1 the fixtures are captured again instead.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from devtools.health_checks import EXPECTATIONS, FIXTURES, argocd, kstatus
from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import (
    missing_field_spec,
    renewal_spec,
    seed_due_bundle,
)
from tests.sim_fixtures import Sim

UPDATE = os.environ.get("BRO_UPDATE_HEALTH_FIXTURES") == "1"


def expectations() -> dict[str, dict[str, Any]]:
    tests = yaml.safe_load(EXPECTATIONS.read_text())["tests"]
    return {t["inputPath"].removesuffix(".yaml"): t for t in tests}


def trimmed(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as a health check reads it, without what only the API server needs (managed
    fields, Kopf's annotations, uid) nor the spec's attribute values."""
    metadata = obj["metadata"]
    kept = {"name": metadata["name"], "namespace": "telecom", "generation": metadata["generation"]}
    if metadata.get("deletionTimestamp"):
        kept["deletionTimestamp"] = metadata["deletionTimestamp"]
        kept["finalizers"] = metadata.get("finalizers") or []
    spec = {k: v for k, v in obj["spec"].items() if k in ("bundleSid", "credentialsSecretRef")}
    if obj["spec"].get("suspend"):
        spec["suspend"] = True
    out: dict[str, Any] = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": kept,
        "spec": spec,
    }
    if obj.get("status"):
        out["status"] = obj["status"]
    return out


def shape(obj: dict[str, Any]) -> dict[str, Any]:
    """What the Health table and the checks depend on."""
    status = obj.get("status") or {}
    return {
        "phase": status.get("phase"),
        "conditions": [
            (c["type"], c["status"], c["reason"]) for c in status.get("conditions") or []
        ],
        "observed": status.get("observedGeneration") == obj["metadata"]["generation"]
        if "observedGeneration" in status
        else None,
        "deleting": bool(obj["metadata"].get("deletionTimestamp")),
        "suspend": bool(obj["spec"].get("suspend")),
    }


def capture(renewals: Renewals, name: str, case: str) -> dict[str, Any]:
    """Check the live object `name` against the expectations of `case`; compare it with (or
    write) the case's fixture."""
    obj = trimmed(renewals.get(name))
    expected = expectations()[case]
    assert kstatus(obj) == expected["kstatus"], obj.get("status")
    # Upstream kstatus (no Ready rule for custom kinds) agrees, but for a missing status.
    assert kstatus(obj, with_ready=False) == expected["kstatus"], obj.get("status")
    health = argocd(obj)
    assert health["status"] == expected["healthStatus"]["status"], health
    assert expected["healthStatus"]["message"] in health["message"], health
    path = FIXTURES / f"{case}.yaml"
    if UPDATE:
        path.write_text(yaml.safe_dump(obj, sort_keys=False, width=100))
    else:
        assert shape(yaml.safe_load(path.read_text())) == shape(obj), f"{path} is stale"
    return obj


def has(type_: str, value: str, reason: str | None = None) -> Any:
    def predicate(status: dict[str, Any]) -> bool:
        return any(
            c.get("type") == type_
            and c.get("status") == value
            and (reason is None or c.get("reason") == reason)
            for c in status.get("conditions") or []
        )

    return predicate


def test_a_renewal_from_creation_to_completion(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    """Pending, generation not observed, review of a valid bundle (Flux-like check Current all
    along), completed; events reported by the operator; the next check in status."""
    sim.set_config(review={"mode": "manual"})
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("acme", renewal_spec(case.bundle_sid))
    capture(renewals, "acme", "pending")
    operator = operator_factory()
    operator.start()

    renewals.wait_for_phase("acme", "InReview")
    copy_sid = renewals.status("acme")["copySid"]
    # A review takes days: polled all along, the resource stays Current (kstatus) and Healthy.
    for _ in range(10):
        obj = capture(renewals, "acme", "in-review")
        time.sleep(0.3)
    status = obj["status"]
    assert status["nextCheckTime"] > status["conditions"][0]["lastTransitionTime"]
    assert status["history"][0]["outcome"] == "InProgress"
    assert status["history"][0]["copySid"] == copy_sid

    operator.stop()
    renewals.patch_spec("acme", {"suspend": False})  # a new generation that alters nothing
    capture(renewals, "acme", "generation-not-observed")
    operator_factory().start()
    renewals.wait_for("acme", lambda s: s.get("observedGeneration") == 2, "generation 2 seen")

    sim.review(copy_sid, "approve")
    # Completed, then (generation 2 compared with the bundle: nothing to change) up to date.
    renewals.wait_for("acme", has("Ready", "True", "UpToDate"), "up to date")
    obj = capture(renewals, "acme", "completed")
    status = obj["status"]
    assert "review" not in status  # kubectl get's Copy-Status column shows nothing stale
    [record] = status["history"]
    assert record["outcome"] == "Completed"
    assert record["copySid"] == copy_sid
    assert record["reviewRounds"] == 1
    assert record["triggers"] == ["validUntil"]
    listing = renewals.kubectl("get", "bundlerenewals", "-n", renewals.namespace, "acme").stdout
    assert "twilio-approved" not in listing
    assert status["nextCheckTime"][:16] in listing  # the Next-Check column
    # `kubectl wait --for=condition=Ready` still returns for a completed renewal.
    renewals.kubectl(
        "wait",
        "--for=condition=Ready",
        "--timeout=10s",
        "-n",
        renewals.namespace,
        "bundlerenewals/acme",
    )
    sources = {e.source.component for e in renewals.events("acme") if e.source}
    assert sources == {"bundle-renewal-operator"}, sources


def test_a_review_past_valid_until_is_not_ready_and_then_degraded(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    sim.set_config(review={"mode": "manual"})
    valid_until = datetime.now(UTC) + timedelta(seconds=4)
    case = seed_due_bundle(sim, valid_until=valid_until.isoformat())
    renewals.create_credentials(case.account)
    renewals.create("late", renewal_spec(case.bundle_sid))
    status = renewals.wait_for_phase("late", "InReview")
    assert has("Ready", "True")(status)
    # The first poll after valid_until (at most a second later) turns Ready False.
    renewals.wait_for("late", has("Ready", "False"), "not Ready", timeout=15)
    # Twilio's API renders valid_until to the second: the operator sees it up to 1 s earlier.
    assert datetime.now(UTC) >= valid_until - timedelta(seconds=1)
    capture(renewals, "late", "in-review-expired")
    # Twilio expired the original (twilio-rejected): approving the copy cannot help now. (The
    # simulator expires it on a timer: under load that can lag valid_until by a moment.)
    deadline = time.monotonic() + 30
    while sim.admin.bundle(case.bundle_sid)["status"] != "twilio-rejected":
        assert time.monotonic() < deadline, "the simulator never expired the original"
        time.sleep(0.1)
    sim.review(renewals.status("late")["copySid"], "approve")
    renewals.wait_for("late", has("Stalled", "True", "OriginalNotApproved"), "stalled")
    capture(renewals, "late", "original-not-approved")


def test_what_needs_a_person_is_failed_and_degraded(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    """NeedsInput, Rejected, refused credentials, a bundle claimed by another resource."""
    other = sim.new_account()
    other_bundle = sim.seed_approved_bundle(other.sid)["bundle_sid"]
    case = seed_due_bundle(sim)  # its regulation change makes the other bundle due too
    renewals.create_credentials(case.account)
    renewals.create("incomplete", missing_field_spec(case.bundle_sid))
    renewals.wait_for_phase("incomplete", "NeedsInput")
    capture(renewals, "incomplete", "needs-input")

    # Another resource for the same bundle, while the first one's copy exists.
    renewals.create("second", renewal_spec(case.bundle_sid))
    renewals.wait_for("second", has("Stalled", "True", "BundleClaimed"), "claimed")
    capture(renewals, "second", "bundle-claimed")

    refused = "2023-13-45-Refused"
    sim.set_config(
        review={
            "rejection_rules": [
                {
                    "document_type": "commercial_registrar_excerpt",
                    "field": "issue_date",
                    "value": refused,
                    "failure_reason": "The issue date is not readable on the excerpt.",
                }
            ]
        }
    )
    spec = renewal_spec(case.bundle_sid)
    spec["supportingDocuments"][0]["attributes"]["issue_date"] = refused
    renewals.replace_spec("incomplete", spec)
    status = renewals.wait_for_phase("incomplete", "Rejected")
    obj = capture(renewals, "incomplete", "rejected")
    [record] = obj["status"]["history"]
    assert record["rejections"][0]["failureReason"].startswith("The issue date")
    assert refused not in str(obj["status"])  # reasons, never values
    assert status["copySid"] == record["copySid"]

    renewals.create_secret({"accountSid": other.sid, "authToken": "0" * 32}, name="wrong-token")
    renewals.create("unauthorised", renewal_spec(other_bundle, secret_name="wrong-token"))
    renewals.wait_for("unauthorised", has("Stalled", "True", "AuthenticationFailed"), "refused")
    capture(renewals, "unauthorised", "authentication-failed")


def test_transient_errors_and_writes_in_flight_are_progressing(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    operator_factory(TWILIO_MAX_ATTEMPTS="1").start()
    sim.set_config(faults={"error_rate": 1.0})
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("flaky", renewal_spec(case.bundle_sid))
    renewals.wait_for("flaky", has("Reconciling", "True", "TransientError"), "retrying")
    capture(renewals, "flaky", "transient-error")

    # Every Twilio call takes 2 s: the renewal's start (a checkpoint) stays visible a while.
    sim.set_config(
        faults={"error_rate": 0.0}, latency={"distribution": "constant", "mean_ms": 2000}
    )
    renewals.wait_for("flaky", has("Renewing", "True", "CreatingCopy"), "copying", timeout=30)
    capture(renewals, "flaky", "in-progress")


def test_suspended_deleted_and_valid_until_not_cleared(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("paused", {**renewal_spec(case.bundle_sid), "suspend": True})
    renewals.wait_for_phase("paused", "Suspended")
    capture(renewals, "paused", "suspended")
    renewals.delete("paused")

    sim.set_config(review={"mode": "manual"})
    renewals.create("doomed", renewal_spec(case.bundle_sid))
    copy_sid = renewals.wait_for_phase("doomed", "InReview")["copySid"]
    renewals.delete("doomed")  # Twilio does not delete a copy under review: the finalizer waits
    renewals.wait_for(
        "doomed", lambda s: "review of the copy ends" in (s.get("message") or ""), "waiting"
    )
    capture(renewals, "doomed", "deleting")
    sim.review(copy_sid, "reject")
    renewals.wait_gone("doomed")

    sim.set_config(review={"mode": "auto"}, replace_items_keeps_valid_until=True)
    renewals.create("kept", renewal_spec(case.bundle_sid))
    renewals.wait_for("kept", has("Stalled", "True", "ValidUntilNotCleared"), "stalled", 90)
    obj = capture(renewals, "kept", "valid-until-not-cleared")
    assert obj["status"]["history"][0]["outcome"] == "ValidUntilNotCleared"


def test_a_dry_run_is_current_and_healthy(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    """Its report is what was asked for: a GitOps wait on it passes (nothing is renewing)."""
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("rehearsal", {**renewal_spec(case.bundle_sid), "dryRun": True})
    renewals.wait_for_phase("rehearsal", "DryRun")
    capture(renewals, "rehearsal", "dry-run")
