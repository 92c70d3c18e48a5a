"""The in-memory Twilio the workflow scenarios run against: it answers the gateway port with
Twilio's errors, and it refuses, by itself, every write that would break a safety invariant
(whichever code path sends it), so a scenario cannot pass by writing to the original."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import pytest

from controller.adapters.twilio_gateway.port import TwilioNotFoundError, TwilioPermanentError
from controller.core.plan import (
    Decision,
    Observation,
    Policy,
    RenewalResource,
    UpdateEndUser,
    copy_marker,
    document_marker,
)
from controller.core.twilio_models import BundleStatus, EndUser
from controller.engine.observe import SupportingDocumentLister
from tests.fakes import fake_twilio
from tests.fakes.fake_twilio import (
    T0,
    UID,
    Crash,
    FakeTwilio,
    InvariantBroken,
    reconcile,
    resource,
)

R = TypeVar("R")
MISSING = "BU" + "f" * 32


def run(call: Awaitable[R]) -> R:
    async def wait() -> R:
        return await call

    return asyncio.run(wait())


def draft_copy(twilio: FakeTwilio) -> str:
    return run(twilio.create_bundle_copy(twilio.original_sid, copy_marker(UID))).sid


def original_end_user(twilio: FakeTwilio) -> str:
    return next(o.sid for o in twilio.objects_of(twilio.original_sid) if isinstance(o, EndUser))


def test_it_is_a_gateway_that_lists_documents() -> None:
    assert isinstance(FakeTwilio.seed(), SupportingDocumentLister)


def test_unknown_sids_answer_404() -> None:
    twilio = FakeTwilio.seed()
    for call in (
        twilio.fetch_bundle(MISSING),
        twilio.list_bundle_copies(MISSING),
        twilio.list_item_assignments(MISSING),
        twilio.fetch_end_user("IT" + "f" * 32),
        twilio.fetch_supporting_document("RD" + "f" * 32),
        twilio.delete_bundle(MISSING),
        twilio.delete_supporting_document("RD" + "f" * 32),
    ):
        with pytest.raises(TwilioNotFoundError) as raised:
            run(call)
        assert (raised.value.status, raised.value.code) == (404, 20404)
    assert twilio.broken == []


def test_a_bundle_under_review_cannot_be_deleted_nor_its_items_changed() -> None:
    twilio = FakeTwilio.seed()
    copy = draft_copy(twilio)
    twilio.set_status(copy, BundleStatus.PENDING_REVIEW)
    with pytest.raises(TwilioPermanentError) as deleting:
        run(twilio.delete_bundle(copy))
    assert (deleting.value.status, deleting.value.code) == (400, 22209)
    with pytest.raises(TwilioPermanentError) as assigning:
        run(twilio.create_item_assignment(copy, original_end_user(twilio)))
    assert assigning.value.code == 22207
    assert twilio.broken == []


def _writes_to_the_original(twilio: FakeTwilio) -> dict[str, Callable[[], Awaitable[Any]]]:
    original = twilio.original_sid
    item = twilio.items[original][0]
    end_user = original_end_user(twilio)
    document = next(i.object_sid for i in twilio.items[original] if i.object_sid[:2] == "RD")
    return {
        "update its end-user": lambda: twilio.update_end_user(end_user, {}),
        "update its document": lambda: twilio.update_supporting_document(document, {}),
        "assign an item": lambda: twilio.create_item_assignment(original, document),
        "unassign an item": lambda: twilio.delete_item_assignment(original, item.sid),
        "evaluate it": lambda: twilio.create_evaluation(original),
        "submit it": lambda: twilio.submit_bundle(original, None),
        "set its callback": lambda: twilio.set_status_callback(original, "https://op.example/"),
        "delete it": lambda: twilio.delete_bundle(original),
    }


@pytest.mark.parametrize("write", list(_writes_to_the_original(FakeTwilio.seed())))
def test_any_write_to_the_original_or_its_items_breaks_an_invariant(write: str) -> None:
    twilio = FakeTwilio.seed()
    before = (twilio.original, list(twilio.items[twilio.original_sid]))
    with pytest.raises(InvariantBroken):
        run(_writes_to_the_original(twilio)[write]())
    assert twilio.broken
    assert (twilio.original, twilio.items[twilio.original_sid]) == before


def test_replace_items_only_from_an_approved_copy() -> None:
    twilio = FakeTwilio.seed()
    copy = draft_copy(twilio)
    with pytest.raises(InvariantBroken):
        run(twilio.replace_items(twilio.original_sid, copy))
    with pytest.raises(InvariantBroken):
        run(twilio.replace_items(copy, twilio.original_sid))
    assert twilio.original.valid_until is not None
    twilio.set_status(copy, BundleStatus.TWILIO_APPROVED)
    twilio.broken.clear()
    run(twilio.replace_items(twilio.original_sid, copy))
    assert twilio.original.valid_until is None
    assert twilio.items[copy] == []


def test_submit_needs_a_fresh_compliant_evaluation() -> None:
    twilio = FakeTwilio.seed()
    twilio.requirements = []  # anything is compliant
    copy = draft_copy(twilio)
    with pytest.raises(InvariantBroken, match="fresh compliant evaluation"):
        run(twilio.submit_bundle(copy, None))
    run(twilio.create_evaluation(copy))
    end_user = next(o.sid for o in twilio.objects_of(copy) if isinstance(o, EndUser))
    run(twilio.update_end_user(end_user, {"business_name": "New"}))  # no longer fresh
    with pytest.raises(InvariantBroken, match="fresh compliant evaluation"):
        run(twilio.submit_bundle(copy, None))
    run(twilio.create_evaluation(copy))
    submitted = run(twilio.submit_bundle(copy, "https://op.example/cb"))
    assert submitted.status == BundleStatus.PENDING_REVIEW
    assert submitted.status_callback == "https://op.example/cb"


def test_a_second_live_copy_for_the_same_marker_breaks_an_invariant() -> None:
    twilio = FakeTwilio.seed()
    draft_copy(twilio)
    with pytest.raises(InvariantBroken, match="second live copy"):
        draft_copy(twilio)


def test_only_unassigned_documents_we_created_may_be_deleted() -> None:
    twilio = FakeTwilio.seed()
    theirs = run(twilio.create_supporting_document("scan", "power_of_attorney", {}, None))
    with pytest.raises(InvariantBroken, match="not created by us"):
        run(twilio.delete_supporting_document(theirs.sid))
    ours = run(
        twilio.create_supporting_document(
            document_marker(UID, "power_of_attorney"), "power_of_attorney", {}, None
        )
    )
    copy = draft_copy(twilio)
    run(twilio.create_item_assignment(copy, ours.sid))
    with pytest.raises(InvariantBroken, match="which a bundle holds"):
        run(twilio.delete_supporting_document(ours.sid))
    run(twilio.delete_bundle(copy))  # its item assignments go with it
    run(twilio.delete_supporting_document(ours.sid))
    assert ours.sid not in twilio.documents


def test_crash_carries_the_resource_as_last_persisted() -> None:
    twilio = FakeTwilio.seed()
    res = resource({}, twilio)
    with pytest.raises(Crash) as crash:
        reconcile(res, twilio, T0, crash_after_write=1)
    assert twilio.calls["create_bundle_copy"] == 1
    assert len(twilio.live_copies()) == 1
    # As last persisted: the renewal's start, written before the copy was made (a checkpoint),
    # not the status recording the copy, which the loop had only decided in memory.
    persisted = crash.value.resource
    assert persisted.status.copy_sid is None
    assert persisted.status.phase is not None
    assert persisted.status.renewing_valid_until is not None
    assert persisted.spec == res.spec


def test_an_action_the_runner_guard_refuses_fails_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard turns an unsafe action into a failure in status before Twilio sees it; for the
    scenarios that still means the workflow broke an invariant."""
    twilio = FakeTwilio.seed()
    target = original_end_user(twilio)

    def unsafe(
        res: RenewalResource, observation: Observation, now: datetime, policy: Policy
    ) -> Decision:
        action = UpdateEndUser(sid=target, attributes={}, changed_fields=("x",))
        return Decision(action=action, status=res.status)

    monkeypatch.setattr(fake_twilio, "decide", unsafe)
    with pytest.raises(InvariantBroken, match="guard refuses"):
        reconcile(resource({}, twilio), twilio, T0)
    assert twilio.write_count() == 0
