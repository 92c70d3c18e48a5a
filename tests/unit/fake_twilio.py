"""An in-memory Twilio for the workflow's unit tests, and the reconcile loop the wiring runs.

It answers Observe actions and carries out write actions the way the docs describe Twilio (a
copy duplicates the end-user and documents, ReplaceItems moves the copy's items into the
original and clears valid_until), and it enforces the safety invariants itself: any write to the
original bundle or its items, a ReplaceItems from an unapproved copy, a Submit without a fresh
compliant evaluation or a second live copy raises `InvariantBroken`.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.models import BundleRenewalSpec
from controller.plan import (
    AssignItem,
    CreateCopy,
    CreateDocument,
    Decision,
    DeleteCopy,
    DeleteDocument,
    Evaluate,
    Event,
    Observation,
    ObservationPart,
    Observe,
    Policy,
    RenewalResource,
    ReplaceItems,
    Submit,
    UnassignItem,
    UpdateDocument,
    UpdateEndUser,
    created_document_key,
    fold,
    rank_our_copies,
)
from controller.twilio_models import (
    Bundle,
    BundleStatus,
    EndUser,
    Evaluation,
    EvaluationFieldResult,
    EvaluationRequirementResult,
    EvaluationStatus,
    ItemAssignment,
    SupportingDocument,
    SupportingDocumentStatus,
)
from controller.workflow import decide, decide_cleanup

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
UID = "0b6c1a3e-2f4d-4c55-9a7e-6d1f2e3a4b5c"
POLICY = Policy()


class InvariantBroken(AssertionError):
    pass


class Crash(Exception):
    """The operator process died right after a Twilio write; `resource` is as last persisted."""

    def __init__(self, resource: RenewalResource):
        super().__init__("crash")
        self.resource = resource


_counter = itertools.count(1)


def sid(prefix: str) -> str:
    return f"{prefix}{next(_counter):032x}"


@dataclass
class Requirement:
    name: str
    object_type: str
    fields: list[str]
    friendly: str = ""


@dataclass
class FakeTwilio:
    bundles: dict[str, Bundle] = field(default_factory=dict)
    copies_of: dict[str, list[str]] = field(default_factory=dict)
    items: dict[str, list[ItemAssignment]] = field(default_factory=dict)
    end_users: dict[str, EndUser] = field(default_factory=dict)
    documents: dict[str, SupportingDocument] = field(default_factory=dict)
    requirements: list[Requirement] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    fresh_evaluation: dict[str, bool] = field(default_factory=dict)
    original_sid: str = ""
    keep_valid_until_on_replace: bool = False
    """Twilio keeps the original's valid_until through ReplaceItems (the loop guard's case)."""

    # -- setup ---------------------------------------------------------------------------
    @classmethod
    def seed(cls, *, valid_until: datetime | None = T0 + timedelta(days=30)) -> FakeTwilio:
        """The seed guide's French business bundle: an approved original with a valid_until,
        an end-user missing fields, two government IDs, and no power of attorney."""
        twilio = cls()
        original = sid("BU")
        twilio.original_sid = original
        twilio.bundles[original] = Bundle(
            sid=original,
            regulation_sid="RN" + "1" * 32,
            friendly_name="acme",
            status=BundleStatus.TWILIO_APPROVED,
            valid_until=valid_until,
        )
        twilio.copies_of[original] = []
        twilio.items[original] = []
        eu = twilio._add_end_user({"business_name": "Old SAS"})
        twilio._assign(original, eu)
        for doc_type, name, attrs in [
            ("commercial_registrar_excerpt", "kbis", {"business_name": "Old SAS"}),
            ("government_issued_document", "id-rep", {"first_name": "Old"}),
            ("government_issued_document", "id-poa", {"first_name": "Old"}),
        ]:
            twilio._assign(original, twilio._add_document(doc_type, name, attrs))
        twilio.requirements = [
            Requirement("business_info", "business", ["business_name", "first_name"]),
            Requirement(
                "business_reg_no_info", "commercial_registrar_excerpt", ["document_number"]
            ),
            Requirement("name_of_auth_rep_info", "government_issued_document", ["last_name"]),
            Requirement("power_of_attorney_info", "power_of_attorney", []),
        ]
        return twilio

    def _add_end_user(self, attributes: dict[str, Any]) -> str:
        new = sid("IT")
        self.end_users[new] = EndUser(sid=new, type="business", attributes=attributes)
        return new

    def _add_document(self, type_: str, name: str, attributes: dict[str, Any]) -> str:
        new = sid("RD")
        self.documents[new] = SupportingDocument(
            sid=new,
            friendly_name=name,
            type=type_,
            status=SupportingDocumentStatus.APPROVED,
            attributes=attributes,
        )
        return new

    def _assign(self, bundle_sid: str, object_sid: str) -> ItemAssignment:
        item = ItemAssignment(sid=sid("BV"), bundle_sid=bundle_sid, object_sid=object_sid)
        self.items[bundle_sid].append(item)
        return item

    # -- helpers for tests ---------------------------------------------------------------
    @property
    def original(self) -> Bundle:
        return self.bundles[self.original_sid]

    def live_copies(self) -> list[Bundle]:
        return [self.bundles[s] for s in self.copies_of[self.original_sid]]

    def set_status(self, bundle_sid: str, status: BundleStatus) -> None:
        self.bundles[bundle_sid] = self.bundles[bundle_sid].model_copy(update={"status": status})

    def review(self, *, approve: bool, reasons: dict[str, str] | None = None) -> None:
        """Twilio's reviewer decides on every copy in review."""
        for copy in self.live_copies():
            if copy.status not in (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW):
                continue
            self.set_status(
                copy.sid, BundleStatus.TWILIO_APPROVED if approve else BundleStatus.TWILIO_REJECTED
            )
            for item in self.items[copy.sid]:
                doc = self.documents.get(item.object_sid)
                if doc is not None and reasons and doc.type in reasons:
                    self.documents[doc.sid] = doc.model_copy(
                        update={
                            "status": SupportingDocumentStatus.REJECTED,
                            "failure_reason": reasons[doc.type],
                        }
                    )

    def objects_of(self, bundle_sid: str) -> list[EndUser | SupportingDocument]:
        out: list[EndUser | SupportingDocument] = []
        for item in self.items[bundle_sid]:
            if item.object_sid in self.end_users:
                out.append(self.end_users[item.object_sid])
            else:
                out.append(self.documents[item.object_sid])
        return out

    def write_count(self) -> int:
        return sum(n for call, n in self.calls.items() if not call.startswith("read:"))

    def assigned_anywhere(self) -> set[str]:
        return {i.object_sid for items in self.items.values() for i in items}

    # -- reads -----------------------------------------------------------------------------
    def observe(
        self, resource: RenewalResource, obs: Observation, parts: frozenset[ObservationPart]
    ) -> Observation:
        update: dict[str, Any] = {"read": obs.read | parts}
        spec = resource.spec
        listed = obs.copies if ObservationPart.COPIES in obs.read else tuple(self.live_copies())
        if ObservationPart.COPIES in parts:
            listed = tuple(self.live_copies())
        copies = rank_our_copies(resource, listed)
        copy_sid = copies[0].sid if copies and copies[0].sid in self.bundles else None
        for part in sorted(parts):
            self.calls[f"read:{part}"] += 1
            if part == ObservationPart.ORIGINAL:
                update["original"] = self.bundles.get(spec.bundle_sid)
            elif part == ObservationPart.COPIES:
                update["copies"] = tuple(
                    self.bundles[s] for s in self.copies_of.get(spec.bundle_sid, [])
                )
                update["ours"] = rank_our_copies(resource, update["copies"])
            elif part == ObservationPart.COPY_ITEMS:
                update["copy_items"] = tuple(self.items[copy_sid]) if copy_sid else ()
            elif part == ObservationPart.COPY_END_USER:
                users = (
                    [o for o in self.objects_of(copy_sid) if isinstance(o, EndUser)]
                    if copy_sid
                    else []
                )
                update["copy_end_user"] = users[0] if users else None
            elif part == ObservationPart.COPY_DOCUMENTS:
                update["copy_documents"] = tuple(
                    o
                    for o in (self.objects_of(copy_sid) if copy_sid else [])
                    if isinstance(o, SupportingDocument)
                )
            elif part == ObservationPart.ORIGINAL_ITEMS:
                update["original_items"] = tuple(self.items[spec.bundle_sid])
            elif part == ObservationPart.ORIGINAL_END_USER:
                users = [o for o in self.objects_of(spec.bundle_sid) if isinstance(o, EndUser)]
                update["original_end_user"] = users[0] if users else None
            elif part == ObservationPart.ORIGINAL_DOCUMENTS:
                update["original_documents"] = tuple(
                    o for o in self.objects_of(spec.bundle_sid) if isinstance(o, SupportingDocument)
                )
            elif part == ObservationPart.STRAY_DOCUMENTS:
                assigned = self.assigned_anywhere()
                update["stray_documents"] = tuple(
                    d
                    for d in self.documents.values()
                    if created_document_key(resource.uid, d.friendly_name) is not None
                    and d.sid not in assigned
                )
        return obs.model_copy(update=update)

    # -- writes ----------------------------------------------------------------------------
    def _not_original_object(self, object_sid: str) -> None:
        if any(i.object_sid == object_sid for i in self.items[self.original_sid]):
            raise InvariantBroken(f"write to {object_sid}, an item of the original bundle")

    def _copy_written(self, bundle_sid: str) -> None:
        self.fresh_evaluation[bundle_sid] = False

    def execute(self, action: Any) -> object:
        self.calls[action.kind] += 1
        original = self.original_sid
        match action:
            case CreateCopy():
                if action.original_sid != original:
                    raise InvariantBroken("copy of an unknown bundle")
                marked = [c for c in self.live_copies() if c.friendly_name == action.friendly_name]
                if marked:
                    raise InvariantBroken("a second live copy for the same resource")
                new = sid("BU")
                self.bundles[new] = self.original.model_copy(
                    update={
                        "sid": new,
                        "friendly_name": action.friendly_name,
                        "status": BundleStatus.DRAFT,
                    }
                )
                self.copies_of[original].append(new)
                self.items[new] = []
                for obj in self.objects_of(original):
                    if isinstance(obj, EndUser):
                        self._assign(new, self._add_end_user(dict(obj.attributes)))
                    else:
                        copied = self._add_document(
                            obj.type or "", obj.friendly_name or "", dict(obj.attributes)
                        )
                        self._assign(new, copied)
                return self.bundles[new]
            case UpdateEndUser():
                self._not_original_object(action.sid)
                self.end_users[action.sid] = self.end_users[action.sid].model_copy(
                    update={"attributes": action.attributes}
                )
                for bundle, items in self.items.items():
                    if any(i.object_sid == action.sid for i in items):
                        self._copy_written(bundle)
                return self.end_users[action.sid]
            case UpdateDocument():
                self._not_original_object(action.sid)
                self.documents[action.sid] = self.documents[action.sid].model_copy(
                    update={
                        "attributes": action.attributes,
                        "status": SupportingDocumentStatus.DRAFT,
                        "failure_reason": None,
                    }
                )
                for bundle, items in self.items.items():
                    if any(i.object_sid == action.sid for i in items):
                        self._copy_written(bundle)
                return self.documents[action.sid]
            case CreateDocument():
                new = self._add_document(action.type, action.friendly_name, dict(action.attributes))
                return self.documents[new]
            case AssignItem():
                if action.bundle_sid == original:
                    raise InvariantBroken("assignment to the original")
                self._copy_written(action.bundle_sid)
                return self._assign(action.bundle_sid, action.object_sid)
            case UnassignItem():
                if action.bundle_sid == original:
                    raise InvariantBroken("unassignment from the original")
                self._copy_written(action.bundle_sid)
                self.items[action.bundle_sid] = [
                    i for i in self.items[action.bundle_sid] if i.sid != action.assignment_sid
                ]
                return None
            case Evaluate():
                if action.bundle_sid == original:
                    raise InvariantBroken("evaluation of the original")
                evaluation = self._evaluate(action.bundle_sid)
                self.fresh_evaluation[action.bundle_sid] = (
                    evaluation.status == EvaluationStatus.COMPLIANT
                )
                return evaluation
            case Submit():
                if action.bundle_sid == original:
                    raise InvariantBroken("submission of the original")
                bundle = self.bundles[action.bundle_sid]
                if bundle.status not in (BundleStatus.DRAFT, BundleStatus.TWILIO_REJECTED):
                    raise InvariantBroken(f"submission of a {bundle.status} bundle")
                if not self.fresh_evaluation.get(action.bundle_sid):
                    raise InvariantBroken("submission without a fresh compliant evaluation")
                self.set_status(action.bundle_sid, BundleStatus.PENDING_REVIEW)
                return self.bundles[action.bundle_sid]
            case ReplaceItems():
                copy = self.bundles[action.copy_sid]
                if action.original_sid != original or copy.status != BundleStatus.TWILIO_APPROVED:
                    raise InvariantBroken("ReplaceItems from a copy that is not approved")
                if self.original.status != BundleStatus.TWILIO_APPROVED:
                    raise InvariantBroken("ReplaceItems into an original that is not approved")
                self.items[original] = [
                    i.model_copy(update={"bundle_sid": original})
                    for i in self.items[action.copy_sid]
                ]
                self.items[action.copy_sid] = []
                if not self.keep_valid_until_on_replace:
                    self.bundles[original] = self.original.model_copy(update={"valid_until": None})
                return self.original
            case DeleteCopy():
                if action.copy_sid == original or action.copy_sid not in self.copies_of[original]:
                    raise InvariantBroken(f"DeleteCopy of {action.copy_sid}, not a copy")
                self.copies_of[original].remove(action.copy_sid)
                del self.bundles[action.copy_sid]
                return None
            case DeleteDocument():
                document = self.documents.get(action.sid)
                if document is None or action.sid in self.assigned_anywhere():
                    raise InvariantBroken(f"DeleteDocument of {action.sid}: missing or assigned")
                if "bundle-renewal " not in (document.friendly_name or ""):
                    raise InvariantBroken(f"DeleteDocument of {action.sid}, not created by us")
                del self.documents[action.sid]
                return None
        raise AssertionError(f"unexpected action {action!r}")

    def _evaluate(self, bundle_sid: str) -> Evaluation:
        objects = self.objects_of(bundle_sid)
        results = []
        for req in self.requirements:
            if req.object_type == "business":
                candidates: list[Any] = [o for o in objects if isinstance(o, EndUser)]
            else:
                candidates = [
                    o
                    for o in objects
                    if isinstance(o, SupportingDocument) and o.type == req.object_type
                ]
            best_invalid: list[str] | None = None
            for obj in candidates:
                invalid = [f for f in req.fields if not obj.attributes.get(f)]
                if best_invalid is None or len(invalid) < len(best_invalid):
                    best_invalid = invalid
            passed = best_invalid == []
            invalid_fields = req.fields if best_invalid is None else best_invalid
            results.append(
                EvaluationRequirementResult(
                    requirement_name=req.name,
                    requirement_friendly_name=req.name.replace("_", " "),
                    object_type=req.object_type,
                    passed=passed,
                    failure_reason=None if passed else f"{req.object_type} missing",
                    error_code=None if passed else 22216,
                    invalid=[]
                    if passed
                    else [
                        EvaluationFieldResult(
                            object_field=f, failure_reason=f"{f} is missing", error_code=22217
                        )
                        for f in invalid_fields
                    ],
                )
            )
        status = (
            EvaluationStatus.COMPLIANT
            if all(r.passed for r in results)
            else EvaluationStatus.NONCOMPLIANT
        )
        return Evaluation(sid=sid("EL"), bundle_sid=bundle_sid, status=status, results=results)


@dataclass
class Run:
    resource: RenewalResource
    decisions: list[Decision]

    @property
    def last(self) -> Decision:
        return self.decisions[-1]

    @property
    def events(self) -> list[Event]:
        return [d.event for d in self.decisions if d.event is not None]


def resource(spec: dict[str, Any], twilio: FakeTwilio, generation: int = 1) -> RenewalResource:
    spec = {"bundleSid": twilio.original_sid, "credentialsSecretRef": {"name": "creds"}, **spec}
    return RenewalResource(
        uid=UID,
        namespace="telecom",
        name="acme",
        generation=generation,
        spec=BundleRenewalSpec.model_validate(spec),
    )


def with_spec(res: RenewalResource, spec: dict[str, Any]) -> RenewalResource:
    """The resource after `kubectl apply` of a new spec (generation bumped)."""
    full = {"bundleSid": res.spec.bundle_sid, "credentialsSecretRef": {"name": "creds"}, **spec}
    return res.model_copy(
        update={"spec": BundleRenewalSpec.model_validate(full), "generation": res.generation + 1}
    )


def reconcile(
    res: RenewalResource,
    twilio: FakeTwilio,
    now: datetime,
    *,
    crash_after_write: int | None = None,  # crash when Twilio has seen this many writes
    cleanup: bool = False,
    log: list[Decision] | None = None,
) -> Run:
    """One reconcile as the handlers run it: decide, persist status, act, fold, until no action."""
    decisions: list[Decision] = [] if log is None else log
    obs = Observation()
    for _ in range(100):
        decider = decide_cleanup if cleanup else decide
        decision = decider(res, obs, now, POLICY)
        decisions.append(decision)
        res = res.model_copy(update={"status": decision.status})
        action = decision.action
        if action is None:
            return Run(res, decisions)
        if isinstance(action, Observe):
            obs = twilio.observe(res, obs, action.parts)
            continue
        result = twilio.execute(action)
        writes = twilio.write_count()
        if crash_after_write is not None and writes == crash_after_write:
            raise Crash(res)
        obs = fold(obs, action, result)
    raise AssertionError("reconcile did not settle in 100 steps")
