"""Which copy the renewal works through: make one, keep one, and leave other resources' alone.

The gatherer ranks the copies carrying this resource's marker (`Observation.ours`, most
advanced first); the workflow works on the first, deletes extra ones, and refuses to start while
another resource's copy of the same bundle exists.
"""

from __future__ import annotations

from controller.core.models import BundleRenewalStatus, Reason
from controller.core.plan import (
    CreateCopy,
    Decision,
    DeleteCopy,
    ObservationPart,
    copy_marker,
    copy_owner,
)
from controller.core.twilio_models import Bundle, BundleStatus
from controller.core.workflow import history
from controller.core.workflow.at_rest import at_rest, original_not_approved, spec_changes
from controller.core.workflow.context import Context
from controller.core.workflow.documents import conflicting_entries, may_clash
from controller.core.workflow.preflight import preflight
from controller.core.workflow.replace import completed
from controller.core.workflow.status import failed, in_progress, normal, warning


def claimed_by_another(ctx: Context, status: BundleRenewalStatus) -> Decision | None:
    """Stalled (no write) if a copy of the bundle carries another resource's marker: two
    BundleRenewals renewing one bundle would submit twice and replace its items twice. The other
    copy is never touched; deleting the other resource deletes it. None: no such copy."""
    uid, bundle_sid = ctx.resource.uid, ctx.spec.bundle_sid
    claims = [
        c
        for c in ctx.obs.copies
        if c.sid != bundle_sid and copy_owner(c.friendly_name) not in (None, uid)
    ]
    if not claims:
        return None
    claim = claims[0]
    message = (
        f"bundle {bundle_sid} is being renewed by another BundleRenewal (uid "
        f"{copy_owner(claim.friendly_name)}) through copy {claim.sid}; waiting until that "
        "copy is gone (deleting that BundleRenewal deletes it)"
    )
    return failed(ctx, status, Reason.BUNDLE_CLAIMED, message)


def delete_duplicate(ctx: Context, status: BundleRenewalStatus) -> Decision:
    ours = ctx.obs.ours
    keep, extra = ours[0], ours[-1]
    message = f"found {len(ours)} copies for this renewal; keeping {keep.sid}, deleting {extra.sid}"
    return in_progress(
        ctx,
        status,
        Reason.DUPLICATE_COPY,
        message,
        DeleteCopy(copy_sid=extra.sid, original_sid=ctx.spec.bundle_sid),
        warning(Reason.DUPLICATE_COPY, message),
    )


def _clash_in_original(ctx: Context, status: BundleRenewalStatus) -> Decision | None:
    """Refuse, before the first write, a spec whose entries would land on one document: the copy
    will hold the original's documents, so they are checked there (read only when two entries
    share a type)."""
    if not may_clash(ctx.spec):
        return None
    parts = (ObservationPart.ORIGINAL_ITEMS, ObservationPart.ORIGINAL_DOCUMENTS)
    if (observe := ctx.need(*parts, status=status)) is not None:
        return observe
    return conflicting_entries(ctx, status, ctx.obs.original_documents, in_original=True)


def _replaced_before_it_went(
    ctx: Context, status: BundleRenewalStatus, original: Bundle
) -> bool | Decision:
    """Whether the copy that is gone had its items moved into the original first: recorded, or
    (a crash between ReplaceItems, the copy's deletion and the next status write) the original
    holds the objects recorded for the move and its valid_until is gone or newer."""
    if status.items_replaced_at is not None:
        return True
    if not status.replaced_object_sids:
        return False
    if (observe := ctx.need(ObservationPart.ORIGINAL_ITEMS, status=status)) is not None:
        return observe
    held = {i.object_sid for i in ctx.obs.original_items}
    return set(status.replaced_object_sids) <= held


def no_copy(
    ctx: Context, status: BundleRenewalStatus, original: Bundle, due: list[str]
) -> Decision:
    """No copy of ours exists: the renewal completed (its items were replaced), or one is due and
    a copy is made (after a warning if the copy we had is lost, and once the preflight accepts
    the spec's names), or nothing is to do."""
    if status.copy_sid is not None:
        replaced = _replaced_before_it_went(ctx, status, original)
        if isinstance(replaced, Decision):
            return replaced
        if replaced:
            return completed(ctx, status, original)
    event = None
    if status.copy_sid is not None:
        event = warning(
            Reason.COPY_LOST,
            f"copy {status.copy_sid} no longer exists and its items were not replaced",
        )
    status = status.model_copy(
        update={"copy_sid": None, "evaluation": None, "review": None, "items_replaced_at": None}
    )
    if not due:
        # The copy of a renewal for a spec change is gone: compare again.
        changes = spec_changes(ctx, status)
        if isinstance(changes, Decision):
            return changes
        if not changes:
            return at_rest(ctx, status, original)
        due = changes
    if original.status != BundleStatus.TWILIO_APPROVED:
        return original_not_approved(ctx, status, original)
    if (refused := preflight(ctx, status)) is not None:
        return refused
    if (clash := _clash_in_original(ctx, status)) is not None:
        return clash
    message = "renewal due (" + "; ".join(due) + f"): copying bundle {original.sid}"
    status = status.model_copy(
        update={
            "renewing_valid_until": original.valid_until,
            "replaced_object_sids": [],
            "created_documents": [],
        }
    )
    status = history.start(ctx, status, original)
    action = CreateCopy(original_sid=original.sid, friendly_name=copy_marker(ctx.resource.uid))
    return in_progress(
        ctx,
        status,
        Reason.CREATING_COPY,
        message,
        action,
        event or normal(Reason.RENEWAL_DUE, message),
        # A renewal starts on the record (and only if status can be written at all: a copy is
        # a review's worth of work nobody could follow otherwise), with the valid_until it is for.
        checkpoint=frozenset({"renewing_valid_until", "phase"}),
    )
