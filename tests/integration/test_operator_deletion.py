"""Deleting a BundleRenewal mid-flight (acceptance 5): the finalizer deletes the copy it made and
leaves the original bundle exactly as it was."""

from __future__ import annotations

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import Renewals
from tests.integration.scenario import (
    bundle_state,
    copies_of,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
)
from tests.sim_fixtures import Sim


def test_deleting_a_renewal_in_review_deletes_its_copy_only(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    sim.set_config(review={"mode": "manual"})  # the copy stays in review until deleted
    case = seed_due_bundle(sim)
    before = bundle_state(sim, case.bundle_sid)
    renewals.create_credentials(case.account)
    renewals.create("doomed", renewal_spec(case.bundle_sid))
    status = renewals.wait_for_phase("doomed", "InReview")
    copy_sid = status["copySid"]
    assert [c["sid"] for c in copies_of(sim, case)] == [copy_sid]

    renewals.delete("doomed")
    # Twilio does not delete a bundle under review: the finalizer holds on until it can.
    renewals.wait_for(
        "doomed",
        lambda s: "review of the copy ends" in (s.get("message") or ""),
        "waiting for the review to end",
    )
    assert renewals.exists("doomed")
    assert [c["sid"] for c in copies_of(sim, case)] == [copy_sid]
    sim.review(copy_sid, "reject")
    renewals.wait_gone("doomed")

    assert copies_of(sim, case) == []
    after = bundle_state(sim, case.bundle_sid)
    for key in ("status", "valid_until", "item_object_sids", "phone_number_sids", "friendly_name"):
        assert after[key] == before[key], key
    # One successful DELETE (the copy's); the ones Twilio refused during the review were 400s.
    deletes = [
        row
        for row in sim.stats()["requests"]
        if row["account_sid"] == case.account.sid
        and (row["method"], row["route"]) == ("DELETE", "/v2/RegulatoryCompliance/Bundles/{Sid}")
    ]
    assert sum(r["count"] for r in deletes if 200 <= r["status"] < 300) == 1, deletes
    assert {r["status"] for r in deletes} <= {204, 400}, deletes
    calls = requests_by_route(sim, case.account.sid)
    assert calls["POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/ReplaceItems"] == 0


def test_deleting_a_renewal_that_made_no_copy_calls_no_delete(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    spec = renewal_spec(case.bundle_sid)
    spec["suspend"] = True
    renewals.create_credentials(case.account)
    renewals.create("idle", spec)
    renewals.wait_for_phase("idle", "Suspended")
    renewals.delete("idle")
    renewals.wait_gone("idle")
    calls = requests_by_route(sim, case.account.sid)
    assert calls["DELETE /v2/RegulatoryCompliance/Bundles/{Sid}"] == 0
    assert calls["POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/Copies"] == 0
