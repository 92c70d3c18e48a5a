"""The simulator's knobs the chaos suite (tests/chaos/) leans on: reviews by hand for chosen
accounts only, dropped connections counted in the stats, and writes recorded by the SIDs in
their path (how the suite proves an original bundle saw nothing but ReplaceItems)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.sim_fixtures import Sim, SimAccount

RC = "/v2/RegulatoryCompliance"


def _submitted_copy(sim: Sim, account: SimAccount) -> str:
    seeded = sim.seed_approved_bundle(account.sid)
    rc = sim.client(account).numbers.v2.regulatory_compliance
    copy = rc.bundles(seeded["bundle_sid"]).bundle_copies.create()
    rc.bundles(copy.sid).update(status="pending-review")
    sid: str = copy.sid
    return sid


def test_manual_accounts_wait_for_a_decision_by_hand_while_the_others_are_decided(
    sim: Sim,
) -> None:
    by_hand, automatic = sim.new_account(), sim.new_account()
    sim.set_config(
        review={
            "manual_accounts": [by_hand.sid],
            "in_review_after_seconds": 0,
            "decision_after_seconds": 0,
        }
    )
    waiting = _submitted_copy(sim, by_hand)
    decided = _submitted_copy(sim, automatic)
    sim.wait_for_status(decided, "twilio-approved")
    sim.wait_for_status(waiting, "in-review")
    time.sleep(0.3)
    assert sim.admin.bundle(waiting)["status"] == "in-review"
    assert sim.review(waiting, "approve")["status"] == "twilio-approved"


def test_a_dropped_connection_is_counted_with_status_0(sim: Sim) -> None:
    account = sim.new_account()
    sim.set_config(faults={"drop_rate": 1.0})
    with pytest.raises(requests.ConnectionError):
        requests.get(
            f"{sim.base_url}{RC}/Regulations", auth=(account.sid, account.auth_token), timeout=10
        )
    rows = sim.stats()["requests"]
    assert {
        "account_sid": account.sid,
        "method": "GET",
        "route": f"{RC}/Regulations",
        "status": 0,
        "count": 1,
    } in rows


def test_writes_are_recorded_under_every_sid_in_their_path_and_reads_are_not(sim: Sim) -> None:
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid)
    original = seeded["bundle_sid"]
    rc = sim.client(account).numbers.v2.regulatory_compliance
    rc.bundles(original).fetch()
    copy = rc.bundles(original).bundle_copies.create()
    item = rc.bundles(copy.sid).item_assignments.list()[0]
    rc.bundles(copy.sid).item_assignments(item.sid).delete()

    assert sim.admin.writes(original) == [
        {
            "sid": original,
            "account_sid": account.sid,
            "method": "POST",
            "route": f"{RC}/Bundles/{{BundleSid}}/Copies",
            "status": 201,
            "count": 1,
        }
    ]
    item_route = f"{RC}/Bundles/{{BundleSid}}/ItemAssignments/{{Sid}}"
    assert [(w["sid"], w["method"], w["route"]) for w in sim.admin.writes(item.sid)] == [
        (item.sid, "DELETE", item_route)
    ]
    assert {w["sid"] for w in sim.admin.writes()} == {original, copy.sid, item.sid}
    sim.admin.reset()
    assert sim.admin.writes() == []


def test_latency_after_carries_the_write_out_before_answering(sim: Sim) -> None:
    """The crash window: the write is done (and counted) while its client still waits."""
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid)
    sim.set_config(latency={"distribution": "constant", "mean_ms": 1500, "when": "after"})
    url = f"{sim.base_url}{RC}/Bundles/{seeded['bundle_sid']}/Copies"
    answered: list[int] = []
    thread = threading.Thread(
        target=lambda: answered.append(
            requests.post(url, auth=(account.sid, account.auth_token), timeout=10).status_code
        )
    )
    started = time.monotonic()
    thread.start()
    while not sim.admin.writes(seeded["bundle_sid"]):
        assert time.monotonic() - started < 1.0, "not carried out at once"
        time.sleep(0.01)
    assert [b for b in sim.state()["accounts"][0]["bundles"] if b["copy_of"]]
    assert answered == []
    thread.join()
    assert answered == [201]
    assert time.monotonic() - started >= 1.5
