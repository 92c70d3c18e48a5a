"""An in-memory Twilio behind the gateway port for the workflow's unit tests, and the real
reconcile loop run against it.

`FakeTwilio` implements `TwilioGateway` (and `list_supporting_documents`, so the gatherer looks
for stray documents) the way the docs describe Twilio: a copy duplicates the end-user and
documents, ReplaceItems moves the copy's items into the original and clears valid_until, an
unknown SID answers 404 (`TwilioNotFoundError`), a bundle under review cannot be deleted and the
items of a submitted bundle cannot change (400, `TwilioPermanentError`). It also enforces the
safety invariants itself, whichever code path asked: any write to the original bundle or to its
items (other than a ReplaceItems into it), a ReplaceItems from an unapproved copy, a Submit
without a fresh compliant evaluation, a second live copy for the same marker, or the deletion of
a document that we did not create or that a bundle holds raises `InvariantBroken` (and is
recorded in `broken`, so a loop that catches the exception still fails the test).

`reconcile()` runs `controller.engine.reconcile.reconcile`, the loop the operator runs: the real
gatherer and the real action runner (with its own guard) call the fake, so the tests go through
the one seam the operator has with Twilio. An action the runner's guard would refuse never
reaches the fake (it ends as a failure in status), so `reconcile()` checks every decided action
against the guard too and fails the test with `InvariantBroken` if it would be refused.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import controller.engine.reconcile as loop
from controller.adapters.cluster import ObjectNotFound
from controller.adapters.twilio_gateway.port import (
    TwilioCredentials,
    TwilioGateway,
    TwilioNotFoundError,
    TwilioPermanentError,
)
from controller.core.models import BundleRenewalSpec, BundleRenewalStatus
from controller.core.plan import (
    MARKER_PREFIX,
    Decision,
    ErrorKind,
    Event,
    Observation,
    Policy,
    RenewalResource,
)
from controller.core.twilio_models import (
    Bundle,
    BundleStatus,
    DocumentFile,
    EndUser,
    Evaluation,
    EvaluationFieldResult,
    EvaluationRequirementResult,
    EvaluationStatus,
    ItemAssignment,
    SupportingDocument,
    SupportingDocumentStatus,
)
from controller.core.workflow import decide, decide_cleanup
from controller.engine.actions import UnsafeActionRefused, check_safe
from controller.engine.regulation_cache import RegulationCache
from controller.engine.write_budget import WriteBudget

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
UID = "0b6c1a3e-2f4d-4c55-9a7e-6d1f2e3a4b5c"
POLICY = Policy()
ACCOUNT_SID = "AC" + "0" * 31 + "1"

# Twilio's error codes for the refusals the fake makes (as the simulator and the docs have them).
NOT_FOUND = 20404
INVALID_OBJECT_SID = 22205
ITEMS_LOCKED = 22207
OBJECT_IN_USE = 22208
ILLEGAL_STATUS_TRANSITION = 22209
FROM_BUNDLE_NOT_FOUND = 22225
FROM_BUNDLE_SAME = 22226

_EDITABLE = (BundleStatus.DRAFT, BundleStatus.TWILIO_REJECTED)
_UNDER_REVIEW = (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)


class InvariantBroken(AssertionError):
    pass


class Crash(BaseException):
    """The operator process died right after a Twilio write; `resource` is as last persisted.

    A BaseException, like the process dying: the loop's `except Exception` must not turn it into
    a recorded failure."""

    def __init__(self, resource: RenewalResource):
        super().__init__("crash")
        self.resource = resource


@dataclass
class CrashPoint:
    """Crash once Twilio has seen `after_write` writes, with the resource `persisted()` gives."""

    after_write: int
    persisted: Callable[[], RenewalResource]


_counter = itertools.count(1)


def new_sid(prefix: str) -> str:
    return f"{prefix}{next(_counter):032x}"


@dataclass
class Requirement:
    name: str
    object_type: str
    fields: list[str]
    friendly: str = ""


@dataclass
class FakeTwilio:
    """One Twilio account, answering the gateway port. `calls` counts every request by gateway
    method: reads as `read:<method>`, writes as `<method>`."""

    bundles: dict[str, Bundle] = field(default_factory=dict)
    copies_of: dict[str, list[str]] = field(default_factory=dict)
    items: dict[str, list[ItemAssignment]] = field(default_factory=dict)
    end_users: dict[str, EndUser] = field(default_factory=dict)
    documents: dict[str, SupportingDocument] = field(default_factory=dict)
    files: dict[str, DocumentFile] = field(default_factory=dict)
    """The file uploaded with each document that has one, by document SID."""
    requirements: list[Requirement] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    fresh_evaluation: dict[str, bool] = field(default_factory=dict)
    original_sid: str = ""
    keep_valid_until_on_replace: bool = False
    """Twilio keeps the original's valid_until through ReplaceItems (the loop guard's case)."""
    broken: list[str] = field(default_factory=list)
    """Every invariant violation seen, even one whose InvariantBroken somebody caught."""
    now: datetime = T0
    """Twilio's clock, for date_created (`reconcile()` sets it to the reconcile's time)."""
    crash: CrashPoint | None = None

    # -- setup ---------------------------------------------------------------------------
    @classmethod
    def seed(cls, *, valid_until: datetime | None = T0 + timedelta(days=30)) -> FakeTwilio:
        """The seed guide's French business bundle: an approved original with a valid_until,
        an end-user missing fields, two government IDs, and no power of attorney."""
        twilio = cls()
        original = new_sid("BU")
        twilio.original_sid = original
        twilio.bundles[original] = Bundle(
            sid=original,
            account_sid=ACCOUNT_SID,
            regulation_sid="RN" + "1" * 32,
            friendly_name="acme",
            status=BundleStatus.TWILIO_APPROVED,
            valid_until=valid_until,
            date_created=T0 - timedelta(days=365),
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
        new = new_sid("IT")
        self.end_users[new] = EndUser(sid=new, type="business", attributes=attributes)
        return new

    def _add_document(
        self, type_: str, name: str, attributes: dict[str, Any], mime_type: str | None = None
    ) -> str:
        new = new_sid("RD")
        self.documents[new] = SupportingDocument(
            sid=new,
            friendly_name=name,
            type=type_,
            mime_type=mime_type,
            status=SupportingDocumentStatus.APPROVED,
            attributes=attributes,
        )
        return new

    def _assign(self, bundle_sid: str, object_sid: str) -> ItemAssignment:
        item = ItemAssignment(sid=new_sid("BV"), bundle_sid=bundle_sid, object_sid=object_sid)
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
            if copy.status not in _UNDER_REVIEW:
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

    def reads(self) -> dict[str, int]:
        return {call: n for call, n in self.calls.items() if call.startswith("read:")}

    def writes(self) -> dict[str, int]:
        return {call: n for call, n in self.calls.items() if not call.startswith("read:")}

    def assigned_anywhere(self) -> set[str]:
        return {i.object_sid for items in self.items.values() for i in items}

    # -- Twilio's answers and the invariants ---------------------------------------------
    def _read(self, method: str) -> None:
        self.calls[f"read:{method}"] += 1

    def _write(self, method: str) -> None:
        self.calls[method] += 1

    def _landed(self) -> None:
        """A write was applied: the operator process may die now, before it hears the answer."""
        if self.crash is not None and self.write_count() == self.crash.after_write:
            raise Crash(self.crash.persisted())

    def _broken(self, message: str) -> InvariantBroken:
        self.broken.append(message)
        return InvariantBroken(message)

    @staticmethod
    def _not_found(what: str, sid: str) -> TwilioNotFoundError:
        return TwilioNotFoundError(
            f"The requested resource {what} {sid} was not found", status=404, code=NOT_FOUND
        )

    @staticmethod
    def _refused(code: int, message: str) -> TwilioPermanentError:
        return TwilioPermanentError(message, status=400, code=code)

    def _bundle(self, sid: str) -> Bundle:
        bundle = self.bundles.get(sid)
        if bundle is None:
            raise self._not_found("Bundle", sid)
        return bundle

    def _not_the_original(self, bundle_sid: str, what: str) -> None:
        if bundle_sid == self.original_sid:
            raise self._broken(f"{what} of the original bundle {bundle_sid}")

    def _not_original_object(self, object_sid: str) -> None:
        if any(i.object_sid == object_sid for i in self.items[self.original_sid]):
            raise self._broken(f"write to {object_sid}, an item of the original bundle")

    def _editable(self, bundle: Bundle) -> None:
        if bundle.status not in _EDITABLE:
            raise self._refused(
                ITEMS_LOCKED, f"Items of a bundle in status {bundle.status} cannot be changed"
            )

    def _object_written(self, object_sid: str) -> None:
        for bundle, items in self.items.items():
            if any(i.object_sid == object_sid for i in items):
                self.fresh_evaluation[bundle] = False

    # -- gateway port: reads ---------------------------------------------------------------
    async def fetch_bundle(self, sid: str) -> Bundle:
        self._read("fetch_bundle")
        return self._bundle(sid)

    async def list_bundle_copies(self, bundle_sid: str) -> list[Bundle]:
        """Newest first, as Twilio lists them."""
        self._read("list_bundle_copies")
        self._bundle(bundle_sid)
        copies = [self.bundles[s] for s in self.copies_of.get(bundle_sid, [])]
        return list(reversed(copies))

    async def list_item_assignments(self, bundle_sid: str) -> list[ItemAssignment]:
        self._read("list_item_assignments")
        self._bundle(bundle_sid)
        return list(self.items[bundle_sid])

    async def fetch_end_user(self, sid: str) -> EndUser:
        self._read("fetch_end_user")
        if sid not in self.end_users:
            raise self._not_found("EndUser", sid)
        return self.end_users[sid]

    async def fetch_supporting_document(self, sid: str) -> SupportingDocument:
        self._read("fetch_supporting_document")
        if sid not in self.documents:
            raise self._not_found("SupportingDocument", sid)
        return self.documents[sid]

    async def list_supporting_documents(self) -> list[SupportingDocument]:
        """Every document of the account (observe.SupportingDocumentLister)."""
        self._read("list_supporting_documents")
        return list(self.documents.values())

    # -- gateway port: writes --------------------------------------------------------------
    async def create_bundle_copy(self, bundle_sid: str, friendly_name: str) -> Bundle:
        self._write("create_bundle_copy")
        original = self._bundle(bundle_sid)
        if bundle_sid != self.original_sid:
            raise self._broken(f"copy of {bundle_sid}, not of the original")
        if any(c.friendly_name == friendly_name for c in self.live_copies()):
            raise self._broken(f"a second live copy named {friendly_name!r}")
        new = new_sid("BU")
        self.bundles[new] = original.model_copy(
            update={
                "sid": new,
                "friendly_name": friendly_name,
                "status": BundleStatus.DRAFT,
                "date_created": self.now,
                "date_updated": self.now,
            }
        )
        self.copies_of[bundle_sid].append(new)
        self.items[new] = []
        for obj in self.objects_of(bundle_sid):
            if isinstance(obj, EndUser):
                self._assign(new, self._add_end_user(dict(obj.attributes)))
            else:
                copied = self._add_document(
                    obj.type or "", obj.friendly_name or "", dict(obj.attributes), obj.mime_type
                )
                self._assign(new, copied)
        self._landed()
        return self.bundles[new]

    async def update_end_user(self, sid: str, attributes: dict[str, Any]) -> EndUser:
        self._write("update_end_user")
        if sid not in self.end_users:
            raise self._not_found("EndUser", sid)
        self._not_original_object(sid)
        self.end_users[sid] = self.end_users[sid].model_copy(update={"attributes": attributes})
        self._object_written(sid)
        self._landed()
        return self.end_users[sid]

    async def update_supporting_document(
        self, sid: str, attributes: dict[str, Any]
    ) -> SupportingDocument:
        self._write("update_supporting_document")
        if sid not in self.documents:
            raise self._not_found("SupportingDocument", sid)
        self._not_original_object(sid)
        self.documents[sid] = self.documents[sid].model_copy(
            update={
                "attributes": attributes,
                "status": SupportingDocumentStatus.DRAFT,
                "failure_reason": None,
            }
        )
        self._object_written(sid)
        self._landed()
        return self.documents[sid]

    async def create_supporting_document(
        self,
        friendly_name: str,
        type: str,
        attributes: dict[str, Any],
        file: DocumentFile | None,
    ) -> SupportingDocument:
        self._write("create_supporting_document")
        new = self._add_document(
            type, friendly_name, dict(attributes), file.content_type if file else None
        )
        if file is not None:
            self.files[new] = file
        self._landed()
        return self.documents[new]

    async def create_item_assignment(self, bundle_sid: str, object_sid: str) -> ItemAssignment:
        self._write("create_item_assignment")
        bundle = self._bundle(bundle_sid)
        self._not_the_original(bundle_sid, "item assignment")
        if object_sid not in self.end_users and object_sid not in self.documents:
            raise self._refused(INVALID_OBJECT_SID, f"ObjectSid {object_sid} was not found")
        self._editable(bundle)
        if any(i.object_sid == object_sid for i in self.items[bundle_sid]):
            raise self._refused(
                INVALID_OBJECT_SID, f"{object_sid} is already assigned to the bundle"
            )
        self.fresh_evaluation[bundle_sid] = False
        item = self._assign(bundle_sid, object_sid)
        self._landed()
        return item

    async def delete_item_assignment(self, bundle_sid: str, sid: str) -> None:
        self._write("delete_item_assignment")
        bundle = self._bundle(bundle_sid)
        self._not_the_original(bundle_sid, "item unassignment")
        if not any(i.sid == sid for i in self.items[bundle_sid]):
            raise self._not_found("ItemAssignment", sid)
        self._editable(bundle)
        self.fresh_evaluation[bundle_sid] = False
        self.items[bundle_sid] = [i for i in self.items[bundle_sid] if i.sid != sid]
        self._landed()

    async def create_evaluation(self, bundle_sid: str) -> Evaluation:
        self._write("create_evaluation")
        self._bundle(bundle_sid)
        self._not_the_original(bundle_sid, "evaluation")
        evaluation = self._evaluate(bundle_sid)
        self.fresh_evaluation[bundle_sid] = evaluation.status == EvaluationStatus.COMPLIANT
        self._landed()
        return evaluation

    async def submit_bundle(self, sid: str, status_callback: str | None) -> Bundle:
        self._write("submit_bundle")
        bundle = self._bundle(sid)
        self._not_the_original(sid, "submission")
        if bundle.status not in _EDITABLE:
            raise self._broken(f"submission of a {bundle.status} bundle")
        if not self.fresh_evaluation.get(sid):
            raise self._broken("submission without a fresh compliant evaluation")
        update: dict[str, Any] = {"status": BundleStatus.PENDING_REVIEW, "date_updated": self.now}
        if status_callback is not None:
            update["status_callback"] = status_callback
        self.bundles[sid] = bundle.model_copy(update=update)
        self._landed()
        return self.bundles[sid]

    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle:
        """On a copy only: the loop `reconcile()` runs does not set callbacks on originals."""
        self._write("set_status_callback")
        bundle = self._bundle(sid)
        self._not_the_original(sid, "StatusCallback update")
        self.bundles[sid] = bundle.model_copy(update={"status_callback": status_callback})
        self._landed()
        return self.bundles[sid]

    async def replace_items(self, bundle_sid: str, from_bundle_sid: str) -> Bundle:
        """The one write the original may get: its items replaced by an approved copy's."""
        self._write("replace_items")
        target = self._bundle(bundle_sid)
        if bundle_sid != self.original_sid:
            raise self._broken(f"ReplaceItems into {bundle_sid}, not the original")
        if from_bundle_sid == bundle_sid:
            raise self._refused(FROM_BUNDLE_SAME, "FromBundleSid must differ from the target")
        source = self.bundles.get(from_bundle_sid)
        if source is None:
            raise self._refused(
                FROM_BUNDLE_NOT_FOUND, f"FromBundleSid {from_bundle_sid} was not found"
            )
        if source.status != BundleStatus.TWILIO_APPROVED:
            raise self._broken(f"ReplaceItems from a {source.status} copy, not an approved one")
        if target.status != BundleStatus.TWILIO_APPROVED:
            raise self._broken(f"ReplaceItems into a {target.status} original")
        self.items[bundle_sid] = [
            i.model_copy(update={"bundle_sid": bundle_sid}) for i in self.items[from_bundle_sid]
        ]
        self.items[from_bundle_sid] = []
        if not self.keep_valid_until_on_replace:
            self.bundles[bundle_sid] = target.model_copy(update={"valid_until": None})
        self._landed()
        return self.bundles[bundle_sid]

    async def delete_bundle(self, sid: str) -> None:
        """Twilio refuses while the bundle is under review; its item assignments go with it
        (the end-users and documents stay in the account)."""
        self._write("delete_bundle")
        self._not_the_original(sid, "deletion")
        bundle = self._bundle(sid)
        if sid not in self.copies_of[self.original_sid]:
            raise self._broken(f"deletion of {sid}, not a copy of the original")
        if bundle.status in _UNDER_REVIEW:
            raise self._refused(
                ILLEGAL_STATUS_TRANSITION,
                f"Bundle {sid} cannot be deleted while it is {bundle.status}",
            )
        self.copies_of[self.original_sid].remove(sid)
        del self.bundles[sid]
        del self.items[sid]
        self.fresh_evaluation.pop(sid, None)
        self._landed()

    async def delete_supporting_document(self, sid: str) -> None:
        self._write("delete_supporting_document")
        document = self.documents.get(sid)
        if document is None:
            raise self._not_found("SupportingDocument", sid)
        if sid in self.assigned_anywhere():
            raise self._broken(f"deletion of document {sid}, which a bundle holds")
        if f"{MARKER_PREFIX} " not in (document.friendly_name or ""):
            raise self._broken(f"deletion of document {sid}, not created by us")
        del self.documents[sid]
        self.files.pop(sid, None)
        self._landed()

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
        return Evaluation(
            sid=new_sid("EL"),
            bundle_sid=bundle_sid,
            status=status,
            results=results,
            date_created=self.now,
        )


# -- the operator's side: the cluster objects, the sink, the loop ------------------------------

POA_PDF = b"%PDF-1.4 power of attorney"
CREDENTIALS = {"accountSid": ACCOUNT_SID.encode(), "authToken": b"t" * 32}


def default_secrets() -> dict[str, dict[str, bytes]]:
    """The Secrets the scenarios' resources name: the credentials (also under the name a
    renamed credentialsSecretRef uses) and the power of attorney's file."""
    return {"creds": dict(CREDENTIALS), "rotated": dict(CREDENTIALS), "poa": {"poa.pdf": POA_PDF}}


@dataclass
class Objects:
    """The cluster's Secrets and ConfigMaps (any namespace) as the operator reads them."""

    secrets: dict[str, dict[str, bytes]] = field(default_factory=default_secrets)
    config_maps: dict[str, dict[str, bytes]] = field(default_factory=dict)

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        if name not in self.secrets:
            raise ObjectNotFound("Secret", namespace, name)
        return self.secrets[name]

    async def read_config_map(self, namespace: str, name: str) -> dict[str, bytes]:
        if name not in self.config_maps:
            raise ObjectNotFound("ConfigMap", namespace, name)
        return self.config_maps[name]


@dataclass
class Gateways:
    """The gateway factory: every set of credentials reaches the same fake account."""

    twilio: FakeTwilio
    credentials: list[TwilioCredentials] = field(default_factory=list)
    priorities: list[float | None] = field(default_factory=list)

    def for_credentials(
        self, credentials: TwilioCredentials, *, priority: float | None = None
    ) -> TwilioGateway:
        self.credentials.append(credentials)
        self.priorities.append(priority)
        return self.twilio


@dataclass
class Sink:
    """Records what the loop persists (statuses) and posts (events)."""

    statuses: list[BundleRenewalStatus] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    async def write_status(self, status: BundleRenewalStatus) -> None:
        self.statuses.append(status)

    def note(self, status: BundleRenewalStatus) -> None:
        pass

    def post_event(self, event: Event) -> None:
        self.events.append(event)


@dataclass
class Run:
    resource: RenewalResource
    """The resource with the status the loop last persisted."""
    decisions: list[Decision]
    """Every decision the loop made (with `log`, the decisions of earlier runs before them),
    including the error decision of a failed action."""
    events: list[Event]
    """The events the loop posted in this run."""
    statuses: list[BundleRenewalStatus]
    """The statuses the loop wrote in this run, in order."""
    error: ErrorKind | None = None
    """Why the last action failed, if it did."""

    @property
    def last(self) -> Decision:
        return self.decisions[-1]


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
    budget: WriteBudget | None = None,
    objects: Objects | None = None,
    regulations: RegulationCache | None = None,
) -> Run:
    """One reconcile as the handlers run it (`controller.engine.reconcile.reconcile`, the
    clean-up one with `cleanup`), at the fixed time `now`, against `twilio`, with the cluster's
    Secrets and ConfigMaps in `objects` (`default_secrets()` when not given) and the process's
    regulation cache `regulations` (a fresh one when not given)."""
    decisions: list[Decision] = [] if log is None else log
    sink = Sink()
    decider = decide_cleanup if cleanup else decide

    def recording(
        current: RenewalResource, observation: Observation, at: datetime, policy: Policy
    ) -> Decision:
        decision = decider(current, observation, at, policy)
        decisions.append(decision)
        if decision.action is not None:
            # The runner's guard would refuse it (a failure in status, not at Twilio): the
            # workflow asked for an unsafe action, which breaks an invariant all the same.
            try:
                check_safe(res, decision.action, observation)
            except UnsafeActionRefused as exc:
                twilio.broken.append(f"the action runner's guard refuses it: {exc}")
        return decision

    def persisted() -> RenewalResource:
        status = sink.statuses[-1] if sink.statuses else res.status
        return res.model_copy(update={"status": status})

    deps = loop.Dependencies(
        gateways=Gateways(twilio),
        objects=objects if objects is not None else Objects(),
        policy=POLICY,
        clock=lambda: now,
        budget=budget or WriteBudget(),
        regulations=regulations or RegulationCache(),
    )
    twilio.now = now
    twilio.crash = None if crash_after_write is None else CrashPoint(crash_after_write, persisted)
    try:
        outcome = asyncio.run(
            loop.reconcile(
                res,
                deps,
                sink,
                decide=recording,
                remembered_credentials=cleanup,
                resolve_values=not cleanup,
            )
        )
    finally:
        twilio.crash = None
    if twilio.broken:
        raise InvariantBroken("; ".join(twilio.broken))
    if not decisions or outcome.decision is not decisions[-1]:
        decisions.append(outcome.decision)  # on_error's decision (status and backoff)
    return Run(persisted(), decisions, sink.events, sink.statuses, outcome.error)
