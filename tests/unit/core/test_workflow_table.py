"""The decision table: one situation (status x what Twilio shows) per row, the next step expected.

Each row builds the observation a gatherer would have made, so the decision is checked in
isolation (the scenario tests run whole renewals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from controller.core.models import (
    BundleRenewalStatus,
    OriginalBundleStatus,
    Phase,
    ReviewStatus,
)
from controller.core.models import EvaluationStatus as EvaluationRecord
from controller.core.plan import (
    AssignItem,
    CreateCopy,
    DeleteCopy,
    ErrorKind,
    Evaluate,
    Observation,
    ObservationPart,
    Observe,
    ReplaceItems,
    Submit,
    UnassignItem,
    UpdateDocument,
    UpdateEndUser,
    copy_marker,
    document_marker,
    rank_our_copies,
)
from controller.core.twilio_models import (
    Bundle,
    BundleStatus,
    EndUser,
    Evaluation,
    EvaluationStatus,
    ItemAssignment,
    SupportingDocument,
)
from controller.core.workflow import backoff_delay, decide, on_error
from tests.fakes.fake_twilio import POLICY, T0, UID, RenewalResource

P = ObservationPart
ORIG = "BU" + "a" * 32
COPY = "BU" + "c" * 32
OTHER = "BU" + "d" * 32
ALL_PARTS = frozenset(ObservationPart)


def bundle(sid: str, status: BundleStatus, *, name: str | None = None, **kw: Any) -> Bundle:
    return Bundle(sid=sid, status=status, friendly_name=name, **kw)


def ours(status: BundleStatus, sid: str = COPY, **kw: Any) -> Bundle:
    return bundle(sid, status, name=copy_marker(UID), **kw)


APPROVED = bundle(ORIG, BundleStatus.TWILIO_APPROVED, valid_until=T0 + timedelta(days=9))
APPROVED_NO_VU = bundle(ORIG, BundleStatus.TWILIO_APPROVED)
EU = EndUser(sid="IT" + "1" * 32, attributes={"business_name": "X"})
KBIS = SupportingDocument(
    sid="RD" + "1" * 32, type="commercial_registrar_excerpt", attributes={"document_number": "1"}
)
ID1 = SupportingDocument(sid="RD" + "2" * 32, type="government_issued_document", friendly_name="a")
ID2 = SupportingDocument(sid="RD" + "3" * 32, type="government_issued_document", friendly_name="b")
ITEMS = tuple(
    ItemAssignment(sid=f"BV{i:032x}", object_sid=o.sid) for i, o in enumerate([EU, KBIS, ID1, ID2])
)
COMPLIANT = Evaluation(sid="EL" + "1" * 32, bundle_sid=COPY, status=EvaluationStatus.COMPLIANT)
NONCOMPLIANT = Evaluation(
    sid="EL" + "2" * 32, bundle_sid=COPY, status=EvaluationStatus.NONCOMPLIANT
)


def res(spec: dict[str, Any] | None = None, generation: int = 1, **status: Any) -> RenewalResource:
    full = {"bundleSid": ORIG, "credentialsSecretRef": {"name": "c"}, **(spec or {})}
    return RenewalResource.model_validate(
        {
            "uid": UID,
            "namespace": "n",
            "name": "r",
            "generation": generation,
            "spec": full,
            "status": BundleRenewalStatus(**status),
        }
    )


def observation(**parts: Any) -> Observation:
    """An observation of these parts, with our copies ranked as the gatherer ranks them."""
    return Observation(**parts, ours=rank_our_copies(res(), parts.get("copies", ())))


def seen(**parts: Any) -> Observation:
    """An observation with every part read (so the decision needs no further read)."""
    return observation(read=ALL_PARTS, **{"original": APPROVED, **parts})


COMPLETED = {"applied_generation": 1, "phase": Phase.COMPLETED}
# A spec the original (EU, KBIS, ID1, ID2) already satisfies, and the original read in full.
SATISFIED = {
    "endUser": {"attributes": {"business_name": "X"}},
    "supportingDocuments": [
        {"type": "commercial_registrar_excerpt", "attributes": {"document_number": "1"}},
        {"type": "government_issued_document", "match": {"friendlyName": "a"}},
    ],
}
ORIGINAL_READ = {
    "original": APPROVED_NO_VU,
    "original_items": ITEMS,
    "original_end_user": EU,
    "original_documents": (KBIS, ID1, ID2),
}
VU = APPROVED.valid_until
NOT_CLEARED = {**COMPLETED, "phase": Phase.FAILED, "valid_until_not_cleared": VU}
OTHER_CLAIM = bundle(
    OTHER, BundleStatus.DRAFT, name=copy_marker("1e0d5c4b-aaaa-bbbb-cccc-000000000000")
)
NEEDS_INPUT = {
    "copy_sid": COPY,
    "phase": Phase.NEEDS_INPUT,
    "evaluation": EvaluationRecord(
        sid=NONCOMPLIANT.sid, status="noncompliant", generation=1, original_valid_until=VU
    ),
    "original": OriginalBundleStatus(status="twilio-approved", valid_until=VU),
}
IN_FLIGHT = {"copy_sid": COPY, "phase": Phase.IN_PROGRESS}
SUBMITTED = {
    "copy_sid": COPY,
    "phase": Phase.IN_REVIEW,
    "review": ReviewStatus(submitted_generation=1, status="in-review", submitted_at=T0),
}
EDITED = {"copies": (ours(BundleStatus.DRAFT),), "copy_items": ITEMS, "copy_end_user": EU}
DOCS = (KBIS, ID1, ID2)


@dataclass
class Row:
    id: str
    resource: RenewalResource
    observation: Observation
    action: type | None
    phase: Phase | None = None
    check: dict[str, Any] = field(default_factory=dict)


ROWS = [
    Row(
        "nothing-read-reads-original", res(), Observation(), Observe, check={"parts": {P.ORIGINAL}}
    ),
    Row(
        "original-missing-stalls",
        res(),
        Observation(read=frozenset({P.ORIGINAL})),
        None,
        Phase.FAILED,
    ),
    Row(
        "original-not-approved-stalls",
        res(),
        seen(original=bundle(ORIG, BundleStatus.IN_REVIEW)),
        None,
        Phase.FAILED,
    ),
    Row(
        "completed-nothing-due-ready",
        res(**COMPLETED),
        seen(original=APPROVED_NO_VU),
        None,
        Phase.COMPLETED,
    ),
    Row(
        "completed-valid-until-due-creates-copy",
        res(**COMPLETED),
        seen(),
        CreateCopy,
        Phase.IN_PROGRESS,
    ),
    # A new spec generation is compared with the original; only a difference renews (P1.1).
    Row(
        "spec-change-reads-the-original-to-compare",
        res(SATISFIED, generation=2, **COMPLETED),
        Observation(read=frozenset({P.ORIGINAL}), original=APPROVED_NO_VU),
        Observe,
        check={"parts": {P.COPIES, P.ORIGINAL_ITEMS, P.ORIGINAL_END_USER, P.ORIGINAL_DOCUMENTS}},
    ),
    Row(
        "spec-change-that-differs-creates-copy",
        res({"endUser": {"attributes": {"business_name": "Y"}}}, generation=2, **COMPLETED),
        seen(**ORIGINAL_READ),
        CreateCopy,
    ),
    Row(
        "spec-change-adding-a-document-creates-copy",
        res({"supportingDocuments": [{"type": "power_of_attorney"}]}, generation=2, **COMPLETED),
        seen(**ORIGINAL_READ),
        CreateCopy,
    ),
    Row(
        "spec-change-removing-a-document-creates-copy",
        res(
            {"supportingDocuments": [{"type": "commercial_registrar_excerpt", "remove": True}]},
            generation=2,
            **COMPLETED,
        ),
        seen(**ORIGINAL_READ),
        CreateCopy,
    ),
    Row(
        "suspend-toggled-back-stays-ready-no-copy",
        res(SATISFIED, generation=3, **COMPLETED),
        seen(**ORIGINAL_READ),
        None,
        Phase.COMPLETED,
        check={"applied_generation": 3, "reason": "UpToDate"},
    ),
    Row(
        "secret-ref-renamed-stays-ready-no-copy",
        res({**SATISFIED, "credentialsSecretRef": {"name": "other"}}, generation=2, **COMPLETED),
        seen(**ORIGINAL_READ),
        None,
        Phase.COMPLETED,
        check={"applied_generation": 2},
    ),
    Row(
        "new-resource-on-healthy-bundle-is-up-to-date",
        res(SATISFIED),
        seen(**ORIGINAL_READ),
        None,
        Phase.COMPLETED,
        check={"applied_generation": 1},
    ),
    Row(
        "new-resource-on-unapproved-bundle-stalls",
        res(SATISFIED),
        seen(**{**ORIGINAL_READ, "original": bundle(ORIG, BundleStatus.IN_REVIEW)}),
        None,
        Phase.FAILED,
        check={"applied_generation": 1, "reason": "OriginalNotApproved"},
    ),
    Row(
        "valid-until-not-cleared-spec-change-that-alters-nothing-stays-stalled",
        res(SATISFIED, generation=2, **NOT_CLEARED),
        seen(**{**ORIGINAL_READ, "original": APPROVED}),
        None,
        Phase.FAILED,
        check={"applied_generation": 2, "reason": "ValidUntilNotCleared"},
    ),
    Row(
        "spec-change-with-a-copy-already-made-adopts-it",
        res(SATISFIED, generation=2, **COMPLETED),
        seen(**ORIGINAL_READ, **EDITED, copy_documents=DOCS),
        Evaluate,
        check={"copy_sid": COPY},
    ),
    Row(
        "renewal-request-creates-copy",
        res({"renewalRequest": "now"}, **COMPLETED),
        seen(original=APPROVED_NO_VU),
        CreateCopy,
    ),
    Row(
        "due-copies-not-read-reads-copies",
        res(),
        Observation(read=frozenset({P.ORIGINAL}), original=APPROVED),
        Observe,
        check={"parts": {P.COPIES}},
    ),
    Row(
        "copies-made-by-others-ignored",
        res(),
        seen(copies=(bundle(OTHER, BundleStatus.DRAFT, name="mine"),)),
        CreateCopy,
    ),
    Row(
        "copy-exists-status-lost-it-adopts",
        res(),
        seen(**EDITED),
        Evaluate,
        check={"copy_sid": COPY},
    ),
    Row(
        "two-marked-copies-delete-the-draft",
        res(),
        seen(copies=(ours(BundleStatus.DRAFT, OTHER), ours(BundleStatus.IN_REVIEW))),
        DeleteCopy,
        check={"copy_sid_action": OTHER},
    ),
    Row("draft-matching-spec-evaluates", res(**IN_FLIGHT), seen(**EDITED), Evaluate),
    Row("draft-compliant-submits", res(**IN_FLIGHT), seen(**EDITED, evaluation=COMPLIANT), Submit),
    Row(
        "draft-noncompliant-needs-input",
        res(**IN_FLIGHT),
        seen(**EDITED, evaluation=NONCOMPLIANT),
        None,
        Phase.NEEDS_INPUT,
    ),
    Row(
        "evaluation-of-another-bundle-not-trusted",
        res(**IN_FLIGHT),
        seen(**EDITED, evaluation=COMPLIANT.model_copy(update={"bundle_sid": OTHER})),
        Evaluate,
    ),
    Row(
        "document-differs-updates-it",
        res(
            {
                "supportingDocuments": [
                    {"type": "commercial_registrar_excerpt", "attributes": {"document_number": "2"}}
                ]
            },
            **IN_FLIGHT,
        ),
        seen(**EDITED, copy_documents=DOCS),
        UpdateDocument,
    ),
    Row(
        "two-documents-of-a-type-without-match-stalls",
        res(
            {
                "supportingDocuments": [
                    {"type": "government_issued_document", "attributes": {"x": "1"}}
                ]
            },
            **IN_FLIGHT,
        ),
        seen(**EDITED, copy_documents=DOCS),
        None,
        Phase.FAILED,
    ),
    Row(
        "match-by-friendly-name-picks-one",
        res(
            {
                "supportingDocuments": [
                    {
                        "type": "government_issued_document",
                        "match": {"friendlyName": "b"},
                        "attributes": {"x": "1"},
                    }
                ]
            },
            **IN_FLIGHT,
        ),
        seen(**EDITED, copy_documents=DOCS),
        UpdateDocument,
        check={"sid": ID2.sid},
    ),
    Row(
        "remove-unassigns-from-copy",
        res(
            {"supportingDocuments": [{"type": "commercial_registrar_excerpt", "remove": True}]},
            **IN_FLIGHT,
        ),
        seen(**EDITED, copy_documents=DOCS),
        UnassignItem,
    ),
    Row(
        "created-but-unassigned-document-is-assigned-not-duplicated",
        res({"supportingDocuments": [{"type": "power_of_attorney"}]}, **IN_FLIGHT),
        seen(
            **EDITED,
            copy_documents=DOCS,
            stray_documents=(
                SupportingDocument(
                    sid="RD" + "9" * 32,
                    type="power_of_attorney",
                    friendly_name=document_marker(UID, "power_of_attorney"),
                ),
            ),
        ),
        AssignItem,
    ),
    Row(
        "submitted-in-review-waits",
        res(**SUBMITTED),
        seen(copies=(ours(BundleStatus.IN_REVIEW),)),
        None,
        Phase.IN_REVIEW,
    ),
    Row(
        "submitted-but-status-says-not-waits-no-resubmit",
        res(**IN_FLIGHT),
        seen(copies=(ours(BundleStatus.PENDING_REVIEW),)),
        None,
        Phase.IN_REVIEW,
    ),
    Row(
        "rejected-unchanged-spec-waits",
        res(**SUBMITTED),
        seen(copies=(ours(BundleStatus.TWILIO_REJECTED),), copy_items=ITEMS, copy_documents=DOCS),
        None,
        Phase.REJECTED,
    ),
    Row(
        "rejected-spec-changed-resubmits-same-copy",
        res(
            generation=2,
            **{**SUBMITTED, "review": SUBMITTED["review"].model_copy(update={"patched_at": T0})},
        ),
        seen(**{**EDITED, "copies": (ours(BundleStatus.TWILIO_REJECTED),)}, evaluation=COMPLIANT),
        Submit,
    ),
    Row(
        "rejected-spec-change-that-alters-nothing-no-resubmit",
        res(generation=2, **SUBMITTED),
        seen(
            **{**EDITED, "copies": (ours(BundleStatus.TWILIO_REJECTED),)},
            copy_documents=DOCS,
            evaluation=COMPLIANT,
        ),
        None,
        Phase.REJECTED,
    ),
    Row(
        "rejected-spec-change-patches-and-records-it",
        res({"endUser": {"attributes": {"business_name": "Y"}}}, generation=2, **SUBMITTED),
        seen(**{**EDITED, "copies": (ours(BundleStatus.TWILIO_REJECTED),)}),
        UpdateEndUser,
        check={"patched": True},
    ),
    Row(
        "rejected-renewal-request-resubmits-unchanged-copy",
        res({"renewalRequest": "retry"}, **SUBMITTED),
        seen(**{**EDITED, "copies": (ours(BundleStatus.TWILIO_REJECTED),)}, evaluation=COMPLIANT),
        Submit,
    ),
    # NeedsInput re-checks reuse the evaluation while nothing changed (P3.13).
    Row(
        "needs-input-recheck-makes-no-new-evaluation",
        res(**NEEDS_INPUT),
        seen(**EDITED),
        None,
        Phase.NEEDS_INPUT,
    ),
    Row(
        "needs-input-recheck-after-regulation-change-evaluates",
        res(**NEEDS_INPUT),
        seen(**EDITED, original=APPROVED.model_copy(update={"valid_until": VU + timedelta(1)})),
        Evaluate,
    ),
    Row(
        "needs-input-spec-change-evaluates",
        res(generation=2, **NEEDS_INPUT),
        seen(**EDITED),
        Evaluate,
    ),
    Row(
        "approved-with-items-replaces",
        res(**SUBMITTED),
        seen(copies=(ours(BundleStatus.TWILIO_APPROVED),), copy_items=ITEMS),
        ReplaceItems,
    ),
    Row(
        "approved-original-not-approved-no-replace",
        res(**SUBMITTED),
        seen(
            original=bundle(ORIG, BundleStatus.TWILIO_REJECTED),
            copies=(ours(BundleStatus.TWILIO_APPROVED),),
            copy_items=ITEMS,
        ),
        None,
        Phase.FAILED,
    ),
    Row(
        "approve-records-the-items-to-replace",
        res(**SUBMITTED),
        seen(copies=(ours(BundleStatus.TWILIO_APPROVED),), copy_items=ITEMS),
        ReplaceItems,
        check={"replaced": [i.object_sid for i in ITEMS]},
    ),
    # An empty approved copy means "replaced" only if the original shows it (P1.3).
    Row(
        "empty-approved-copy-original-keeps-valid-until-starts-over",
        res(**SUBMITTED),
        seen(copies=(ours(BundleStatus.TWILIO_APPROVED),), copy_items=()),
        DeleteCopy,
        check={"reason": "CopyLost"},
    ),
    Row(
        "empty-approved-copy-its-items-not-in-original-starts-over",
        res(**SUBMITTED, replaced_object_sids=[i.object_sid for i in ITEMS]),
        seen(
            copies=(ours(BundleStatus.TWILIO_APPROVED),),
            copy_items=(),
            original_items=ITEMS[:1],
        ),
        DeleteCopy,
        check={"reason": "CopyLost"},
    ),
    Row(
        "empty-approved-copy-its-items-in-original-deletes-it",
        res(**SUBMITTED, replaced_object_sids=[i.object_sid for i in ITEMS]),
        seen(copies=(ours(BundleStatus.TWILIO_APPROVED),), copy_items=(), original_items=ITEMS),
        DeleteCopy,
        check={"reason": "DeletingCopy"},
    ),
    # valid_until kept through ReplaceItems: Stalled, no second renewal (P1.2).
    Row(
        "valid-until-kept-after-replace-stalls",
        res(**SUBMITTED, items_replaced_at=T0, renewing_valid_until=VU),
        seen(),
        None,
        Phase.FAILED,
        check={"reason": "ValidUntilNotCleared", "not_cleared": VU},
    ),
    Row(
        "valid-until-not-cleared-recheck-makes-no-copy",
        res(**NOT_CLEARED),
        seen(),
        None,
        Phase.FAILED,
        check={"reason": "ValidUntilNotCleared"},
    ),
    Row(
        "valid-until-not-cleared-later-valid-until-renews",
        res(**NOT_CLEARED),
        seen(original=APPROVED.model_copy(update={"valid_until": VU + timedelta(days=30)})),
        CreateCopy,
        check={"renewing": VU + timedelta(days=30)},
    ),
    Row(
        "valid-until-not-cleared-renewal-request-renews",
        res({"renewalRequest": "again"}, **NOT_CLEARED),
        seen(),
        CreateCopy,
    ),
    Row(
        "valid-until-not-cleared-spec-change-that-differs-renews",
        res({"endUser": {"attributes": {"business_name": "Y"}}}, generation=2, **NOT_CLEARED),
        seen(**{**ORIGINAL_READ, "original": APPROVED}),
        CreateCopy,
    ),
    Row(
        "valid-until-not-cleared-then-cleared-by-twilio-is-ready",
        res(**NOT_CLEARED),
        seen(original=APPROVED_NO_VU),
        None,
        Phase.COMPLETED,
        check={"not_cleared": None},
    ),
    Row(
        "valid-until-set-during-spec-renewal-renews-again",
        res(**SUBMITTED, items_replaced_at=T0),
        seen(),
        None,
        Phase.COMPLETED,
        check={"reason": "Completed"},
    ),
    # Another resource's copy of the same bundle: hands off (P2.5).
    Row(
        "copy-claimed-by-another-resource-stalls",
        res(),
        seen(copies=(OTHER_CLAIM,)),
        None,
        Phase.FAILED,
        check={"reason": "BundleClaimed"},
    ),
    Row(
        "claimed-while-ours-approved-no-replace",
        res(**SUBMITTED),
        seen(copies=(OTHER_CLAIM, ours(BundleStatus.TWILIO_APPROVED)), copy_items=ITEMS),
        None,
        Phase.FAILED,
        check={"reason": "BundleClaimed"},
    ),
    Row(
        "claimed-seen-while-polling-review-stalls",
        res(**SUBMITTED),
        observation(read=frozenset({P.COPIES}), copies=(OTHER_CLAIM, ours(BundleStatus.IN_REVIEW))),
        None,
        Phase.FAILED,
        check={"reason": "BundleClaimed"},
    ),
    Row(
        "claimed-but-nothing-to-renew-stays-ready",
        res(SATISFIED, generation=2, **COMPLETED),
        seen(**ORIGINAL_READ, copies=(OTHER_CLAIM,)),
        None,
        Phase.COMPLETED,
    ),
    Row(
        "items-replaced-but-copy-not-deleted-deletes",
        res(**SUBMITTED),
        seen(original=APPROVED_NO_VU, copies=(ours(BundleStatus.TWILIO_APPROVED),), copy_items=()),
        DeleteCopy,
    ),
    Row(
        "copy-deleted-status-says-replaced-completes",
        res(**SUBMITTED, items_replaced_at=T0),
        seen(original=APPROVED_NO_VU),
        None,
        Phase.COMPLETED,
    ),
    Row("copy-lost-before-replace-recreates", res(**SUBMITTED), seen(), CreateCopy),
    Row("suspended-does-nothing", res({"suspend": True}), Observation(), None, Phase.SUSPENDED),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_decision_table(row: Row) -> None:
    decision = decide(row.resource, row.observation, T0, POLICY)
    action = decision.action
    assert type(action) is row.action if row.action else action is None, decision.status.message
    if row.phase is not None:
        assert decision.status.phase == row.phase
    if "parts" in row.check:
        assert isinstance(action, Observe)
        assert action.parts == row.check["parts"]
    if "copy_sid" in row.check:
        assert decision.status.copy_sid == row.check["copy_sid"]
    if "copy_sid_action" in row.check:
        assert isinstance(action, DeleteCopy)
        assert action.copy_sid == row.check["copy_sid_action"]
    if "sid" in row.check:
        assert isinstance(action, UpdateDocument)
        assert action.sid == row.check["sid"]
    status = decision.status
    ready = next((c for c in status.conditions if c.type == "Ready"), None)
    if "reason" in row.check:
        assert ready is not None
        assert ready.reason == row.check["reason"], status.message
    if "applied_generation" in row.check:
        assert status.applied_generation == row.check["applied_generation"]
    if "not_cleared" in row.check:
        assert status.valid_until_not_cleared == row.check["not_cleared"]
    if "renewing" in row.check:
        assert status.renewing_valid_until == row.check["renewing"]
    if "replaced" in row.check:
        assert status.replaced_object_sids == row.check["replaced"]
    if "patched" in row.check:
        assert status.review is not None
        assert (status.review.patched_at is not None) == row.check["patched"]
    if row.phase in (Phase.FAILED, Phase.REJECTED, Phase.NEEDS_INPUT):
        assert ready is not None
        assert ready.status == "False"
        assert any(c.type == "Stalled" and c.status == "True" for c in status.conditions)
    # Invariants that hold on every row.
    if isinstance(action, DeleteCopy | ReplaceItems):
        assert action.copy_sid != ORIG
    elif action is not None and not isinstance(action, Observe | CreateCopy):
        assert ORIG not in action.model_dump_json()
    assert decision.status.observed_generation == row.resource.generation


# Safety invariants, one test each ---------------------------------------------------------


@pytest.mark.parametrize(
    "copy_status", [s for s in BundleStatus if s != BundleStatus.TWILIO_APPROVED]
)
def test_replace_items_only_from_an_approved_copy(copy_status: BundleStatus) -> None:
    obs = seen(
        copies=(ours(copy_status),), copy_items=ITEMS, copy_end_user=EU, evaluation=COMPLIANT
    )
    assert not isinstance(decide(res(**SUBMITTED), obs, T0, POLICY).action, ReplaceItems)


@pytest.mark.parametrize(
    "original_status", [s for s in BundleStatus if s != BundleStatus.TWILIO_APPROVED]
)
def test_replace_items_only_into_an_approved_original(original_status: BundleStatus) -> None:
    obs = seen(
        original=bundle(ORIG, original_status),
        copies=(ours(BundleStatus.TWILIO_APPROVED),),
        copy_items=ITEMS,
    )
    assert decide(res(**SUBMITTED), obs, T0, POLICY).action is None


@pytest.mark.parametrize(
    "evaluation", [None, NONCOMPLIANT], ids=["no-fresh-evaluation", "noncompliant"]
)
def test_never_submits_without_a_fresh_compliant_evaluation(evaluation: Evaluation | None) -> None:
    decision = decide(res(**IN_FLIGHT), seen(**EDITED, evaluation=evaluation), T0, POLICY)
    assert not isinstance(decision.action, Submit)


def test_never_submits_when_the_copy_differs_from_spec() -> None:
    spec = {"endUser": {"attributes": {"business_name": "Y"}}}
    decision = decide(res(spec, **IN_FLIGHT), seen(**EDITED, evaluation=COMPLIANT), T0, POLICY)
    assert decision.action is not None
    assert decision.action.kind == "UpdateEndUser"


@pytest.mark.parametrize("copy_status", [BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW])
def test_never_submits_while_in_review(copy_status: BundleStatus) -> None:
    obs = seen(**{**EDITED, "copies": (ours(copy_status),)}, evaluation=COMPLIANT)
    assert decide(res(generation=3, **SUBMITTED), obs, T0, POLICY).action is None


def test_never_creates_a_second_copy() -> None:
    obs = seen(copies=(ours(BundleStatus.DRAFT),), copy_items=ITEMS)
    assert not isinstance(decide(res(), obs, T0, POLICY).action, CreateCopy)


def test_delete_copy_never_names_the_original_even_if_listed_as_a_copy() -> None:
    obs = seen(copies=(ours(BundleStatus.DRAFT, ORIG), ours(BundleStatus.DRAFT)))
    action = decide(res(), obs, T0, POLICY).action
    assert not isinstance(action, DeleteCopy)


def test_original_never_written_for_any_table_row() -> None:
    for row in ROWS:
        action = decide(row.resource, row.observation, T0, POLICY).action
        if isinstance(action, ReplaceItems | DeleteCopy):
            assert action.copy_sid != ORIG
        elif isinstance(action, CreateCopy):
            assert action.friendly_name == copy_marker(UID)
        elif action is not None and not isinstance(action, Observe):
            assert ORIG not in action.model_dump_json(), row.id


# Errors and backoff -----------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    assert [backoff_delay(n, POLICY) for n in range(0, 5)] == [0.0, 5.0, 10.0, 20.0, 40.0]
    assert backoff_delay(50, POLICY) == POLICY.backoff_max


def test_transient_error_keeps_phase_and_ready_and_counts() -> None:
    ready = decide(res(**COMPLETED), seen(original=APPROVED_NO_VU), T0, POLICY)
    resource = res(**COMPLETED).model_copy(update={"status": ready.status})
    first = on_error(resource, ErrorKind.TRANSIENT, "HTTP 503", T0, POLICY)
    second = on_error(
        resource.model_copy(update={"status": first.status}),
        ErrorKind.TRANSIENT,
        "HTTP 503",
        T0,
        POLICY,
    )
    assert (first.requeue_after, second.requeue_after) == (5.0, 10.0)
    assert second.status.failed_attempts == 2
    assert second.status.phase == Phase.COMPLETED
    conditions = {c.type: c for c in second.status.conditions}
    assert conditions["Ready"].status == "True"
    assert conditions["Ready"].last_transition_time == T0
    assert conditions["Reconciling"].status == "True"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (ErrorKind.AUTHENTICATION, "AuthenticationFailed"),
        (ErrorKind.CREDENTIALS, "CredentialsInvalid"),
        (ErrorKind.PERMANENT, "PermanentError"),
    ],
)
def test_permanent_errors_stall_without_retry_storm(kind: ErrorKind, reason: str) -> None:
    resource = res(failed_attempts=6)
    decision = on_error(resource, kind, "refused", T0, POLICY)
    assert decision.status.phase == Phase.FAILED
    stalled = next(c for c in decision.status.conditions if c.type == "Stalled")
    assert (stalled.status, stalled.reason) == ("True", reason)
    # The 7th failure in a row waits 5 s * 2**6, below the 600 s cap.
    assert decision.requeue_after == 320.0
    assert decision.event is not None
    assert decision.event.type == "Warning"


def test_decide_respects_backoff_before_reading_anything() -> None:
    failed = res(failed_attempts=3, last_failure_time=T0, observed_generation=1)
    early = decide(failed, Observation(), T0 + timedelta(seconds=5), POLICY)
    assert early.action is None
    assert early.requeue_after == 15.0
    late = decide(failed, Observation(), T0 + timedelta(seconds=21), POLICY)
    assert isinstance(late.action, Observe)


def test_spec_change_retries_at_once_despite_backoff() -> None:
    failed = res(generation=2, failed_attempts=3, last_failure_time=T0, observed_generation=1)
    assert isinstance(decide(failed, Observation(), T0, POLICY).action, Observe)


def test_failure_counter_resets_once_the_renewal_rests() -> None:
    waiting = res(failed_attempts=3, last_failure_time=T0 - timedelta(hours=1), **SUBMITTED)
    decision = decide(waiting, seen(copies=(ours(BundleStatus.IN_REVIEW),)), T0, POLICY)
    assert decision.action is None
    assert decision.status.failed_attempts == 0


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        decide(res(), Observation(), T0.replace(tzinfo=None), POLICY)
