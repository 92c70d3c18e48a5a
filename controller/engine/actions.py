"""Carries out one workflow Action through the Twilio gateway and folds the answer back in.

The workflow already never targets the original bundle with a write; this module checks it again
right before the request leaves (a last line of defence that does not trust the decision): the
original may only be the destination of ReplaceItems, never deleted, submitted, or have items
assigned or unassigned directly; items are only assigned to or unassigned from this resource's
copy; only end-users and documents that are items of that copy (read this reconcile) and not of
the original are updated; a document is only deleted if this resource created it and neither
the copy nor the original holds it; a copy is only created under this resource's marker; and
the original is only evaluated for a dry run.
A document created with a file gets the file from a Secret or ConfigMap key in the resource's
namespace. Failures come out as `ActionFailed` with the workflow's ErrorKind, and a message that
carries SIDs and Twilio's reason/code, never an attribute value or a secret.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from controller.adapters.cluster import ClusterAccessError, ObjectNotFound
from controller.adapters.twilio_gateway.port import (
    TwilioAuthenticationError,
    TwilioError,
    TwilioGateway,
    TwilioNotFoundError,
    TwilioPermanentError,
    TwilioTransientError,
)
from controller.core.models import DocumentFileSource
from controller.core.plan import (
    Action,
    AssignItem,
    CreateCopy,
    CreateDocument,
    DeleteCopy,
    DeleteDocument,
    ErrorKind,
    Evaluate,
    EvaluateOriginal,
    Observation,
    ObservationPart,
    Observe,
    RenewalResource,
    ReplaceItems,
    Submit,
    UnassignItem,
    UpdateDocument,
    UpdateEndUser,
    copy_marker,
    created_document_key,
    fold,
)
from controller.core.twilio_models import BundleStatus, DocumentFile
from controller.engine.credentials import CredentialsError
from controller.engine.observe import gather
from controller.engine.regulation_cache import AccountRegulations
from controller.engine.write_budget import WriteBudget, WriteBudgetExceeded

# Twilio error: a bundle cannot be deleted while it is pending-review or in-review.
BUNDLE_UNDER_REVIEW = 22209
_UNDER_REVIEW = (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)


class ObjectSource(Protocol):
    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]: ...

    async def read_config_map(self, namespace: str, name: str) -> dict[str, bytes]: ...


class UnsafeActionRefused(Exception):
    """An action would have touched the original bundle (or someone else's objects)."""


class ActionFailed(Exception):
    """An action or a read failed; `kind` tells the workflow how to react."""

    def __init__(self, kind: ErrorKind, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def check_safe(resource: RenewalResource, action: Action, observation: Observation) -> None:
    """Raise UnsafeActionRefused unless `action` leaves the original bundle alone (and, for a
    deletion, targets a copy made for this resource)."""
    original = resource.spec.bundle_sid
    match action:
        case CreateCopy():
            if action.original_sid != original:
                raise UnsafeActionRefused(f"refusing to copy {action.original_sid}, not {original}")
            if action.friendly_name != copy_marker(resource.uid):
                raise UnsafeActionRefused(
                    "refusing to create a copy without this resource's marker"
                )
        case AssignItem() | UnassignItem():
            if action.bundle_sid == original:
                raise UnsafeActionRefused(
                    f"refusing to {action.describe()}: {original} is the original bundle"
                )
            _require_our_copy(resource, action, action.bundle_sid, observation)
        case Submit():
            if action.bundle_sid == original:
                raise UnsafeActionRefused(
                    f"refusing to {action.describe()}: {original} is the original bundle"
                )
        case DeleteCopy():
            if action.copy_sid in (original, action.original_sid):
                raise UnsafeActionRefused(f"refusing to delete the original bundle {original}")
            if action.copy_sid not in _our_copy_sids(resource, observation):
                raise UnsafeActionRefused(
                    f"refusing to delete {action.copy_sid}: not a copy made for this resource"
                )
        case ReplaceItems():
            if action.original_sid != original:
                raise UnsafeActionRefused(
                    f"refusing to replace items of {action.original_sid}, not {original}"
                )
            if action.copy_sid == original:
                raise UnsafeActionRefused("refusing to replace the original's items from itself")
        case UpdateEndUser() | UpdateDocument():
            _require_copy_object(action, action.sid, observation)
        case DeleteDocument():
            _require_deletable_document(resource, action, observation)
        case CreateDocument():
            if created_document_key(resource.uid, action.friendly_name) != action.key:
                raise UnsafeActionRefused(
                    f"refusing to create document {action.key} without this resource's marker"
                )
        case EvaluateOriginal():
            if action.bundle_sid != original or not resource.spec.dry_run:
                raise UnsafeActionRefused(
                    f"refusing to {action.describe()}: only the original of a dry run is evaluated"
                )
        case Evaluate() | Observe():
            pass


def _our_copy_sids(resource: RenewalResource, observation: Observation) -> set[str]:
    """The copies the gatherer took for ours (`Observation.ours`), re-checked here without trusting
    it: each carries this resource's marker and is not the original."""
    marker, original = copy_marker(resource.uid), resource.spec.bundle_sid
    return {c.sid for c in observation.ours if c.friendly_name == marker and c.sid != original}


def _require_our_copy(
    resource: RenewalResource, action: Action, bundle_sid: str, observation: Observation
) -> None:
    if bundle_sid not in _our_copy_sids(resource, observation):
        raise UnsafeActionRefused(
            f"refusing to {action.describe()}: {bundle_sid} is not a copy made for this resource"
        )


def _require_copy_object(action: Action, sid: str, observation: Observation) -> None:
    """An end-user or document may only be edited when it is one of the copy's items, as read
    this reconcile, and not one of the original's (the copy holds new instances of them)."""
    if not observation.has(ObservationPart.COPY_ITEMS) or sid not in {
        i.object_sid for i in observation.copy_items
    }:
        raise UnsafeActionRefused(
            f"refusing to {action.describe()}: {sid} is not an item of this resource's copy"
        )
    if observation.has(ObservationPart.ORIGINAL_ITEMS) and sid in {
        i.object_sid for i in observation.original_items
    }:
        raise UnsafeActionRefused(
            f"refusing to {action.describe()}: {sid} is an item of the original bundle"
        )


def _require_deletable_document(
    resource: RenewalResource, action: DeleteDocument, observation: Observation
) -> None:
    """Only a document this resource created (marker), read this reconcile among the stray ones,
    and held by neither the copy nor the original (items read this reconcile). Twilio itself
    refuses to delete a document another bundle holds."""
    stray = next((d for d in observation.stray_documents if d.sid == action.sid), None)
    if (
        not observation.has(ObservationPart.STRAY_DOCUMENTS)
        or stray is None
        or created_document_key(resource.uid, stray.friendly_name) is None
    ):
        raise UnsafeActionRefused(
            f"refusing to {action.describe()}: not a document created for this resource"
        )
    for part, items, holder in (
        (ObservationPart.COPY_ITEMS, observation.copy_items, "the copy"),
        (ObservationPart.ORIGINAL_ITEMS, observation.original_items, "the original bundle"),
    ):
        if not observation.has(part):
            raise UnsafeActionRefused(
                f"refusing to {action.describe()}: {holder}'s items were not read"
            )
        if action.sid in {i.object_sid for i in items}:
            raise UnsafeActionRefused(f"refusing to {action.describe()}: {holder} holds it")


async def read_document_file(
    objects: ObjectSource, namespace: str, source: DocumentFileSource
) -> DocumentFile:
    """The file named by a spec's `file` source, or CredentialsError saying what is missing."""
    if source.secret_key_ref is not None:
        kind, ref = "Secret", source.secret_key_ref
        read = objects.read_secret
    elif source.config_map_key_ref is not None:
        kind, ref = "ConfigMap", source.config_map_key_ref
        read = objects.read_config_map
    else:  # the model refuses this; keep mypy and readers sure
        raise CredentialsError("document file source names neither a Secret nor a ConfigMap")
    try:
        data = await read(namespace, ref.name)
    except ObjectNotFound:
        raise CredentialsError(f"{kind} {ref.name} not found in namespace {namespace}") from None
    content = data.get(ref.key)
    if content is None:
        raise CredentialsError(f"{kind} {ref.name} has no key {ref.key}")
    if not content:
        raise CredentialsError(f"{kind} {ref.name} key {ref.key} is empty")
    return DocumentFile(filename=source.filename, content_type=source.content_type, content=content)


class ActionRunner:
    """Runs actions for one resource with one gateway (one reconcile). With a `budget`, every
    write spends from it first, and a write beyond it is refused (ErrorKind.WRITE_BUDGET).
    `regulations` (the process's cache, bound to this account) serves the regulation parts."""

    def __init__(
        self,
        gateway: TwilioGateway,
        resource: RenewalResource,
        objects: ObjectSource,
        status_callback: str | None,
        budget: WriteBudget | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        regulations: AccountRegulations | None = None,
    ):
        self.gateway = gateway
        self.regulations = regulations
        self.resource = resource
        self.objects = objects
        self.status_callback = status_callback
        self.budget = budget
        self.clock = clock
        self.writes = 0

    async def run(self, action: Action, observation: Observation) -> Observation:
        """The observation after `action`; ActionFailed if it could not be done."""
        try:
            check_safe(self.resource, action, observation)
            if isinstance(action, Observe):
                return await gather(
                    self.gateway, self.resource, observation, action.parts, self.regulations
                )
            if self.budget is not None:
                self.budget.spend(self.resource.uid, self.clock(), self.writes)
            self.writes += 1
            result = await self._write(action)
        except UnsafeActionRefused as exc:
            raise ActionFailed(ErrorKind.PERMANENT, str(exc)) from None
        except WriteBudgetExceeded as exc:
            raise ActionFailed(
                ErrorKind.WRITE_BUDGET, f"refusing to {action.describe()}: {exc}"
            ) from None
        except CredentialsError as exc:
            raise ActionFailed(ErrorKind.CREDENTIALS, str(exc)) from None
        except ClusterAccessError as exc:
            raise ActionFailed(cluster_error_kind(exc), str(exc)) from None
        except TwilioError as exc:
            kind = error_kind(exc)
            message = describe_twilio_error(action, exc)
            if isinstance(action, DeleteCopy) and _refused_under_review(action, observation, exc):
                # Twilio keeps a bundle under review until its decision; then it can go.
                kind = ErrorKind.TRANSIENT
                message += "; retrying once Twilio's review of the copy ends"
            raise ActionFailed(kind, message) from None
        return fold(observation, action, result)

    async def _write(self, action: Action) -> object:
        gateway = self.gateway
        match action:
            case CreateCopy():
                return await gateway.create_bundle_copy(action.original_sid, action.friendly_name)
            case UpdateEndUser():
                return await gateway.update_end_user(action.sid, action.attributes)
            case UpdateDocument():
                return await gateway.update_supporting_document(action.sid, action.attributes)
            case CreateDocument():
                file = None
                if action.file is not None:
                    file = await read_document_file(
                        self.objects, self.resource.namespace, action.file
                    )
                return await gateway.create_supporting_document(
                    action.friendly_name, action.type, action.attributes, file
                )
            case AssignItem():
                return await gateway.create_item_assignment(action.bundle_sid, action.object_sid)
            case UnassignItem():
                await gateway.delete_item_assignment(action.bundle_sid, action.assignment_sid)
                return None
            case Evaluate() | EvaluateOriginal():
                return await gateway.create_evaluation(action.bundle_sid)
            case Submit():
                return await gateway.submit_bundle(action.bundle_sid, self.status_callback)
            case ReplaceItems():
                return await gateway.replace_items(action.original_sid, action.copy_sid)
            case DeleteCopy():
                # Already gone (a crash after the delete): the goal is reached.
                with contextlib.suppress(TwilioNotFoundError):
                    await gateway.delete_bundle(action.copy_sid)
                return None
            case DeleteDocument():
                with contextlib.suppress(TwilioNotFoundError):
                    await gateway.delete_supporting_document(action.sid)
                return None
        raise TypeError(f"not a write action: {action!r}")


def _refused_under_review(action: DeleteCopy, observation: Observation, exc: TwilioError) -> bool:
    """Twilio refused to delete the copy because it is being reviewed (by the error code, or a
    400 on a copy last seen under review)."""
    if exc.code == BUNDLE_UNDER_REVIEW:
        return True
    copy = next((c for c in observation.copies if c.sid == action.copy_sid), None)
    return exc.status == 400 and copy is not None and copy.status in _UNDER_REVIEW


def cluster_error_kind(exc: ClusterAccessError) -> ErrorKind:
    """A failed Secret/ConfigMap read: a server error is transient; a refusal (403: the operator
    may not read it, RBAC) is the user's to fix, like a missing Secret."""
    return ErrorKind.TRANSIENT if (exc.status or 500) >= 500 else ErrorKind.CREDENTIALS


def error_kind(exc: TwilioError) -> ErrorKind:
    if isinstance(exc, TwilioAuthenticationError):
        return ErrorKind.AUTHENTICATION
    if isinstance(exc, TwilioNotFoundError):
        return ErrorKind.NOT_FOUND
    if isinstance(exc, TwilioPermanentError):
        return ErrorKind.PERMANENT
    if isinstance(exc, TwilioTransientError):
        return ErrorKind.TRANSIENT
    return ErrorKind.TRANSIENT


def describe_twilio_error(action: Action, exc: TwilioError) -> str:
    """`<what we did> failed: <Twilio's message> (HTTP <status>, Twilio code <code>)`. The gateway's
    messages carry Twilio's text and SIDs only."""
    details = []
    if exc.status is not None:
        details.append(f"HTTP {exc.status}")
    if exc.code is not None and exc.code != exc.status:
        details.append(f"Twilio code {exc.code}")
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{action.describe()} failed: {exc}{suffix}"
