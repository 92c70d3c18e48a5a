"""What a decision names: at most one action, the status to persist, an event, a requeue delay.

Actions carry attribute values (they must reach Twilio), so their `attributes` are excluded from
repr: log an action with `describe()`, which names fields, never values. Pure.

Why a decision carries a checkpoint, and where: docs/design/checkpoints.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from controller.core.models import BundleRenewalStatus, DocumentFileSource
from controller.core.plan.observation import Frozen, ObservationPart


class Observe(Frozen):
    """Read these parts of Twilio's state into the observation, then decide again."""

    kind: Literal["Observe"] = "Observe"
    parts: frozenset[ObservationPart]

    def describe(self) -> str:
        return "observe " + ", ".join(sorted(self.parts))


class CreateCopy(Frozen):
    """POST Bundles/{original_sid}/Copies with the resource's marker as friendly name.
    On an ambiguous failure, re-list the copies instead of retrying."""

    kind: Literal["CreateCopy"] = "CreateCopy"
    original_sid: str
    friendly_name: str

    def describe(self) -> str:
        return f"copy bundle {self.original_sid}"


class UpdateEndUser(Frozen):
    """POST EndUsers/{sid} with the full attribute set (current merged with the spec's)."""

    kind: Literal["UpdateEndUser"] = "UpdateEndUser"
    sid: str
    attributes: dict[str, Any] = Field(repr=False)
    changed_fields: tuple[str, ...]

    def describe(self) -> str:
        return f"update end-user {self.sid} fields {', '.join(self.changed_fields)}"


class UpdateDocument(Frozen):
    """POST SupportingDocuments/{sid} with the full attribute set (current merged with spec)."""

    kind: Literal["UpdateDocument"] = "UpdateDocument"
    sid: str
    key: str
    attributes: dict[str, Any] = Field(repr=False)
    changed_fields: tuple[str, ...]

    def describe(self) -> str:
        return f"update document {self.sid} ({self.key}) fields {', '.join(self.changed_fields)}"


class CreateDocument(Frozen):
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


class AssignItem(Frozen):
    """POST Bundles/{bundle_sid}/ItemAssignments ObjectSid={object_sid}."""

    kind: Literal["AssignItem"] = "AssignItem"
    bundle_sid: str
    object_sid: str

    def describe(self) -> str:
        return f"assign {self.object_sid} to {self.bundle_sid}"


class UnassignItem(Frozen):
    """DELETE Bundles/{bundle_sid}/ItemAssignments/{assignment_sid}."""

    kind: Literal["UnassignItem"] = "UnassignItem"
    bundle_sid: str
    assignment_sid: str
    object_sid: str

    def describe(self) -> str:
        return f"unassign {self.object_sid} from {self.bundle_sid}"


class Evaluate(Frozen):
    """POST Bundles/{bundle_sid}/Evaluations."""

    kind: Literal["Evaluate"] = "Evaluate"
    bundle_sid: str

    def describe(self) -> str:
        return f"evaluate {self.bundle_sid}"


class EvaluateOriginal(Frozen):
    """POST Bundles/{bundle_sid}/Evaluations on the original bundle, for a dry run: what the
    bundle lacks under its regulation today. Twilio records an evaluation and changes nothing
    else (the bundle's status and items stay as they are), so this is the one request a dry
    run sends that is not a read."""

    kind: Literal["EvaluateOriginal"] = "EvaluateOriginal"
    bundle_sid: str

    def describe(self) -> str:
        return f"evaluate original bundle {self.bundle_sid} (dry run: changes nothing)"


class Submit(Frozen):
    """POST Bundles/{bundle_sid} Status=pending-review (StatusCallback from settings if any)."""

    kind: Literal["Submit"] = "Submit"
    bundle_sid: str

    def describe(self) -> str:
        return f"submit {self.bundle_sid} for review"


class ReplaceItems(Frozen):
    """POST Bundles/{original_sid}/ReplaceItems FromBundleSid={copy_sid}."""

    kind: Literal["ReplaceItems"] = "ReplaceItems"
    original_sid: str
    copy_sid: str

    def describe(self) -> str:
        return f"replace items of {self.original_sid} from {self.copy_sid}"


class DeleteCopy(Frozen):
    """DELETE Bundles/{copy_sid}. The executor must refuse copy_sid == original_sid."""

    kind: Literal["DeleteCopy"] = "DeleteCopy"
    copy_sid: str
    original_sid: str

    def describe(self) -> str:
        return f"delete copy {self.copy_sid}"


class DeleteDocument(Frozen):
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
    | EvaluateOriginal
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
    EvaluateOriginal,
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


class Event(Frozen):
    """A Kubernetes event to post on the resource. Messages carry SIDs, field names, Twilio reasons
    and codes; never attribute values or secrets."""

    type: EventType
    reason: str
    message: str


class Decision(Frozen):
    """The next step. Post `event`, carry out `action`, fold its result into the observation and
    decide again. `status` already reflects everything observed so far; it is persisted before
    the action only at a `checkpoint`, else when the reconcile ends (or fails). With no action
    the reconcile is over: requeue after `requeue_after` seconds (None: wait for a change of the
    resource)."""

    action: Action | None = None
    status: BundleRenewalStatus
    event: Event | None = None
    requeue_after: float | None = None
    checkpoint: frozenset[str] = frozenset()
    """Status fields that must be persisted before `action` (the whole status is written if any
    of them differs from what is persisted): what a restart could not learn from Twilio (a
    document requested but not yet known, the items ReplaceItems is about to move). Everything
    else is recovered by observing Twilio again, so those writes wait for the end."""


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
    VALUE_SECRET = "value_secret"  # noqa: S105 - a kind of failure, not a secret
    """A Secret or key that attribute values are read from is missing, unreadable or not UTF-8."""
    WRITE_BUDGET = "write_budget"
    """The resource made too many Twilio writes (per reconcile or per hour): a loop, stopped."""


def is_write(action: Action | None) -> bool:
    """True for actions that change something at Twilio (everything but Observe)."""
    return isinstance(action, WRITE_ACTIONS)
