"""The compliance-update guide's whole sequence, run with the official twilio SDK (reusable).

The sequence: regulation change (callback with valid_until) -> list bundles with a valid_until
-> copy -> evaluate (noncompliant, exactly the new fields) -> list items, fetch and update the
copy's end-user and document -> evaluate (compliant) -> submit -> twilio-approved (signed
callback) -> ReplaceItems -> original's valid_until is null, its phone numbers unchanged ->
delete the copy. Used by the simulator test (sync and async) and by the Prism contract test.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sim_fixtures import CallbackReceiver, ReceivedCallback, Sim, SimAccount

EVALUATION_KEYS = {
    "friendly_name",
    "object_type",
    "passed",
    "failure_reason",
    "error_code",
    "valid",
    "invalid",
    "requirement_friendly_name",
    "requirement_name",
}
FIELD_KEYS = {"friendly_name", "object_field", "failure_reason", "error_code"}


class Sdk:
    """Calls SDK methods the sync way (in a worker thread) or the async way (``*_async``)."""

    def __init__(self, client: Client, is_async: bool) -> None:
        self.client = client
        self.is_async = is_async

    async def __call__(self, target: Any, method: str, **kwargs: Any) -> Any:
        if self.is_async:
            return await getattr(target, f"{method}_async")(**kwargs)
        return await asyncio.to_thread(getattr(target, method), **kwargs)


async def wait_callback(
    receiver: CallbackReceiver,
    bundle_sid: str,
    status: str,
    without: str | None = None,
    **fields: Any,
) -> ReceivedCallback:
    """The first callback for bundle_sid with that status (and without the field ``without``)."""

    def match(cb: ReceivedCallback) -> bool:
        if cb.fields.get("bundle_sid") != bundle_sid or cb.fields.get("status") != status:
            return False
        if without is not None and without in cb.fields:
            return False
        return all(cb.fields.get(k) == v for k, v in fields.items())

    return await asyncio.to_thread(receiver.wait_for, match)


async def run_renewal_sequence(
    sim: Sim, receiver: CallbackReceiver, account: SimAccount, client: Client, is_async: bool
) -> None:
    """Seed an approved bundle, change its regulation, and renew it through ``client``."""
    seeded = sim.seed_approved_bundle(account.sid, phone_numbers=3, status_callback=receiver.url)
    original = seeded["bundle_sid"]
    call = Sdk(client, is_async)
    rc = client.numbers.v2.regulatory_compliance
    # A regulation change sets valid_until and fires a signed callback.
    change = sim.change_regulation()
    assert change["affected_bundle_sids"] == [original]
    cb = await wait_callback(
        receiver, original, "twilio-approved", valid_until=change["valid_until"]
    )
    assert cb.fields["account_sid"] == account.sid
    assert cb.verified(account.auth_token)

    # 1. Find the bundles due for renewal.
    horizon = datetime.now(UTC) + timedelta(days=365)
    due = await call(
        rc.bundles,
        "list",
        has_valid_until_date=True,
        sort_by="valid-until",
        sort_direction="DESC",
        valid_until_date_before=horizon,
        limit=20,
    )
    assert [b.sid for b in due] == [original]
    assert due[0].valid_until is not None

    # 2. Copy it.
    copy = await call(rc.bundles(original).bundle_copies, "create", friendly_name="renewal")
    assert copy.status == "draft"
    assert copy.sid != original
    copies = await call(rc.bundles(original).bundle_copies, "list")
    assert [c.sid for c in copies] == [copy.sid]

    # 3. Evaluate: noncompliant, exactly the fields the change added.
    evaluation = await call(rc.bundles(copy.sid).evaluations, "create")
    assert evaluation.status == "noncompliant"
    missing = {r["requirement_name"]: [i["object_field"] for i in r["invalid"]]
               for r in evaluation.results if not r["passed"]}  # fmt: skip
    assert missing == {
        "business_info": ["business_registration_authority"],
        "business_name_info": ["issue_date"],
    }
    for result in evaluation.results:
        assert set(result) == EVALUATION_KEYS
        for entry in result["valid"] + result["invalid"]:
            assert set(entry) == FIELD_KEYS
    fetched = await call(rc.bundles(copy.sid).evaluations(evaluation.sid), "fetch")
    assert fetched.results == evaluation.results

    # 4. The copy's items are new instances; update the end-user and the document.
    items = await call(rc.bundles(copy.sid).item_assignments, "list")
    object_sids = {i.object_sid for i in items}
    assert len(items) == 4
    assert object_sids.isdisjoint({seeded["end_user_sid"], *seeded["supporting_document_sids"]})
    for item in items:
        if item.object_sid.startswith("IT"):
            user = await call(rc.end_users(item.object_sid), "fetch")
            attrs = {**user.attributes, "business_registration_authority": "RCS Paris"}
            updated = await call(rc.end_users(user.sid), "update", attributes=attrs)
            assert updated.attributes == attrs
        else:
            doc = await call(rc.supporting_documents(item.object_sid), "fetch")
            if doc.type == "commercial_registrar_excerpt":
                attrs = {**doc.attributes, "issue_date": "2025-03-01"}
                await call(rc.supporting_documents(doc.sid), "update", attributes=attrs)

    # 5. Evaluate again: compliant.
    evaluation = await call(rc.bundles(copy.sid).evaluations, "create")
    assert evaluation.status == "compliant"
    assert len(await call(rc.bundles(copy.sid).evaluations, "list")) == 2

    # 6. Submit; the simulator reviews and approves; the callback is signed.
    submitted = await call(rc.bundles(copy.sid), "update", status="pending-review")
    assert submitted.status == "pending-review"
    cb = await wait_callback(receiver, copy.sid, "twilio-approved")
    assert cb.verified(account.auth_token)
    assert (await call(rc.bundles(copy.sid), "fetch")).status == "twilio-approved"

    # 7. Replace the original's items with the copy's.
    replaced = await call(rc.bundles(original).replace_items, "create", from_bundle_sid=copy.sid)
    assert replaced.sid == original
    assert replaced.valid_until is None
    fetched_original = await call(rc.bundles(original), "fetch")
    assert fetched_original.valid_until is None
    assert fetched_original.status == "twilio-approved"
    original_items = await call(rc.bundles(original).item_assignments, "list")
    assert {i.object_sid for i in original_items} == object_sids
    assert await call(rc.bundles(copy.sid).item_assignments, "list") == []
    assert sim.admin.bundle(original)["phone_number_sids"] == seeded["phone_number_sids"]
    cleared = await wait_callback(receiver, original, "twilio-approved", without="valid_until")
    assert cleared.verified(account.auth_token)

    # 8. Delete the copy.
    assert await call(rc.bundles(copy.sid), "delete") is True
    with pytest.raises(TwilioRestException) as gone:
        await call(rc.bundles(copy.sid), "fetch")
    assert (gone.value.status, gone.value.code) == (404, 20404)
    assert await call(rc.bundles(original).bundle_copies, "list") == []
