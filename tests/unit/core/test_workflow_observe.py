"""The gatherer and the workflow agree: the copy whose parts are read is the copy the decision
works on, a copy that vanished is no copy (never an empty one), and the original's parts are read
with what they depend on."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any, cast

import pytest

from controller.adapters.twilio_gateway.port import TwilioGateway, TwilioNotFoundError
from controller.core.models import BundleRenewalStatus
from controller.core.plan import (
    DeleteCopy,
    Observation,
    ObservationPart,
    ReplaceItems,
    copy_marker,
    fold,
    rank_our_copies,
)
from controller.core.twilio_models import Bundle, BundleStatus, EndUser, ItemAssignment
from controller.core.workflow import decide
from controller.engine.observe import expand, gather
from tests.fakes.fake_twilio import POLICY, T0, UID, RenewalResource

P = ObservationPart
ORIG = "BU" + "a" * 32


def copy(n: int, status: BundleStatus) -> Bundle:
    return Bundle(
        sid=f"BU{n:032x}",
        status=status,
        friendly_name=copy_marker(UID),
        date_created=T0 + timedelta(minutes=n),
    )


def resource(copy_sid: str | None = None) -> RenewalResource:
    return RenewalResource.model_validate(
        {
            "uid": UID,
            "namespace": "n",
            "name": "r",
            "generation": 1,
            "spec": {"bundleSid": ORIG, "credentialsSecretRef": {"name": "c"}},
            "status": BundleRenewalStatus(copy_sid=copy_sid),
        }
    )


@pytest.mark.parametrize(
    "statuses", list(itertools.permutations(list(BundleStatus), 2)), ids=lambda s: "-".join(s)
)
@pytest.mark.parametrize("known", [0, 1, None])
async def test_gatherer_reads_the_copy_the_decision_keeps(
    statuses: tuple[BundleStatus, BundleStatus], known: int | None
) -> None:
    copies = (copy(1, statuses[0]), copy(2, statuses[1]))
    res = resource(copies[known].sid if known is not None else None)
    obs = Observation(
        read=frozenset({P.ORIGINAL}),
        original=Bundle(sid=ORIG, status=BundleStatus.TWILIO_APPROVED, valid_until=T0),
    )
    gateway = Gateway({copy.sid: [] for copy in copies}, gone=set(), copies=list(copies))
    obs = await gather(cast(TwilioGateway, gateway), res, obs, [P.COPIES, P.COPY_ITEMS])
    read_from = obs.our_copy
    assert read_from is not None
    # The gatherer ranked the copies once; the copy parts were read from the first.
    assert obs.ours == rank_our_copies(res, copies)
    assert gateway.calls == ["copies", f"items {read_from.sid}"]
    decision = decide(res, obs, T0, POLICY)
    assert isinstance(decision.action, DeleteCopy)
    assert decision.action.copy_sid != read_from.sid


def test_in_review_outranks_pending_review_whatever_status_names() -> None:
    pending, reviewing = copy(1, BundleStatus.PENDING_REVIEW), copy(2, BundleStatus.IN_REVIEW)
    assert rank_our_copies(resource(pending.sid), (pending, reviewing))[0] == reviewing


class Gateway:
    """Answers the reads the gatherer makes; a SID in `gone` answers 404."""

    def __init__(
        self,
        items: dict[str, list[ItemAssignment]],
        gone: set[str],
        copies: list[Bundle] | None = None,
    ) -> None:
        self.items, self.gone, self.calls = items, gone, list[str]()
        self.copies = copies or []

    async def list_bundle_copies(self, bundle_sid: str) -> list[Bundle]:
        self.calls.append("copies")
        return self.copies

    async def list_item_assignments(self, bundle_sid: str) -> list[ItemAssignment]:
        self.calls.append(f"items {bundle_sid}")
        if bundle_sid in self.gone:
            raise TwilioNotFoundError("not found", status=404, code=20404)
        return self.items[bundle_sid]

    async def fetch_end_user(self, sid: str) -> EndUser:
        self.calls.append(f"end-user {sid}")
        return EndUser(sid=sid, attributes={})

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected read {name}")


async def test_a_404_on_the_copy_items_means_the_copy_is_gone_not_empty() -> None:
    approved = copy(1, BundleStatus.TWILIO_APPROVED)
    res = resource(approved.sid)
    gateway = Gateway({}, gone={approved.sid})
    obs = Observation(
        read=frozenset({P.ORIGINAL, P.COPIES, P.REGULATION}),
        original=Bundle(sid=ORIG, status=BundleStatus.TWILIO_APPROVED, valid_until=T0),
        copies=(approved,),
        ours=(approved,),
    )
    obs = await gather(cast(TwilioGateway, gateway), res, obs, [P.COPY_ITEMS])
    assert obs.copies == ()
    assert obs.ours == ()
    # Not taken for an approved copy whose items were replaced: the copy is lost, renew again.
    decision = decide(res, obs, T0, POLICY)
    assert decision.action is not None
    assert decision.action.kind == "CreateCopy"


async def test_original_parts_read_what_they_depend_on() -> None:
    assert expand([P.ORIGINAL_END_USER]) == [P.ORIGINAL_ITEMS, P.ORIGINAL_END_USER]
    item = ItemAssignment(sid="BV" + "1" * 32, object_sid="IT" + "1" * 32)
    gateway = Gateway({ORIG: [item]}, gone=set())
    obs = await gather(
        cast(TwilioGateway, gateway), resource(), Observation(), [P.ORIGINAL_END_USER]
    )
    assert gateway.calls == [f"items {ORIG}", f"end-user {item.object_sid}"]
    assert obs.original_end_user is not None
    assert obs.has(P.ORIGINAL_ITEMS, P.ORIGINAL_END_USER)


def test_a_replace_items_answer_still_showing_valid_until_is_read_again() -> None:
    """The clearing could lag the answer: the original is read afresh before deciding."""
    obs = Observation(
        read=frozenset(ObservationPart),
        original=Bundle(sid=ORIG, status=BundleStatus.TWILIO_APPROVED, valid_until=T0),
    )
    answer = Bundle(sid=ORIG, status=BundleStatus.TWILIO_APPROVED, valid_until=T0)
    after = fold(
        obs, ReplaceItems(original_sid=ORIG, copy_sid=copy(1, BundleStatus.DRAFT).sid), answer
    )
    assert not after.has(P.ORIGINAL)
    assert after.original is None
    assert not after.has(P.ORIGINAL_ITEMS)


def test_a_replace_items_answer_with_valid_until_cleared_is_the_original() -> None:
    """Twilio's own answer (the bundle, valid_until null) saves reading it again; the original's
    items changed, so those are not taken as read."""
    obs = Observation(
        read=frozenset(ObservationPart),
        original=Bundle(sid=ORIG, status=BundleStatus.TWILIO_APPROVED, valid_until=T0),
    )
    answer = Bundle(sid=ORIG, status=BundleStatus.TWILIO_APPROVED)
    after = fold(
        obs, ReplaceItems(original_sid=ORIG, copy_sid=copy(1, BundleStatus.DRAFT).sid), answer
    )
    assert after.has(P.ORIGINAL)
    assert after.original == answer
    assert not after.has(P.ORIGINAL_ITEMS)
