"""The vocabulary between the pure workflow and the I/O around it: what was seen, what to do next.

`controller.workflow.decide` turns (resource, Observation, now, Policy) into a Decision holding at
most one Action. The caller (handlers/actions) carries the action out through the Twilio gateway,
folds Twilio's answer back into the Observation with `fold`, and asks again, until a decision has
no action. Reading Twilio is an action too (`Observe`): the workflow asks for exactly the reads it
needs, so the number of Twilio calls per reconcile is decided, and tested, here.

Actions carry attribute values (they must reach Twilio), so their `attributes` are excluded from
repr: log an action with `describe()`, which names fields, never values.

Pure data and pure functions: no I/O, no clock, no environment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.models import BundleRenewalSpec, BundleRenewalStatus, DocumentFileSource
from controller.twilio_models import (
    Bundle,
    BundleStatus,
    EndUser,
    Evaluation,
    ItemAssignment,
    SupportingDocument,
)

MARKER_PREFIX = "bundle-renewal"


def copy_marker(uid: str) -> str:
    """Friendly name of the copy made for the resource with this UID (how it is found again)."""
    return f"{MARKER_PREFIX} {uid}"


def copy_owner(friendly_name: str | None) -> str | None:
    """The UID of the resource a copy was made for, if its friendly name is a copy marker (any
    resource's, not only this one's); None for a bundle nobody marked."""
    if friendly_name is None or not friendly_name.startswith(f"{MARKER_PREFIX} "):
        return None
    uid = friendly_name[len(MARKER_PREFIX) + 1 :]
    return uid if uid and " " not in uid else None


def document_marker(uid: str, key: str) -> str:
    """The marker in the friendly name of a supporting document created for the resource's spec
    entry `key` (the whole name, or the end of it after the user's friendlyName)."""
    return f"{MARKER_PREFIX} {uid} {key}"


def created_document_name(uid: str, key: str, friendly_name: str | None) -> str:
    """Friendly name for a document created for spec entry `key`: the marker, after the user's
    friendlyName in parentheses when one is given."""
    marker = document_marker(uid, key)
    return marker if friendly_name is None else f"{friendly_name} ({marker})"


def created_document_key(uid: str, friendly_name: str | None) -> str | None:
    """The spec entry key a document was created for, if its friendly name carries the marker of
    the resource with this UID; None for any other document."""
    if friendly_name is None:
        return None
    prefix = f"{MARKER_PREFIX} {uid} "
    name = friendly_name.removesuffix(")")
    start = name.find(prefix)
    if start < 0 or (start > 0 and not friendly_name.endswith(")")):
        return None
    key = name[start + len(prefix) :]
    return key or None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


class RenewalResource(_Frozen):
    """One BundleRenewal object as the workflow sees it."""

    uid: str
    namespace: str
    name: str
    generation: int
    spec: BundleRenewalSpec
    status: BundleRenewalStatus = Field(default_factory=BundleRenewalStatus)
    """The latest status: as last patched by the operator (pass the newest one you wrote)."""


class Policy(_Frozen):
    """Timing knobs (from settings), injected so the workflow reads no clock and no environment."""

    check_interval: float = Field(default=3600.0, gt=0)
    """Seconds between light checks of a Ready resource (one GET of the original bundle), and
    between re-checks while waiting on the user (NeedsInput, Rejected, permanent errors)."""
    review_poll_min: float = Field(default=30.0, gt=0)
    """First delay between polls of a copy in review."""
    review_poll_max: float = Field(default=1800.0, gt=0)
    """Longest delay between polls of a copy in review (the delay grows with the time waited)."""
    backoff_base: float = Field(default=5.0, gt=0)
    """Delay after the first failure; doubled for each further consecutive failure."""
    backoff_max: float = Field(default=600.0, gt=0)
    """Longest delay between retries after failures."""


class ObservationPart(StrEnum):
    """A piece of Twilio state the gatherer reads on request (one or a few calls each)."""

    ORIGINAL = "original"
    """fetch_bundle(spec.bundleSid); a 404 leaves `original` None."""
    COPIES = "copies"
    """list_bundle_copies(spec.bundleSid); a 404 (original gone) leaves the list empty."""
    COPY_ITEMS = "copy_items"
    """list_item_assignments(copy)."""
    COPY_END_USER = "copy_end_user"
    """fetch_end_user for the copy's item whose object SID starts with IT (needs COPY_ITEMS)."""
    COPY_DOCUMENTS = "copy_documents"
    """fetch_supporting_document for each copy item whose object SID starts with RD, in item
    order (needs COPY_ITEMS)."""
    ORIGINAL_ITEMS = "original_items"
    """list_item_assignments(spec.bundleSid): the original's items (a 404 is an error: the
    original was found a moment ago)."""
    ORIGINAL_END_USER = "original_end_user"
    """fetch_end_user for the original's item whose object SID starts with IT (needs
    ORIGINAL_ITEMS)."""
    ORIGINAL_DOCUMENTS = "original_documents"
    """fetch_supporting_document for each of the original's items whose object SID starts with
    RD, in item order (needs ORIGINAL_ITEMS). Requested to compare the original with a changed
    spec, and when the spec matches a document by its original SID."""
    STRAY_DOCUMENTS = "stray_documents"
    """Supporting documents for which created_document_key(uid, friendly_name) is not None and
    that are not assigned to the copy (a crash between create and assign). Gatherers that cannot
    list documents mark the part read and leave it empty."""


class Observation(_Frozen):
    """What is known of Twilio in this reconcile. A part's value is meaningful only once the part
    is in `read` (None/empty otherwise); `original` None with ORIGINAL read means 404."""

    read: frozenset[ObservationPart] = frozenset()
    original: Bundle | None = None
    copies: tuple[Bundle, ...] = ()
    ours: tuple[Bundle, ...] = ()
    """The copies in `copies` carrying this resource's marker, most advanced first, as the gatherer
    ranked them once when it read COPIES (`rank_our_copies`). The first is *the* copy: the one
    the workflow works on, the gatherer reads copy parts from, and the action guard lets writes
    reach. Nobody else decides which copy is ours."""
    copy_items: tuple[ItemAssignment, ...] = ()
    copy_end_user: EndUser | None = None
    copy_documents: tuple[SupportingDocument, ...] = ()
    original_items: tuple[ItemAssignment, ...] = ()
    original_end_user: EndUser | None = None
    original_documents: tuple[SupportingDocument, ...] = ()
    stray_documents: tuple[SupportingDocument, ...] = ()
    evaluation: Evaluation | None = None
    """An evaluation of the copy made after the latest write to it in this reconcile (only ever
    the result of an Evaluate action folded in; never an older one read from Twilio)."""

    def has(self, *parts: ObservationPart) -> bool:
        return all(p in self.read for p in parts)

    @property
    def our_copy(self) -> Bundle | None:
        """The copy the renewal works through (None: there is none)."""
        return self.ours[0] if self.ours else None


# --------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------


class Observe(_Frozen):
    """Read these parts of Twilio's state into the observation, then decide again."""

    kind: Literal["Observe"] = "Observe"
    parts: frozenset[ObservationPart]

    def describe(self) -> str:
        return "observe " + ", ".join(sorted(self.parts))


class CreateCopy(_Frozen):
    """POST Bundles/{original_sid}/Copies with the resource's marker as friendly name.
    On an ambiguous failure, re-list the copies instead of retrying."""

    kind: Literal["CreateCopy"] = "CreateCopy"
    original_sid: str
    friendly_name: str

    def describe(self) -> str:
        return f"copy bundle {self.original_sid}"


class UpdateEndUser(_Frozen):
    """POST EndUsers/{sid} with the full attribute set (current merged with the spec's)."""

    kind: Literal["UpdateEndUser"] = "UpdateEndUser"
    sid: str
    attributes: dict[str, Any] = Field(repr=False)
    changed_fields: tuple[str, ...]

    def describe(self) -> str:
        return f"update end-user {self.sid} fields {', '.join(self.changed_fields)}"


class UpdateDocument(_Frozen):
    """POST SupportingDocuments/{sid} with the full attribute set (current merged with spec)."""

    kind: Literal["UpdateDocument"] = "UpdateDocument"
    sid: str
    key: str
    attributes: dict[str, Any] = Field(repr=False)
    changed_fields: tuple[str, ...]

    def describe(self) -> str:
        return f"update document {self.sid} ({self.key}) fields {', '.join(self.changed_fields)}"


class CreateDocument(_Frozen):
    """Create a supporting document (uploading `file` when given, read from the Secret/ConfigMap
    key in the resource's namespace); the workflow assigns it to the copy next."""

    kind: Literal["CreateDocument"] = "CreateDocument"
    key: str
    type: str
    friendly_name: str
    attributes: dict[str, Any] = Field(repr=False)
    file: DocumentFileSource | None = None

    def describe(self) -> str:
        return f"create document {self.key} of type {self.type}"


class AssignItem(_Frozen):
    """POST Bundles/{bundle_sid}/ItemAssignments ObjectSid={object_sid}."""

    kind: Literal["AssignItem"] = "AssignItem"
    bundle_sid: str
    object_sid: str

    def describe(self) -> str:
        return f"assign {self.object_sid} to {self.bundle_sid}"


class UnassignItem(_Frozen):
    """DELETE Bundles/{bundle_sid}/ItemAssignments/{assignment_sid}."""

    kind: Literal["UnassignItem"] = "UnassignItem"
    bundle_sid: str
    assignment_sid: str
    object_sid: str

    def describe(self) -> str:
        return f"unassign {self.object_sid} from {self.bundle_sid}"


class Evaluate(_Frozen):
    """POST Bundles/{bundle_sid}/Evaluations."""

    kind: Literal["Evaluate"] = "Evaluate"
    bundle_sid: str

    def describe(self) -> str:
        return f"evaluate {self.bundle_sid}"


class Submit(_Frozen):
    """POST Bundles/{bundle_sid} Status=pending-review (StatusCallback from settings if any)."""

    kind: Literal["Submit"] = "Submit"
    bundle_sid: str

    def describe(self) -> str:
        return f"submit {self.bundle_sid} for review"


class ReplaceItems(_Frozen):
    """POST Bundles/{original_sid}/ReplaceItems FromBundleSid={copy_sid}."""

    kind: Literal["ReplaceItems"] = "ReplaceItems"
    original_sid: str
    copy_sid: str

    def describe(self) -> str:
        return f"replace items of {self.original_sid} from {self.copy_sid}"


class DeleteCopy(_Frozen):
    """DELETE Bundles/{copy_sid}. The executor must refuse copy_sid == original_sid."""

    kind: Literal["DeleteCopy"] = "DeleteCopy"
    copy_sid: str
    original_sid: str

    def describe(self) -> str:
        return f"delete copy {self.copy_sid}"


class DeleteDocument(_Frozen):
    """DELETE SupportingDocuments/{sid}: a document this resource created (its marker in the
    friendly name) that no bundle holds, so its personal data does not outlive the resource.
    The executor refuses any other document."""

    kind: Literal["DeleteDocument"] = "DeleteDocument"
    sid: str

    def describe(self) -> str:
        return f"delete unassigned document {self.sid}"


Action = Annotated[
    Observe
    | CreateCopy
    | UpdateEndUser
    | UpdateDocument
    | CreateDocument
    | AssignItem
    | UnassignItem
    | Evaluate
    | Submit
    | ReplaceItems
    | DeleteCopy
    | DeleteDocument,
    Field(discriminator="kind"),
]

WRITE_ACTIONS = (
    CreateCopy,
    UpdateEndUser,
    UpdateDocument,
    CreateDocument,
    AssignItem,
    UnassignItem,
    Evaluate,
    Submit,
    ReplaceItems,
    DeleteCopy,
    DeleteDocument,
)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class Event(_Frozen):
    """A Kubernetes event to post on the resource. Messages carry SIDs, field names, Twilio reasons
    and codes; never attribute values or secrets."""

    type: EventType
    reason: str
    message: str


class Decision(_Frozen):
    """The next step. Persist `status` (it already reflects everything observed so far), post
    `event`, then carry out `action`, fold its result into the observation and decide again.
    With no action the reconcile is over: requeue after `requeue_after` seconds (None: wait for
    a change of the resource)."""

    action: Action | None = None
    status: BundleRenewalStatus
    event: Event | None = None
    requeue_after: float | None = None


class ErrorKind(StrEnum):
    """How an action or observation failed (the caller maps gateway exceptions to these)."""

    TRANSIENT = "transient"
    """TwilioTransientError (429, 5xx, connection trouble), incl. ambiguous writes."""
    PERMANENT = "permanent"
    """TwilioPermanentError other than the two below (e.g. a 400 on an update)."""
    NOT_FOUND = "not_found"
    """TwilioNotFoundError on something other than the original (which Observe reports)."""
    AUTHENTICATION = "authentication"
    """TwilioAuthenticationError: the credentials were refused."""
    CREDENTIALS = "credentials"
    """The credentials Secret, one of its keys, or a document file source is missing/invalid."""


# --------------------------------------------------------------------------------------------
# Folding results back
# --------------------------------------------------------------------------------------------


def fold(observation: Observation, action: Action, result: object = None) -> Observation:
    """The observation after `action` succeeded with Twilio's answer `result`:
    CreateCopy -> Bundle (the copy), UpdateEndUser -> EndUser, UpdateDocument/CreateDocument ->
    SupportingDocument, AssignItem -> ItemAssignment, Evaluate -> Evaluation, Submit -> Bundle
    (the copy), ReplaceItems -> Bundle (the original), UnassignItem/DeleteCopy -> None.
    Every write to the copy drops the evaluation (it is no longer fresh). Observe actions are
    folded by the gatherer (it sets the parts and adds them to `read`)."""
    match action:
        case CreateCopy():
            assert isinstance(result, Bundle)
            return observation.model_copy(
                update={
                    "copies": (*observation.copies, result),
                    "ours": (*observation.ours, result),
                    "copy_items": (),
                    "evaluation": None,
                }
            )
        case UpdateEndUser():
            assert isinstance(result, EndUser)
            return observation.model_copy(update={"copy_end_user": result, "evaluation": None})
        case UpdateDocument():
            assert isinstance(result, SupportingDocument)
            documents = tuple(
                result if d.sid == result.sid else d for d in observation.copy_documents
            )
            return observation.model_copy(update={"copy_documents": documents, "evaluation": None})
        case CreateDocument():
            assert isinstance(result, SupportingDocument)
            return observation.model_copy(
                update={
                    "stray_documents": (*observation.stray_documents, result),
                    "read": observation.read | {ObservationPart.STRAY_DOCUMENTS},
                }
            )
        case AssignItem():
            assert isinstance(result, ItemAssignment)
            assigned = [d for d in observation.stray_documents if d.sid == result.object_sid]
            return observation.model_copy(
                update={
                    "copy_items": (*observation.copy_items, result),
                    "copy_documents": (*observation.copy_documents, *assigned),
                    "stray_documents": tuple(
                        d for d in observation.stray_documents if d.sid != result.object_sid
                    ),
                    "evaluation": None,
                }
            )
        case UnassignItem():
            return observation.model_copy(
                update={
                    "copy_items": tuple(
                        i for i in observation.copy_items if i.sid != action.assignment_sid
                    ),
                    "copy_documents": tuple(
                        d for d in observation.copy_documents if d.sid != action.object_sid
                    ),
                    "evaluation": None,
                }
            )
        case Evaluate():
            assert isinstance(result, Evaluation)
            return observation.model_copy(update={"evaluation": result})
        case Submit():
            assert isinstance(result, Bundle)
            return observation.model_copy(
                update={
                    "copies": _replace_bundle(observation.copies, result),
                    "ours": _replace_bundle(observation.ours, result),
                }
            )
        case ReplaceItems():
            assert isinstance(result, Bundle)
            # Twilio moves the copy's items into the original: the copy is left empty. Whether
            # the original's valid_until was cleared is read afresh, not taken from the answer.
            return observation.model_copy(
                update={
                    "original": None,
                    "read": observation.read - _ORIGINAL_PARTS,
                    "original_items": (),
                    "original_end_user": None,
                    "original_documents": (),
                    "copy_items": (),
                    "copy_end_user": None,
                    "copy_documents": (),
                    "evaluation": None,
                }
            )
        case DeleteCopy():
            return observation.model_copy(
                update={
                    "copies": tuple(c for c in observation.copies if c.sid != action.copy_sid),
                    "ours": tuple(c for c in observation.ours if c.sid != action.copy_sid),
                    "copy_items": (),
                    "copy_end_user": None,
                    "copy_documents": (),
                    "evaluation": None,
                }
            )
        case DeleteDocument():
            return observation.model_copy(
                update={
                    "stray_documents": tuple(
                        d for d in observation.stray_documents if d.sid != action.sid
                    )
                }
            )
        case Observe():
            raise ValueError("Observe actions are folded by the gatherer, not by fold()")
    raise TypeError(f"unknown action {action!r}")


_ORIGINAL_PARTS = frozenset(
    {
        ObservationPart.ORIGINAL,
        ObservationPart.ORIGINAL_ITEMS,
        ObservationPart.ORIGINAL_END_USER,
        ObservationPart.ORIGINAL_DOCUMENTS,
    }
)


def _replace_bundle(bundles: tuple[Bundle, ...], new: Bundle) -> tuple[Bundle, ...]:
    return tuple(new if b.sid == new.sid else b for b in bundles)


# How far along a copy is: when several carry one resource's marker the most advanced is kept.
COPY_PROGRESS: dict[str, int] = {
    BundleStatus.DRAFT: 0,
    BundleStatus.TWILIO_REJECTED: 1,
    BundleStatus.PENDING_REVIEW: 2,
    BundleStatus.IN_REVIEW: 3,
    BundleStatus.PROVISIONALLY_APPROVED: 4,
    BundleStatus.TWILIO_APPROVED: 5,
}


def rank_our_copies(resource: RenewalResource, copies: Iterable[Bundle]) -> tuple[Bundle, ...]:
    """The copies carrying this resource's marker (never the original), most advanced first; on a
    tie the one status.copySid names, then the oldest. The gatherer calls this once per listing
    and carries the result in `Observation.ours`."""
    marker = copy_marker(resource.uid)
    known = resource.status.copy_sid
    ours = [c for c in copies if c.friendly_name == marker and c.sid != resource.spec.bundle_sid]

    def rank(copy: Bundle) -> tuple[int, int, str, str]:
        created = copy.date_created.isoformat() if copy.date_created else ""
        progress = COPY_PROGRESS.get(copy.status, 0)
        return (-progress, 0 if copy.sid == known else 1, created, copy.sid)

    return tuple(sorted(ours, key=rank))


def is_write(action: Action | None) -> bool:
    """True for actions that change something at Twilio (everything but Observe)."""
    return isinstance(action, WRITE_ACTIONS)


def utc(moment: datetime) -> datetime:
    """Refuse naive datetimes: every time in the workflow is timezone-aware."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return moment
