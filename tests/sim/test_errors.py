"""Bad input is answered as Twilio answers it, with Twilio's error body, and changes nothing."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.contract.openapi_validation import ExchangeRecorder, RecordingHttpClient, SpecValidator
from tests.sim_fixtures import Sim, SimAccount

RC = "/v2/RegulatoryCompliance"
UNKNOWN_BU = "BU" + "0" * 32


def raw(sim: Sim, account: SimAccount, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method, sim.base_url + path, auth=(account.sid, account.auth_token), timeout=10, **kwargs
    )


def state_without_stats(sim: Sim) -> str:
    return json.dumps(sim.state()["accounts"], sort_keys=True)


@pytest.fixture
def account(sim: Sim) -> SimAccount:
    return sim.new_account()


@pytest.fixture
def seeded(sim: Sim, account: SimAccount) -> dict[str, Any]:
    return sim.seed_approved_bundle(account.sid, phone_numbers=2)


def sdk_error(fn: Any, *args: Any, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        fn(*args, **kwargs)
    return info.value


def test_errors_through_the_sdk_match_twilio_and_the_spec(
    sim: Sim, account: SimAccount, seeded: dict[str, Any]
) -> None:
    recorder = ExchangeRecorder()
    rc = sim.client(account, http_client=RecordingHttpClient(recorder)).numbers.v2
    rc = rc.regulatory_compliance
    original = seeded["bundle_sid"]
    before = state_without_stats(sim)
    bundle = rc.bundles(original)
    end_user = seeded["end_user_sid"]
    items = bundle.item_assignments
    users, docs = rc.end_users, rc.supporting_documents
    cases = [
        (lambda: rc.bundles(UNKNOWN_BU).fetch(), 404, 20404),
        (lambda: rc.bundles("IT" + "0" * 32).fetch(), 404, 20404),  # wrong prefix
        (lambda: rc.bundles("BUnot-a-sid").fetch(), 404, 20404),
        (lambda: rc.end_users("IT" + "1" * 32).fetch(), 404, 20404),
        (lambda: rc.supporting_documents(seeded["end_user_sid"]).fetch(), 404, 20404),
        (lambda: bundle.evaluations("EL" + "2" * 32).fetch(), 404, 20404),
        (lambda: bundle.item_assignments("BV" + "3" * 32).fetch(), 404, 20404),
        (lambda: rc.regulations("RN" + "4" * 32).fetch(), 404, 20404),
        (lambda: rc.bundles.create(friendly_name="x", email=""), 400, 20001),
        (lambda: rc.end_users.create(friendly_name="x", type="robot"), 400, 20001),
        (lambda: users.create(friendly_name="x", type="business", attributes="{"), 400, 20001),
        (lambda: users.create(friendly_name="x", type="business", attributes="[]"), 400, 20001),
        (lambda: rc.end_users(end_user).update(attributes="not json"), 400, 20001),
        (lambda: docs.create(friendly_name="x", type="unknown_type"), 400, 20001),
        (lambda: bundle.update(status="pending-review"), 400, 22209),
        (lambda: bundle.update(status="twilio-approved"), 400, 22209),
        (lambda: bundle.update(status="pending-review", friendly_name="x"), 400, 22204),
        (lambda: bundle.replace_items.create(from_bundle_sid=original), 400, 22226),
        (lambda: bundle.replace_items.create(from_bundle_sid=UNKNOWN_BU), 400, 22225),
        (lambda: items.create(object_sid="XX" + "5" * 32), 400, 22206),
        (lambda: items.create(object_sid="IT" + "6" * 32), 400, 22205),
        (lambda: items.create(object_sid=end_user), 400, 22207),
        (lambda: bundle.delete(), 400, 22210),
        (lambda: rc.end_users(end_user).delete(), 400, 22208),
    ]  # fmt: skip
    for index, (call, status, code) in enumerate(cases):
        err = sdk_error(call)
        assert (index, err.status, err.code) == (index, status, code), err.msg
    assert state_without_stats(sim) == before
    assert SpecValidator.shared().problems(recorder.exchanges) == []
    assert len(recorder.exchanges) == len(cases)


def test_wrong_credentials_are_refused_with_20003(sim: Sim, account: SimAccount) -> None:
    for auth in [(account.sid, "wrong"), ("AC" + "9" * 32, account.auth_token), None]:
        resp = requests.get(f"{sim.base_url}{RC}/Bundles", auth=auth, timeout=10)
        assert resp.status_code == 401
        assert resp.json() == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }
    bad = requests.get(
        f"{sim.base_url}{RC}/Bundles", headers={"Authorization": "Basic !!!"}, timeout=10
    )
    assert bad.status_code == 401


def test_api_keys_act_as_their_account_and_accounts_are_isolated(
    sim: Sim, account: SimAccount, seeded: dict[str, Any]
) -> None:
    key = account.api_keys[0]
    mine = requests.get(
        f"{sim.base_url}{RC}/Bundles/{seeded['bundle_sid']}",
        auth=(key["sid"], key["secret"]),
        timeout=10,
    )
    assert mine.status_code == 200
    assert mine.json()["account_sid"] == account.sid
    other = sim.new_account()
    theirs = raw(sim, other, "GET", f"{RC}/Bundles/{seeded['bundle_sid']}")
    assert theirs.status_code == 404
    assert raw(sim, other, "GET", f"{RC}/Bundles").json()["results"] == []
    wrong_secret = requests.get(
        f"{sim.base_url}{RC}/Bundles", auth=(key["sid"], account.auth_token), timeout=10
    )
    assert wrong_secret.status_code == 401
    foreign_item = raw(
        sim,
        other,
        "POST",
        f"{RC}/EndUsers",
        data={"FriendlyName": "x", "Type": "business"},
    ).json()["sid"]
    draft = raw(
        sim, account, "POST", f"{RC}/Bundles", data={"FriendlyName": "d", "Email": "e@x.io",
                                                      "RegulationSid": seeded["regulation_sid"]}
    ).json()["sid"]  # fmt: skip
    refused = raw(sim, account, "POST", f"{RC}/Bundles/{draft}/ItemAssignments",
                  data={"ObjectSid": foreign_item})  # fmt: skip
    assert (refused.status_code, refused.json()["code"]) == (400, 22205)


def test_submitting_a_noncompliant_draft_is_refused(sim: Sim, account: SimAccount) -> None:
    rc = sim.client(account).numbers.v2.regulatory_compliance
    bundle = rc.bundles.create(
        friendly_name="new", email="a@b.io", iso_country="FR", end_user_type="business",
        number_type="mobile",
    )  # fmt: skip
    err = sdk_error(rc.bundles(bundle.sid).update, status="pending-review")
    assert (err.status, err.code) == (400, 22211)
    assert rc.bundles(bundle.sid).fetch().status == "draft"
    bad = sdk_error(
        rc.bundles.create, friendly_name="n", email="a@b.io", iso_country="FR",
        end_user_type="business", number_type="satellite",
    )  # fmt: skip
    assert (bad.status, bad.code) == (400, 22200)
    missing = sdk_error(rc.bundles.create, friendly_name="n", email="a@b.io")
    assert (missing.status, missing.code) == (400, 20001)


def test_replace_items_needs_an_approved_source(
    sim: Sim, account: SimAccount, seeded: dict[str, Any]
) -> None:
    rc = sim.client(account).numbers.v2.regulatory_compliance
    copy = rc.bundles(seeded["bundle_sid"]).bundle_copies.create()
    err = sdk_error(rc.bundles(seeded["bundle_sid"]).replace_items.create, from_bundle_sid=copy.sid)
    assert (err.status, err.code) == (400, 22227)
    assert len(rc.bundles(seeded["bundle_sid"]).item_assignments.list()) == 4


def test_unknown_routes_and_methods_answer_twilio_errors(sim: Sim, account: SimAccount) -> None:
    missing = raw(sim, account, "GET", f"{RC}/Nothing")
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)
    wrong_method = raw(sim, account, "PUT", f"{RC}/Bundles")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 20004)
    not_form = raw(sim, account, "POST", f"{RC}/EndUsers", json={"FriendlyName": "x"})
    assert (not_form.status_code, not_form.json()["code"]) == (400, 20001)
    bad_bytes = raw(
        sim,
        account,
        "POST",
        f"{RC}/EndUsers",
        data=b"FriendlyName=%ff%fe&Type=business",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad_bytes.status_code in (201, 400)
    for query in ("PageToken=garbage", "PageSize=0", "PageSize=x", "Page=-1", "Status=nope",
                  "HasValidUntilDate=maybe", "ValidUntilDate%3C=yesterday", "SortBy=size",
                  "BundleSids=BU1,BU2"):  # fmt: skip
        resp = raw(sim, account, "GET", f"{RC}/Bundles?{query}")
        assert (resp.status_code, resp.json()["code"]) == (400, 20001), query


def test_concurrency_cap_answers_429_20429(sim: Sim, account: SimAccount) -> None:
    sim.set_config(
        max_concurrent_requests_per_account=1,
        latency={"distribution": "constant", "mean_ms": 300},
    )
    results: list[requests.Response] = []

    def fetch() -> None:
        results.append(raw(sim, account, "GET", f"{RC}/Regulations"))

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) >= 1
    assert 429 in codes
    limited = next(r for r in results if r.status_code == 429)
    assert limited.json()["code"] == 20429
    stats = sim.stats()
    assert any(
        row["status"] == 429 and row["account_sid"] == account.sid for row in stats["requests"]
    )


def test_fault_injection(sim: Sim, account: SimAccount) -> None:
    sim.set_config(faults={"rate_limit_rate": 1.0})
    limited = raw(sim, account, "GET", f"{RC}/Bundles")
    assert (limited.status_code, limited.json()["code"]) == (429, 20429)
    sim.set_config(faults={"rate_limit_rate": 0.0, "error_rate": 1.0})
    failed = raw(sim, account, "GET", f"{RC}/Bundles")
    assert (failed.status_code, failed.json()["code"]) == (500, 20500)
    sim.set_config(faults={"error_rate": 0.0, "drop_rate": 1.0})
    with pytest.raises(requests.ConnectionError):
        raw(sim, account, "GET", f"{RC}/Bundles")
    sim.set_config(faults={"drop_rate": 0.0})
    assert raw(sim, account, "GET", f"{RC}/Bundles").status_code == 200


def test_config_rejects_unknown_or_invalid_knobs(sim: Sim) -> None:
    for body in ({"nope": 1}, {"faults": {"error_rate": 2}}, {"review": {"mode": "maybe"}}):
        resp = requests.put(f"{sim.base_url}/_sim/config", json=body, timeout=10)
        assert resp.status_code == 400
    assert sim.admin.config()["faults"]["error_rate"] == 0.0
