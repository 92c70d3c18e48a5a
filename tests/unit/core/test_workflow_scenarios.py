"""Whole renewals through the operator's reconcile loop (the workflow, the gatherer and the action
runner) against the in-memory Twilio behind the gateway port: the seed's happy path, NeedsInput,
rejection and resubmission, a crash after every write, deletion, and privacy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controller.core.bundle_owners import BundleOwner
from controller.core.models import BundleRenewalStatus, CreatedDocument, Phase
from controller.core.plan import (
    CreateDocument,
    Decision,
    DeleteCopy,
    DeleteDocument,
    ErrorKind,
    ReplaceItems,
    Submit,
)
from controller.core.settings import OperatorSettings
from controller.core.twilio_models import BundleStatus, EndUser, SupportingDocument
from controller.operator.runtime import Runtime
from tests.fakes.fake_twilio import (
    T0,
    Crash,
    FakeTwilio,
    RenewalResource,
    reconcile,
    resource,
    with_spec,
)

POA_FILE = {
    "secretKeyRef": {"name": "poa", "key": "poa.pdf"},
    "contentType": "application/pdf",
    "filename": "poa.pdf",
}


def seed_spec(**values: str) -> dict[str, Any]:
    """The spec that makes the seed's bundle compliant (values overridable to plant sentinels)."""
    v = {
        "business": "ACME SAS",
        "first": "Jane",
        "last": "Doe",
        "number": "K-552100554",
        **values,
    }
    return {
        "endUser": {"attributes": {"business_name": v["business"], "first_name": v["first"]}},
        "supportingDocuments": [
            {
                "type": "commercial_registrar_excerpt",
                "attributes": {"document_number": v["number"]},
            },
            {
                "type": "government_issued_document",
                "match": {"friendlyName": "id-rep"},
                "attributes": {"last_name": v["last"]},
            },
            {
                "type": "government_issued_document",
                "match": {"friendlyName": "id-poa"},
                "attributes": {"last_name": v["last"]},
            },
            {"type": "power_of_attorney", "attributes": {}, "file": POA_FILE},
        ],
    }


def complete(res: RenewalResource, twilio: FakeTwilio, *, approve: bool = True) -> RenewalResource:
    """Reconcile, let Twilio review, reconcile again after the poll delay."""
    run = reconcile(res, twilio, T0)
    assert run.resource.status.phase == Phase.IN_REVIEW, run.resource.status.message
    twilio.review(approve=approve)
    return reconcile(run.resource, twilio, T0 + timedelta(minutes=5)).resource


def test_seed_happy_path_renews_the_original_in_place() -> None:
    twilio = FakeTwilio.seed()
    numbers_before = twilio.original.sid
    res = resource(seed_spec(), twilio)

    first = reconcile(res, twilio, T0)
    assert first.resource.status.phase == Phase.IN_REVIEW
    assert first.last.requeue_after == pytest.approx(30.0)
    twilio.review(approve=True)
    done = reconcile(first.resource, twilio, T0 + timedelta(minutes=5))

    status = done.resource.status
    assert status.phase == Phase.COMPLETED
    assert [(c.type, c.status) for c in status.conditions] == [
        ("Ready", "True"),
        ("Reconciling", "False"),
        ("Stalled", "False"),
        ("Renewing", "False"),
    ]
    assert status.applied_generation == 1
    assert status.copy_sid is None
    assert status.completed_at == T0 + timedelta(minutes=5)
    assert twilio.original.valid_until is None
    assert twilio.original.sid == numbers_before
    assert twilio.live_copies() == []
    objects = twilio.objects_of(twilio.original_sid)
    end_user = next(o for o in objects if isinstance(o, EndUser))
    assert end_user.attributes == {"business_name": "ACME SAS", "first_name": "Jane"}
    docs = {d.friendly_name: d for d in objects if isinstance(d, SupportingDocument)}
    assert docs["kbis"].attributes["document_number"] == "K-552100554"
    assert docs["id-rep"].attributes == {"first_name": "Old", "last_name": "Doe"}
    assert any(d.type == "power_of_attorney" for d in docs.values())
    assert status.applied is not None
    assert status.applied.end_user_fields == ["business_name", "first_name"]
    assert [(d.key, d.action) for d in status.applied.documents] == [
        ("commercial_registrar_excerpt", "updated"),
        ("government_issued_document.1", "updated"),
        ("government_issued_document.2", "updated"),
        ("power_of_attorney", "created"),
    ]


def test_happy_path_api_economy() -> None:
    """Writes are exactly what the seed's sequence needs; reads are one request per part needed
    (one per document for the copy's documents)."""
    twilio = FakeTwilio.seed()
    complete(resource(seed_spec(), twilio), twilio)
    writes = {k: v for k, v in twilio.calls.items() if not k.startswith("read:")}
    assert writes == {
        "create_bundle_copy": 1,
        "update_end_user": 1,
        "update_supporting_document": 3,
        "create_supporting_document": 1,
        "create_item_assignment": 1,
        "create_evaluation": 1,
        "submit_bundle": 1,
        "replace_items": 1,
        "delete_bundle": 1,
    }
    reads = {k: v for k, v in twilio.calls.items() if k.startswith("read:")}
    assert reads == {
        # The original: first reconcile, once approved (ReplaceItems' answer shows valid_until
        # cleared: no third read).
        "read:fetch_bundle": 2,
        "read:list_bundle_copies": 2,  # find/create the copy; poll while in review
        # The copy's items: edit; check the approved copy still holds its items.
        "read:list_item_assignments": 2,
        "read:fetch_end_user": 1,  # the copy's end-user
        "read:fetch_supporting_document": 3,  # the copy's three documents, one GET each
        # No listing of the account's documents: status.createdDocuments says none was created
        # before this one, so there is no stray to look for.
    }


def test_happy_path_cluster_writes() -> None:
    """Status is written where a restart could not learn it from Twilio (the renewal's start,
    before creating a document) and when the reconcile ends (waiting for review, completed); an
    event when it starts, is submitted and completes (the approval is in the last one's message).
    Was 13 + 4 status writes and 13 events for this renewal."""
    twilio = FakeTwilio.seed()
    first = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.review(approve=True)
    done = reconcile(first.resource, twilio, T0 + timedelta(minutes=5))
    assert done.resource.status.phase == Phase.COMPLETED
    assert [s.phase for s in first.statuses] == [
        Phase.IN_PROGRESS,
        Phase.IN_PROGRESS,
        Phase.IN_REVIEW,
    ]
    assert first.statuses[0].copy_sid is None  # before the copy is made
    assert first.statuses[1].created_documents == [CreatedDocument(key="power_of_attorney")]
    assert [s.phase for s in done.statuses] == [Phase.COMPLETED]
    assert [e.reason for e in first.events + done.events] == [
        "RenewalDue",
        "InReview",
        "Completed",
    ]
    assert "approved by Twilio" in done.events[-1].message


def test_up_to_date_resource_costs_one_get_per_check() -> None:
    twilio = FakeTwilio.seed()
    res = complete(resource(seed_spec(), twilio), twilio)
    twilio.calls.clear()
    check = reconcile(res, twilio, T0 + timedelta(hours=2))
    assert dict(twilio.calls) == {"read:fetch_bundle": 1}
    assert check.last.action is None
    assert check.last.requeue_after == 3600.0
    assert check.resource.status.phase == Phase.COMPLETED


def test_needs_input_lists_exact_fields_then_spec_fix_completes() -> None:
    twilio = FakeTwilio.seed()
    spec = seed_spec()
    del spec["supportingDocuments"][0]["attributes"]["document_number"]
    spec["endUser"]["attributes"].pop("first_name")
    run = reconcile(resource(spec, twilio), twilio, T0)

    status = run.resource.status
    assert status.phase == Phase.NEEDS_INPUT
    assert status.evaluation is not None
    assert [(f.requirement_name, f.field, f.error_code) for f in status.evaluation.failures] == [
        ("business_info", "first_name", 22217),
        ("business_reg_no_info", "document_number", 22217),
    ]
    assert "business_info.first_name (22217)" in (status.message or "")
    assert twilio.calls["submit_bundle"] == 0
    assert run.last.event is not None
    assert run.last.event.type == "Warning"
    stalled = [c for c in status.conditions if c.type == "Stalled"]
    assert stalled[0].status == "True"
    assert stalled[0].reason == "NeedsInput"

    fixed = with_spec(run.resource, seed_spec())
    done = complete(fixed, twilio)
    assert done.status.phase == Phase.COMPLETED
    assert done.status.applied_generation == 2
    assert twilio.calls["create_bundle_copy"] == 1  # the same copy was patched


def test_rejected_waits_for_spec_change_then_resubmits_same_copy() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    copy_sid = run.resource.status.copy_sid
    twilio.review(approve=False, reasons={"commercial_registrar_excerpt": "Document is blurry"})
    rejected = reconcile(run.resource, twilio, T0 + timedelta(minutes=5))

    status = rejected.resource.status
    assert status.phase == Phase.REJECTED
    assert status.review is not None
    assert [(f.type, f.failure_reason) for f in status.review.failure_reasons] == [
        ("commercial_registrar_excerpt", "Document is blurry")
    ]
    assert rejected.last.event is not None
    assert "Document is blurry" in rejected.last.event.message

    # No spec change: nothing is resubmitted, however often it reconciles.
    again = reconcile(rejected.resource, twilio, T0 + timedelta(hours=2))
    assert again.resource.status.phase == Phase.REJECTED
    assert twilio.calls["submit_bundle"] == 1
    assert again.last.event is None  # no event storm while waiting

    fixed = with_spec(again.resource, seed_spec(number="K-552100555"))
    resubmitted = reconcile(fixed, twilio, T0 + timedelta(hours=3))
    assert resubmitted.resource.status.phase == Phase.IN_REVIEW
    assert resubmitted.resource.status.copy_sid == copy_sid
    assert twilio.calls["submit_bundle"] == 2
    assert twilio.calls["create_bundle_copy"] == 1
    twilio.review(approve=True)
    done = reconcile(resubmitted.resource, twilio, T0 + timedelta(hours=4))
    assert done.resource.status.phase == Phase.COMPLETED
    assert done.resource.status.applied_generation == 2


def test_a_crash_right_after_patching_a_rejected_copy_still_resubmits_it() -> None:
    """The record that the rejected copy was changed for the new spec is written before the
    patch: else, restarted, the operator finds the copy matching the spec, takes it for a
    rejected copy no change alters, and never resubmits it (found by the chaos suite)."""
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.review(approve=False, reasons={"commercial_registrar_excerpt": "Document is blurry"})
    rejected = reconcile(run.resource, twilio, T0 + timedelta(minutes=5))
    assert rejected.resource.status.phase == Phase.REJECTED
    fixed = with_spec(rejected.resource, seed_spec(number="K-552100555"))
    with pytest.raises(Crash) as crash:
        reconcile(
            fixed, twilio, T0 + timedelta(hours=1), crash_after_write=twilio.write_count() + 1
        )
    assert twilio.calls["update_supporting_document"] == 4  # the patch landed
    restarted = reconcile(crash.value.resource, twilio, T0 + timedelta(hours=1, minutes=1))
    assert restarted.resource.status.phase == Phase.IN_REVIEW
    assert twilio.calls["submit_bundle"] == 2
    assert twilio.calls["create_bundle_copy"] == 1


def test_spec_change_after_completed_starts_a_new_renewal() -> None:
    twilio = FakeTwilio.seed()
    res = complete(resource(seed_spec(), twilio), twilio)
    changed = with_spec(res, seed_spec(number="K-1"))
    run = reconcile(changed, twilio, T0 + timedelta(days=1))
    assert run.resource.status.phase == Phase.IN_REVIEW
    assert twilio.calls["create_bundle_copy"] == 2


def test_valid_until_appearing_on_original_makes_a_renewal_due() -> None:
    twilio = FakeTwilio.seed()
    res = complete(resource(seed_spec(), twilio), twilio)
    twilio.bundles[twilio.original_sid] = twilio.original.model_copy(
        update={"valid_until": T0 + timedelta(days=90)}
    )
    run = reconcile(res, twilio, T0 + timedelta(days=1))
    first = next(d.event for d in run.decisions if d.event is not None)
    assert "valid until" in first.message
    assert run.resource.status.phase == Phase.IN_REVIEW


def test_explicit_renewal_request() -> None:
    twilio = FakeTwilio.seed(valid_until=None)
    res = complete(resource(seed_spec(), twilio), twilio)
    requested = with_spec(res, {**seed_spec(), "renewalRequest": "ticket-42"})
    run = reconcile(requested, twilio, T0 + timedelta(days=1))
    assert run.resource.status.phase == Phase.IN_REVIEW
    assert run.resource.status.last_renewal_request == "ticket-42"


def test_suspend_makes_no_call() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource({**seed_spec(), "suspend": True}, twilio), twilio, T0)
    assert dict(twilio.calls) == {}
    assert run.resource.status.phase == Phase.SUSPENDED
    assert run.last.requeue_after is None


def test_renewal_without_end_user_or_documents_resubmits_current_information() -> None:
    twilio = FakeTwilio.seed()
    twilio.requirements = twilio.requirements[:1]
    twilio.end_users = {
        k: v.model_copy(update={"attributes": {"business_name": "A", "first_name": "B"}})
        for k, v in twilio.end_users.items()
    }
    done = complete(resource({}, twilio), twilio)
    assert done.status.phase == Phase.COMPLETED
    assert {k for k in twilio.calls if not k.startswith("read:")} == {
        "create_bundle_copy",
        "create_evaluation",
        "submit_bundle",
        "replace_items",
        "delete_bundle",
    }


def test_renewal_without_input_reports_what_the_regulation_now_asks() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource({}, twilio), twilio, T0)
    assert run.resource.status.phase == Phase.NEEDS_INPUT
    assert run.resource.status.evaluation is not None
    fields = {(f.requirement_name, f.field) for f in run.resource.status.evaluation.failures}
    assert ("power_of_attorney_info", None) in fields


def _write_count() -> int:
    twilio = FakeTwilio.seed()
    complete(resource(seed_spec(), twilio), twilio)
    return sum(v for k, v in twilio.calls.items() if not k.startswith("read:"))


@pytest.mark.parametrize("crash_after", range(1, _write_count() + 1))
def test_crash_after_each_write_then_restart_completes_once(crash_after: int) -> None:
    twilio = FakeTwilio.seed()
    res = resource(seed_spec(), twilio)
    now = T0
    crashed = False
    for _ in range(6):
        try:
            run = reconcile(res, twilio, now, crash_after_write=None if crashed else crash_after)
        except Crash as crash:
            crashed = True
            res = crash.resource
            continue
        res = run.resource
        if res.status.phase == Phase.COMPLETED:
            break
        twilio.review(approve=True)
        now += timedelta(minutes=5)
    assert crashed
    assert res.status.phase == Phase.COMPLETED
    assert twilio.calls["create_bundle_copy"] == 1
    assert twilio.calls["submit_bundle"] == 1
    assert twilio.calls["replace_items"] == 1
    assert twilio.calls["create_supporting_document"] == 1
    assert twilio.live_copies() == []
    assert twilio.original.valid_until is None
    # Nothing orphaned: every document the renewal created ended up in the original.
    created = [d for d in twilio.documents.values() if d.type == "power_of_attorney"]
    assert [d.sid for d in created] == [
        o.sid for o in twilio.objects_of(twilio.original_sid) if o.type == "power_of_attorney"
    ]


def test_deletion_mid_flight_deletes_copy_and_keeps_original() -> None:
    """Twilio does not delete a bundle under review: the clean-up waits for the review to end,
    then deletes the copy and the document it created (no bundle holds it once the copy is
    gone), and leaves the original alone."""
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    original_before = twilio.original
    items_before = list(twilio.items[twilio.original_sid])
    waiting = reconcile(run.resource, twilio, T0, cleanup=True)
    assert waiting.error is ErrorKind.TRANSIENT
    assert "review" in (waiting.resource.status.message or "")
    assert waiting.last.requeue_after
    assert len(twilio.live_copies()) == 1
    twilio.review(approve=True)  # an approved copy is deleted too, never moved into the original
    twilio.calls.clear()
    cleanup = reconcile(waiting.resource, twilio, T0 + timedelta(minutes=5), cleanup=True)
    # The created document is found by the SID status recorded, not by listing the account.
    assert "read:list_supporting_documents" not in twilio.calls
    assert [
        type(d.action) for d in cleanup.decisions if d.action and d.action.kind != "Observe"
    ] == [DeleteCopy, DeleteDocument]
    assert not [d for d in twilio.documents.values() if d.type == "power_of_attorney"]
    assert twilio.live_copies() == []
    assert twilio.original == original_before
    assert twilio.items[twilio.original_sid] == items_before
    assert cleanup.last.action is None


def test_deletion_without_a_copy_does_nothing() -> None:
    twilio = FakeTwilio.seed()
    res = complete(resource(seed_spec(), twilio), twilio)
    twilio.calls.clear()
    cleanup = reconcile(res, twilio, T0, cleanup=True)
    # One read: the Copies list. The document it created is in the original (status says so),
    # so no listing of the account's documents (which once made deleting a fleet quadratic).
    assert dict(twilio.calls) == {"read:list_bundle_copies": 1}
    assert cleanup.last.action is None
    assert twilio.original.valid_until is None


def test_deletion_after_a_crash_between_create_and_assign_deletes_the_stray_document() -> None:
    """A document created but never assigned (crash in between) carries personal data and a
    file: deleting the resource deletes it too, and nothing any bundle holds."""
    for crash_after in range(1, _write_count() + 1):
        twilio = FakeTwilio.seed()
        res = resource(seed_spec(), twilio)
        with pytest.raises(Crash) as crash:
            reconcile(res, twilio, T0, crash_after_write=crash_after)
        if (
            twilio.calls["create_supporting_document"] == 1
            and twilio.calls["create_item_assignment"] == 0
        ):
            res = crash.value.resource
            break
    else:
        pytest.fail("no crash point between CreateDocument and AssignItem")
    stray = [d.sid for d in twilio.documents.values() if d.sid not in twilio.assigned_anywhere()]
    assert len(stray) == 1
    held_before = twilio.assigned_anywhere() & set(twilio.documents)
    original_items_before = list(twilio.items[twilio.original_sid])

    cleanup = reconcile(res, twilio, T0, cleanup=True)

    written = [type(d.action) for d in cleanup.decisions if d.action and d.action.kind != "Observe"]
    assert written == [DeleteCopy, DeleteDocument]
    assert stray[0] not in twilio.documents
    assert twilio.live_copies() == []
    assert twilio.items[twilio.original_sid] == original_items_before
    original_documents = {i.object_sid for i in original_items_before}
    assert original_documents & held_before <= set(twilio.documents)
    assert cleanup.last.action is None


def test_no_pii_in_status_events_or_action_descriptions() -> None:
    """A spec full of sentinel values, through every path (NeedsInput, rejection, completion,
    errors), leaves no value in status, events or action descriptions."""
    sentinels = {
        "business": "SENTINEL-business",
        "first": "SENTINEL-first",
        "last": "SENTINEL-last",
        "number": "SENTINEL-number",
    }
    twilio = FakeTwilio.seed()
    decisions: list[Decision] = []
    spec = seed_spec(**sentinels)
    missing = seed_spec(**sentinels)
    del missing["supportingDocuments"][0]["attributes"]["document_number"]
    res = reconcile(resource(missing, twilio), twilio, T0, log=decisions).resource
    res = reconcile(with_spec(res, spec), twilio, T0, log=decisions).resource
    twilio.review(approve=False, reasons={"government_issued_document": "unreadable"})
    res = reconcile(res, twilio, T0 + timedelta(minutes=1), log=decisions).resource
    fixed = seed_spec(**{**sentinels, "first": "SENTINEL-first-fixed"})
    fixed_res = with_spec(res, fixed)
    res = reconcile(fixed_res, twilio, T0 + timedelta(minutes=2), log=decisions).resource
    twilio.review(approve=True)
    res = reconcile(res, twilio, T0 + timedelta(minutes=3), log=decisions).resource
    assert res.status.phase == Phase.COMPLETED
    texts = [d.status.model_dump_json() for d in decisions]
    texts += [d.event.model_dump_json() for d in decisions if d.event]
    texts += [d.action.describe() + repr(d.action) for d in decisions if d.action]
    for text in texts:
        for value in sentinels.values():
            assert value not in text


def test_every_decision_keeps_the_safety_invariants_in_scenarios() -> None:
    """Across a full run: the original is only ever the ReplaceItems destination, ReplaceItems
    only follows an approval, DeleteCopy never names the original."""
    twilio = FakeTwilio.seed()
    decisions: list[Decision] = []
    res = reconcile(resource(seed_spec(), twilio), twilio, T0, log=decisions).resource
    twilio.review(approve=True)
    reconcile(res, twilio, T0 + timedelta(minutes=5), log=decisions)
    original = twilio.original_sid
    for decision in decisions:
        action = decision.action
        if isinstance(action, (ReplaceItems, DeleteCopy)):
            assert action.copy_sid != original
        elif isinstance(action, Submit):
            assert action.bundle_sid != original
        elif isinstance(action, CreateDocument):
            assert "SENTINEL" not in action.describe()
        elif action is not None and action.kind != "Observe" and action.kind != "CreateCopy":
            assert original not in action.model_dump_json()


def test_copy_status_seen_during_review_poll_only() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.calls.clear()
    poll = reconcile(run.resource, twilio, T0 + timedelta(minutes=10))
    assert dict(twilio.calls) == {"read:list_bundle_copies": 1}
    assert poll.last.requeue_after == pytest.approx(150.0)  # a quarter of the 10 minutes waited
    long_wait = reconcile(poll.resource, twilio, T0 + timedelta(days=1))
    assert long_wait.last.requeue_after == 1800.0
    assert twilio.live_copies()[0].status == BundleStatus.PENDING_REVIEW


# What starts a renewal, and what does not -------------------------------------------------


def _writes(twilio: FakeTwilio) -> int:
    return twilio.write_count()


def test_suspend_toggle_after_completion_makes_no_copy() -> None:
    twilio = FakeTwilio.seed()
    done = complete(resource(seed_spec(), twilio), twilio)
    writes = _writes(twilio)
    suspended = reconcile(with_spec(done, {**seed_spec(), "suspend": True}), twilio, T0)
    assert suspended.resource.status.phase == Phase.SUSPENDED
    resumed = reconcile(with_spec(suspended.resource, seed_spec()), twilio, T0)
    status = resumed.resource.status
    assert (status.phase, status.applied_generation) == (Phase.COMPLETED, 3)
    assert _writes(twilio) == writes
    assert twilio.calls["create_bundle_copy"] == 1
    # Compared once; afterwards the light check is one GET again.
    twilio.calls.clear()
    reconcile(resumed.resource, twilio, T0 + timedelta(hours=1))
    assert dict(twilio.calls) == {"read:fetch_bundle": 1}


def test_credentials_secret_rename_makes_no_copy() -> None:
    twilio = FakeTwilio.seed()
    done = complete(resource(seed_spec(), twilio), twilio)
    writes = _writes(twilio)
    renamed = {**seed_spec(), "credentialsSecretRef": {"name": "rotated"}}
    run = reconcile(with_spec(done, renamed), twilio, T0 + timedelta(days=1))
    assert run.resource.status.phase == Phase.COMPLETED
    assert _writes(twilio) == writes


def test_new_resource_for_a_bundle_that_carries_its_spec_is_up_to_date() -> None:
    twilio = FakeTwilio.seed()
    complete(resource(seed_spec(), twilio), twilio)
    writes = _writes(twilio)
    newcomer = resource(seed_spec(), twilio).model_copy(
        update={"uid": "5a1e4c0d-0000-4000-8000-000000000001"}
    )
    run = reconcile(newcomer, twilio, T0 + timedelta(days=1))
    assert run.resource.status.phase == Phase.COMPLETED
    assert run.resource.status.applied_generation == 1
    assert _writes(twilio) == writes


def test_spec_change_that_alters_the_bundle_renews_only_that() -> None:
    twilio = FakeTwilio.seed()
    done = complete(resource(seed_spec(), twilio), twilio)
    run = reconcile(with_spec(done, seed_spec(last="Smith")), twilio, T0 + timedelta(days=1))
    assert run.resource.status.phase == Phase.IN_REVIEW
    assert run.decisions[0].status.phase == Phase.COMPLETED  # nothing decided before reading
    created = next(
        d for d in run.decisions if d.action is not None and d.action.kind == "CreateCopy"
    )
    assert "government_issued_document.1.last_name" in created.status.message
    assert "Smith" not in created.status.message
    assert twilio.calls["update_supporting_document"] == 3 + 2  # the two ID documents, nothing else


def test_valid_until_kept_by_replace_items_stalls_instead_of_looping() -> None:
    twilio = FakeTwilio.seed()
    twilio.keep_valid_until_on_replace = True
    valid_until = twilio.original.valid_until
    done = complete(resource(seed_spec(), twilio), twilio)
    status = done.status
    assert status.phase == Phase.FAILED
    assert status.valid_until_not_cleared == valid_until
    assert twilio.live_copies() == []  # the emptied copy is still cleaned up
    stalled = next(c for c in status.conditions if c.type == "Stalled")
    assert (stalled.status, stalled.reason) == ("True", "ValidUntilNotCleared")
    res = done
    for hours in (1, 2, 3):
        res = reconcile(res, twilio, T0 + timedelta(hours=hours)).resource
    assert twilio.calls["create_bundle_copy"] == 1
    assert twilio.calls["submit_bundle"] == 1
    assert res.status.phase == Phase.FAILED
    # A later valid_until (a new regulation change) starts the next renewal.
    assert valid_until is not None
    twilio.bundles[twilio.original_sid] = twilio.original.model_copy(
        update={"valid_until": valid_until + timedelta(days=60)}
    )
    again = reconcile(res, twilio, T0 + timedelta(hours=4))
    assert again.resource.status.phase == Phase.IN_REVIEW
    assert twilio.calls["create_bundle_copy"] == 2


def test_crash_right_after_replace_items_that_kept_valid_until_still_stalls() -> None:
    twilio = FakeTwilio.seed()
    twilio.keep_valid_until_on_replace = True
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.review(approve=True)
    writes = twilio.write_count()
    try:
        reconcile(run.resource, twilio, T0 + timedelta(minutes=5), crash_after_write=writes + 1)
    except Crash as crash:
        res = crash.resource
    else:
        raise AssertionError("no crash")
    assert twilio.calls["replace_items"] == 1
    after = reconcile(res, twilio, T0 + timedelta(minutes=6)).resource
    assert after.status.phase == Phase.FAILED
    assert twilio.live_copies() == []
    assert twilio.calls["create_bundle_copy"] == 1


def test_two_resources_on_one_bundle_never_both_renew() -> None:
    twilio = FakeTwilio.seed()
    first = reconcile(resource(seed_spec(), twilio), twilio, T0).resource
    other = resource(seed_spec(), twilio).model_copy(
        update={"uid": "5a1e4c0d-0000-4000-8000-000000000002", "namespace": "other"}
    )
    claimed = reconcile(other, twilio, T0).resource
    assert claimed.status.phase == Phase.FAILED
    assert first.status.copy_sid is not None
    assert first.status.copy_sid in (claimed.status.message or "")
    assert twilio.calls["create_bundle_copy"] == 1
    twilio.review(approve=True)
    done = reconcile(first, twilio, T0 + timedelta(minutes=5)).resource
    assert done.status.phase == Phase.COMPLETED
    # The first renewal did the work: the second finds the bundle carrying its spec.
    later = reconcile(claimed, twilio, T0 + timedelta(hours=1)).resource
    assert later.status.phase == Phase.COMPLETED
    assert twilio.calls["create_bundle_copy"] == 1
    assert twilio.calls["replace_items"] == 1


def test_needs_input_recheck_makes_no_new_evaluation() -> None:
    twilio = FakeTwilio.seed()
    spec = seed_spec()
    spec["endUser"]["attributes"].pop("first_name")
    run = reconcile(resource(spec, twilio), twilio, T0)
    assert run.resource.status.phase == Phase.NEEDS_INPUT
    res = run.resource
    for hours in (1, 2):
        res = reconcile(res, twilio, T0 + timedelta(hours=hours)).resource
    assert res.status.phase == Phase.NEEDS_INPUT
    assert twilio.calls["create_evaluation"] == 1
    # The regulation changed (a new valid_until): evaluate again.
    twilio.bundles[twilio.original_sid] = twilio.original.model_copy(
        update={"valid_until": T0 + timedelta(days=90)}
    )
    reconcile(res, twilio, T0 + timedelta(hours=3))
    assert twilio.calls["create_evaluation"] == 2


def test_rejected_then_suspend_toggle_does_not_resubmit() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.review(approve=False, reasons={"commercial_registrar_excerpt": "blurry"})
    rejected = reconcile(run.resource, twilio, T0 + timedelta(minutes=5)).resource
    suspended = reconcile(with_spec(rejected, {**seed_spec(), "suspend": True}), twilio, T0)
    resumed = reconcile(with_spec(suspended.resource, seed_spec()), twilio, T0).resource
    assert resumed.status.phase == Phase.REJECTED
    assert twilio.calls["submit_bundle"] == 1
    assert twilio.calls["create_evaluation"] == 1
    retry = with_spec(resumed, {**seed_spec(), "renewalRequest": "retry-1"})
    assert reconcile(retry, twilio, T0).resource.status.phase == Phase.IN_REVIEW
    assert twilio.calls["submit_bundle"] == 2


def test_every_status_of_a_renewal_round_trips_through_the_runtime() -> None:
    """The runtime keeps the status last written as JSON (memory): each status a renewal goes
    through, rejected and resubmitted included, comes back from it equal."""
    twilio = FakeTwilio.seed()
    decisions: list[Decision] = []
    run = reconcile(resource(seed_spec(), twilio), twilio, T0, log=decisions)
    twilio.review(approve=False, reasons={"commercial_registrar_excerpt": "Document is blurry"})
    rejected = reconcile(run.resource, twilio, T0 + timedelta(minutes=5), log=decisions)
    fixed = with_spec(rejected.resource, seed_spec(number="K-552100555"))
    resubmitted = reconcile(fixed, twilio, T0 + timedelta(hours=3), log=decisions)
    twilio.review(approve=True)
    done = reconcile(resubmitted.resource, twilio, T0 + timedelta(hours=4), log=decisions)
    assert done.resource.status.phase == Phase.COMPLETED

    runtime = Runtime(OperatorSettings())
    owner = BundleOwner("uid-1", "telecom", "acme", "twilio")
    statuses = [d.status for d in decisions]
    assert {s.phase for s in statuses} >= {Phase.IN_REVIEW, Phase.REJECTED, Phase.COMPLETED}
    previous = BundleRenewalStatus()
    for status in statuses:
        runtime.status_written(owner, None, previous, status)
        assert runtime.last_written("uid-1") == status
        previous = status
