"""What must not start a Twilio review: a spec edit that changes nothing in the bundle, and a
valid_until that ReplaceItems left in place (the operator stalls instead of renewing forever).

The operator process against the API server and the simulator, with a light check every second
so that a renewal loop, if there were one, would show within the test.
"""

from __future__ import annotations

import time

from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import renewal_spec, requests_by_route, seed_due_bundle
from tests.sim_fixtures import Sim

COPIES = "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/Copies"
SUBMIT_OR_UPDATE = "POST /v2/RegulatoryCompliance/Bundles/{Sid}"


def test_valid_until_kept_by_replace_items_stalls_without_a_second_renewal(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    case = seed_due_bundle(sim)
    valid_until = sim.admin.bundle(case.bundle_sid)["valid_until"]
    sim.set_config(replace_items_keeps_valid_until=True)
    operator_factory(LIGHT_CHECK_INTERVAL_SECONDS="1").start()
    renewals.create_credentials(case.account)
    renewals.create("acme", renewal_spec(case.bundle_sid))

    status = renewals.wait_for(
        "acme",
        lambda s: any(c.get("reason") == "ValidUntilNotCleared" for c in s.get("conditions") or []),
        "stalled with ValidUntilNotCleared",
        timeout=90,
    )
    assert status["phase"] == "Failed"
    assert status.get("validUntilNotCleared")
    assert case.bundle_sid in status["message"]
    assert sim.admin.bundle(case.bundle_sid)["valid_until"] == valid_until
    # Several light checks later: still one copy, one submission, and the copy cleaned up.
    time.sleep(4)
    calls = requests_by_route(sim, case.account.sid)
    assert calls[COPIES] == 1, calls
    assert calls[SUBMIT_OR_UPDATE] == 1, calls
    assert renewals.status("acme")["phase"] == "Failed"
    stalled = renewals.condition("acme", "Stalled")
    assert stalled is not None
    assert (stalled["status"], stalled["reason"]) == ("True", "ValidUntilNotCleared")


def test_suspend_toggle_after_completion_starts_no_review(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    case = seed_due_bundle(sim)
    operator_factory(LIGHT_CHECK_INTERVAL_SECONDS="1").start()
    renewals.create_credentials(case.account)
    spec = renewal_spec(case.bundle_sid)
    renewals.create("acme", spec)
    renewals.wait_for_phase("acme", "Completed", timeout=90)
    before = requests_by_route(sim, case.account.sid)

    renewals.replace_spec("acme", {**spec, "suspend": True})
    renewals.wait_for_phase("acme", "Suspended")
    renewals.replace_spec("acme", spec)
    generation = renewals.get("acme")["metadata"]["generation"]
    status = renewals.wait_for(
        "acme",
        lambda s: s.get("appliedGeneration") == generation and s.get("phase") == "Completed",
        f"generation {generation} applied",
        timeout=60,
    )
    assert status["conditions"][0]["reason"] == "UpToDate"
    time.sleep(2)
    after = requests_by_route(sim, case.account.sid)
    writes = {r: n - before.get(r, 0) for r, n in after.items() if not r.startswith("GET ")}
    assert not any(writes.values()), writes
