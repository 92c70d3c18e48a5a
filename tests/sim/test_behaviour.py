"""Simulator behaviour beyond the happy path: paging, filters, review policy, expiry, uploads."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.contract.openapi_validation import Exchange, SpecValidator
from tests.sim_fixtures import CallbackReceiver, Sim, SimAccount
from twilio_sim.regulations import FRANCE_MOBILE_BUSINESS_SID

RC = "/v2/RegulatoryCompliance"


def get(sim: Sim, account: SimAccount, url: str) -> requests.Response:
    full = url if url.startswith("http") else sim.base_url + url
    return requests.get(full, auth=(account.sid, account.auth_token), timeout=10)


def test_paging_follows_absolute_meta_urls_back_to_the_simulator(sim: Sim) -> None:
    account = sim.new_account()
    rc = sim.client(account).numbers.v2.regulatory_compliance
    created = [rc.end_users.create(friendly_name=f"u{i}", type="individual").sid for i in range(7)]
    assert [u.sid for u in rc.end_users.stream(page_size=3)] == created[::-1]
    first = get(sim, account, f"{RC}/EndUsers?PageSize=3").json()
    meta = first["meta"]
    assert meta["next_page_url"].startswith(sim.base_url + f"{RC}/EndUsers?PageSize=3&Page=1")
    assert "PageToken=" in meta["next_page_url"]
    assert meta["previous_page_url"] is None
    last = get(
        sim, account, get(sim, account, meta["next_page_url"]).json()["meta"]["next_page_url"]
    )
    assert len(last.json()["results"]) == 1
    assert last.json()["meta"]["next_page_url"] is None
    assert last.json()["meta"]["previous_page_url"] is not None
    types = get(sim, account, f"{RC}/SupportingDocumentTypes").json()
    assert types["meta"]["key"] == "supporting_document_types"
    assert "commercial_registrar_excerpt" in {
        t["machine_name"] for t in types["supporting_document_types"]
    }


def test_bundle_list_filters_and_sorting(sim: Sim) -> None:
    account = sim.new_account()
    seeds = [sim.seed_approved_bundle(account.sid)["bundle_sid"] for _ in range(3)]
    soon = datetime.now(UTC) + timedelta(days=10)
    later = datetime.now(UTC) + timedelta(days=40)
    sim.change_regulation(valid_until=later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    sim.seed_approved_bundle(account.sid, valid_until=soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
    rc = sim.client(account).numbers.v2.regulatory_compliance
    dated = rc.bundles.list(has_valid_until_date=True, sort_by="valid-until", sort_direction="ASC")
    assert len(dated) == 4
    assert [b.valid_until for b in dated] == sorted(b.valid_until for b in dated)
    before = rc.bundles.list(valid_until_date_before=soon + timedelta(days=1))
    assert len(before) == 1
    after = rc.bundles.list(valid_until_date_after=soon + timedelta(days=1))
    assert {b.sid for b in after} == set(seeds)
    assert rc.bundles.list(has_valid_until_date=False) == []
    assert (
        len(
            rc.bundles.list(
                status="twilio-approved",
                iso_country="FR",
                number_type="mobile",
                end_user_type="business",
                regulation_sid=FRANCE_MOBILE_BUSINESS_SID,
            )
        )
        == 4
    )
    assert rc.bundles.list(iso_country="DE") == []
    assert {b.sid for b in rc.bundles.list(bundle_sids=",".join(seeds[:2]))} == set(seeds[:2])


def test_rejection_rules_refuse_a_document_and_the_fix_gets_approved(
    sim: Sim, callback_receiver: CallbackReceiver
) -> None:
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid, status_callback=callback_receiver.url)
    sim.set_config(
        review={
            "rejection_rules": [
                {
                    "document_type": "commercial_registrar_excerpt",
                    "field": "document_number",
                    "value": "KBIS-2024-000123",
                    "failure_reason": "The K-bis is older than 3 months.",
                }
            ]
        }
    )
    rc = sim.client(account).numbers.v2.regulatory_compliance
    copy = rc.bundles(seeded["bundle_sid"]).bundle_copies.create()
    rc.bundles(copy.sid).update(status="pending-review")
    sim.wait_for_status(copy.sid, "twilio-rejected")
    cb = callback_receiver.wait_for(lambda c: c.fields.get("status") == "twilio-rejected")
    assert cb.fields["failure_reason"] == "The K-bis is older than 3 months."
    docs = [
        rc.supporting_documents(i.object_sid).fetch()
        for i in rc.bundles(copy.sid).item_assignments.list()
        if i.object_sid.startswith("RD")
    ]
    refused = [d for d in docs if d.status == "rejected"]
    assert [d.type for d in refused] == ["commercial_registrar_excerpt"]
    assert refused[0].failure_reason == "The K-bis is older than 3 months."
    assert refused[0].errors[0]["code"] == 18001
    rc.supporting_documents(refused[0].sid).update(
        attributes={**refused[0].attributes, "document_number": "KBIS-2025-000999"}
    )
    assert rc.supporting_documents(refused[0].sid).fetch().status == "draft"
    rc.bundles(copy.sid).update(status="pending-review")  # a rejected bundle can be resubmitted
    sim.wait_for_status(copy.sid, "twilio-approved")


def test_manual_review_waits_for_the_admin_decision(sim: Sim) -> None:
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid)
    sim.set_config(review={"mode": "manual", "in_review_after_seconds": 0})
    rc = sim.client(account).numbers.v2.regulatory_compliance
    copy = rc.bundles(seeded["bundle_sid"]).bundle_copies.create()
    rc.bundles(copy.sid).update(status="pending-review")
    sim.wait_for_status(copy.sid, "in-review")
    time.sleep(0.3)
    assert rc.bundles(copy.sid).fetch().status == "in-review"
    doc_sid = next(
        i.object_sid
        for i in rc.bundles(copy.sid).item_assignments.list()
        if i.object_sid.startswith("RD")
    )
    decided = sim.review(
        copy.sid,
        "reject",
        failure_reason="Blurry scan",
        documents={doc_sid: {"failure_reason": "Blurry scan"}},
    )
    assert decided["status"] == "twilio-rejected"
    assert rc.supporting_documents(doc_sid).fetch().failure_reason == "Blurry scan"
    again = requests.post(
        f"{sim.base_url}/_sim/bundles/{copy.sid}/review", json={"decision": "approve"}, timeout=10
    )
    assert again.status_code == 409


def test_an_approved_bundle_past_valid_until_turns_rejected(
    sim: Sim, callback_receiver: CallbackReceiver
) -> None:
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid, status_callback=callback_receiver.url)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    change = sim.change_regulation(valid_until=soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert change["affected_bundle_sids"] == [seeded["bundle_sid"]]
    sim.wait_for_status(seeded["bundle_sid"], "twilio-rejected", timeout=5)
    cb = callback_receiver.wait_for(lambda c: c.fields.get("status") == "twilio-rejected")
    assert cb.fields["valid_until"] == change["valid_until"]


def test_custom_regulation_change_adds_a_document_requirement(sim: Sim) -> None:
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid)
    change: dict[str, Any] = {
        "new_requirements": [
            {
                "requirement_name": "proof_of_vat",
                "requirement_friendly_name": "VAT registration",
                "name": "Business Registration",
                "accepted_types": ["business_registration"],
                "fields": [{"machine_name": "vat_number", "friendly_name": "VAT Number"}],
            }
        ]
    }
    result = sim.change_regulation(**change)
    assert result["affected_bundle_sids"] == [seeded["bundle_sid"]]
    rc = sim.client(account).numbers.v2.regulatory_compliance
    evaluation = rc.bundles(seeded["bundle_sid"]).evaluations.create()
    failed = [r for r in evaluation.results if not r["passed"]]
    assert [(r["requirement_name"], r["error_code"]) for r in failed] == [("proof_of_vat", 22216)]
    reg = rc.regulations(FRANCE_MOBILE_BUSINESS_SID).fetch(include_constraints=True)
    names = [g[0]["requirement_name"] for g in reg.requirements["supporting_document"]]
    assert "proof_of_vat" in names
    bad = requests.post(
        f"{sim.base_url}/_sim/regulations/{FRANCE_MOBILE_BUSINESS_SID}/change",
        json={"document_fields": {"nope": []}},
        timeout=10,
    )
    assert bad.status_code == 400


def test_supporting_document_upload_as_multipart_sets_mime_type(sim: Sim) -> None:
    account = sim.new_account()
    resp = requests.post(
        f"{sim.base_url}{RC}/SupportingDocuments",
        auth=(account.sid, account.auth_token),
        data={
            "FriendlyName": "K-bis",
            "Type": "commercial_registrar_excerpt",
            "Attributes": '{"business_name": "Exemple Telecom SAS"}',
        },
        files={"File": ("kbis.pdf", b"%PDF-1.4 fake", "application/pdf")},
        timeout=10,
    )
    assert resp.status_code == 201
    body = resp.json()
    assert body["mime_type"] == "application/pdf"
    assert body["attributes"] == {"business_name": "Exemple Telecom SAS"}
    exchange = Exchange(
        "POST",
        resp.url,
        [],
        [("FriendlyName", "K-bis"), ("Type", "commercial_registrar_excerpt")],
        201,
        resp.text,
    )
    assert SpecValidator.shared().check(exchange) == []


def test_spec_validator_catches_a_broken_response() -> None:
    body = '{"sid": "XX123", "status": "approved-ish"}'
    broken = Exchange(
        "GET",
        "https://numbers.twilio.com/v2/RegulatoryCompliance/Bundles/BU" + "a" * 32,
        [],
        None,
        200,
        body,
    )
    assert SpecValidator.shared().check(broken) != []
    bad_error = Exchange("GET", broken.url, [], None, 404, '{"message": "nope"}')
    assert SpecValidator.shared().check(bad_error) != []


def test_stats_count_requests_by_account_method_route_and_status(sim: Sim) -> None:
    account = sim.new_account()
    get(sim, account, f"{RC}/Regulations")
    get(sim, account, f"{RC}/Bundles/BU" + "0" * 32)
    rows = sim.stats()["requests"]
    assert {
        "account_sid": account.sid,
        "method": "GET",
        "route": f"{RC}/Regulations",
        "status": 200,
        "count": 1,
    } in rows
    assert {
        "account_sid": account.sid,
        "method": "GET",
        "route": f"{RC}/Bundles/{{Sid}}",
        "status": 404,
        "count": 1,
    } in rows
    requests.post(f"{sim.base_url}/_sim/reset", timeout=10)
    assert sim.stats()["total"] == 0
    assert sim.state()["accounts"] == []


def test_stats_count_the_reads_of_a_review_up_to_its_decision_as_polls(sim: Sim) -> None:
    account, other = sim.new_account(), sim.new_account()
    original = sim.seed_approved_bundle(account.sid)["bundle_sid"]
    sim.set_config(review={"mode": "manual", "in_review_after_seconds": 0})
    rc = sim.client(account).numbers.v2.regulatory_compliance
    copy = rc.bundles(original).bundle_copies.create()
    get(sim, account, f"{RC}/Bundles/{copy.sid}")  # draft: not submitted, not a poll
    rc.bundles(copy.sid).update(status="pending-review")
    get(sim, account, f"{RC}/Bundles/{copy.sid}")  # 1
    sim.wait_for_status(copy.sid, "in-review")
    get(sim, account, f"{RC}/Bundles/{original}/Copies")  # 2: the list shows the copy
    get(sim, account, f"{RC}/Bundles/{original}")  # the original: not a poll
    assert get(sim, other, f"{RC}/Bundles/{copy.sid}").status_code == 404  # not its bundle
    sim.review(copy.sid, "approve")
    get(sim, account, f"{RC}/Bundles/{copy.sid}")  # 3: shows the decision, ends the wait
    get(sim, account, f"{RC}/Bundles/{copy.sid}")  # after the decision was read: not a poll
    get(sim, account, f"{RC}/Bundles/{original}/Copies")
    assert sim.stats()["review_polls"] == {account.sid: 3}
    requests.post(f"{sim.base_url}/_sim/reset", timeout=10)
    assert sim.stats()["review_polls"] == {}


def test_end_users_and_documents_fetch_update_and_delete_alike(sim: Sim) -> None:
    """One set of handlers serves both kinds: attributes replace, an assigned object cannot be
    deleted, a deleted one is gone; only a rejected document goes back to draft on an edit."""
    account = sim.new_account()
    rc = sim.client(account).numbers.v2.regulatory_compliance
    original = sim.seed_approved_bundle(account.sid)["bundle_sid"]
    draft = rc.bundles(original).bundle_copies.create(friendly_name="draft").sid
    created = [
        (rc.end_users, rc.end_users.create(friendly_name="u", type="business").sid),
        (
            rc.supporting_documents,
            rc.supporting_documents.create(friendly_name="d", type="power_of_attorney").sid,
        ),
    ]
    document_sid = created[1][1]
    sim.store.accounts[account.sid].documents[document_sid].status = "rejected"
    for resource, sid in created:
        updated = resource(sid).update(friendly_name="renamed", attributes={"first_name": "A"})
        if sid == document_sid:
            assert sim.store.accounts[account.sid].documents[sid].status == "draft"
        assert (updated.friendly_name, updated.attributes) == ("renamed", {"first_name": "A"})
        fetched = resource(sid).fetch()
        assert (fetched.friendly_name, fetched.attributes) == ("renamed", {"first_name": "A"})
        item = rc.bundles(draft).item_assignments.create(object_sid=sid)
        with pytest.raises(TwilioRestException) as refused:
            resource(sid).delete()
        assert refused.value.status == 400
        rc.bundles(draft).item_assignments(item.sid).delete()
        assert resource(sid).delete() is True
        with pytest.raises(TwilioRestException) as gone:
            resource(sid).fetch()
        assert gone.value.status == 404
    assert document_sid not in {d.sid for d in rc.supporting_documents.list()}
