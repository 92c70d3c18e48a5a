"""After Twilio approved the copy: replace the original's items from it, delete it, complete.

ReplaceItems keeps the original's SID and phone numbers. A crash after it is recovered from
Twilio alone: an approved copy found empty was replaced if the original's valid_until is gone or
the original holds the objects the copy held (`status.replacedObjectSids`).
"""

from __future__ import annotations

from controller.core.models import BundleRenewalStatus, Phase, Reason, RenewalOutcome, ReviewStatus
from controller.core.plan import Decision, DeleteCopy, ObservationPart, ReplaceItems
from controller.core.twilio_models import Bundle, BundleStatus
from controller.core.workflow import history
from controller.core.workflow.at_rest import (
    original_not_approved,
    renewal_due_reasons,
    valid_until_not_cleared,
)
from controller.core.workflow.context import Context
from controller.core.workflow.status import finish, in_progress, normal, warning


def approved(ctx: Context, status: BundleRenewalStatus, original: Bundle, copy: Bundle) -> Decision:
    review = status.review or ReviewStatus()
    status = status.model_copy(
        update={"review": review.model_copy(update={"status": copy.status, "failure_reasons": []})}
    )
    status = history.approved(ctx, status)
    if (observe := ctx.need(ObservationPart.COPY_ITEMS, status=status)) is not None:
        return observe
    if not ctx.obs.copy_items:
        return _emptied(ctx, status, original, copy)
    if original.status != BundleStatus.TWILIO_APPROVED:
        return original_not_approved(ctx, status, original)
    message = f"Twilio approved copy {copy.sid}; replacing the items of bundle {original.sid}"
    # After ReplaceItems, only this record tells a restart where the copy's items went: it is
    # persisted first, unless the submission's status already holds it (the usual case).
    moving = [i.object_sid for i in ctx.obs.copy_items]
    status = status.model_copy(update={"replaced_object_sids": moving})
    return in_progress(
        ctx,
        status,
        Reason.REPLACING_ITEMS,
        message,
        ReplaceItems(original_sid=original.sid, copy_sid=copy.sid),
        # No event of its own: seconds later the Completed event says it (an event is a write).
        quiet=True,
        checkpoint=frozenset({"replaced_object_sids"}),
    )


def _emptied(ctx: Context, status: BundleRenewalStatus, original: Bundle, copy: Bundle) -> Decision:
    """An approved copy without items: replaced (delete it) or lost (delete it, start over)."""
    moved = _items_moved_to(ctx, status, original)
    if isinstance(moved, Decision):
        return moved
    delete = DeleteCopy(copy_sid=copy.sid, original_sid=original.sid)
    if not moved:
        message = (
            f"approved copy {copy.sid} holds no items and bundle {original.sid} does not "
            "hold them either; deleting the copy and starting over"
        )
        status = status.model_copy(update={"items_replaced_at": None})
        return in_progress(
            ctx, status, Reason.COPY_LOST, message, delete, warning(Reason.COPY_LOST, message)
        )
    # ReplaceItems moved the copy's items into the original (maybe before a crash). Only the
    # empty copy is left to clean up.
    first = status.items_replaced_at is None
    status = status.model_copy(update={"items_replaced_at": status.items_replaced_at or ctx.now})
    message = f"items of copy {copy.sid} are in bundle {original.sid}; deleting the copy"
    event = normal(Reason.DELETING_COPY, message)
    if first:
        event = normal(Reason.REPLACING_ITEMS, f"items of {original.sid} replaced from {copy.sid}")
    return in_progress(ctx, status, Reason.DELETING_COPY, message, delete, event)


def _items_moved_to(ctx: Context, status: BundleRenewalStatus, original: Bundle) -> bool | Decision:
    """Whether the items of an approved copy found empty are in the original (ReplaceItems ran,
    maybe before a crash): its valid_until (read in this reconcile) is cleared, or it holds the
    objects the copy held when ReplaceItems was requested."""
    if original.valid_until is None:
        return True
    if not status.replaced_object_sids:
        return False
    if (observe := ctx.need(ObservationPart.ORIGINAL_ITEMS, status=status)) is not None:
        return observe
    held = {i.object_sid for i in ctx.obs.original_items}
    return set(status.replaced_object_sids) <= held


def completed(ctx: Context, status: BundleRenewalStatus, original: Bundle) -> Decision:
    """The copy is gone after its items were replaced: the renewal is done (unless ReplaceItems
    left the valid_until it was meant to clear: then Stalled, never a loop of renewals)."""
    review = status.review
    # Unknown (None) when a crash kept the submission out of status: compared again below.
    applied_generation = review.submitted_generation if review is not None else None
    copy_sid, started_for = status.copy_sid, status.renewing_valid_until
    status = status.model_copy(
        update={
            "copy_sid": None,
            "applied_generation": applied_generation,
            "renewing_valid_until": None,
            "valid_until_not_cleared": None,
            # ReplaceItems moved them into the original, which keeps them.
            "created_documents": [],
            # The copy is gone: its evaluation and review are no longer there to show (kubectl
            # get would show the deleted copy's status); status.history keeps their record.
            "evaluation": None,
            "review": None,
        }
    )
    valid_until = original.valid_until
    if valid_until is not None and started_for is not None and valid_until <= started_for:
        # ReplaceItems did not clear the valid_until it was meant to: renewing again would
        # only repeat this, review after review.
        status = status.model_copy(update={"valid_until_not_cleared": valid_until})
        status = history.ended(ctx, status, RenewalOutcome.VALID_UNTIL_NOT_CLEARED)
        decision = valid_until_not_cleared(ctx, status, original, started_for)
        if decision.event is not None:
            event = decision.event.model_copy(
                update={"message": f"items of copy {copy_sid} replaced; {decision.event.message}"}
            )
            decision = decision.model_copy(update={"event": event})
        return decision
    status = status.model_copy(update={"completed_at": ctx.now})
    status = history.ended(ctx, status, RenewalOutcome.COMPLETED)
    again = renewal_due_reasons(ctx.resource.model_copy(update={"status": status}), original)
    if applied_generation != ctx.generation:
        again.append(f"spec generation {ctx.generation} to compare with the bundle")
    message = f"bundle {original.sid} renewed" + (
        f" from copy {copy_sid}, approved by Twilio" if copy_sid else ""
    )
    if again:
        message += "; another renewal is due (" + "; ".join(again) + ")"
    status = ctx.state(status, Phase.COMPLETED, Reason.COMPLETED, message, ready=True)
    event = (warning if again else normal)(Reason.COMPLETED, message)
    return finish(
        ctx,
        status,
        event=event,
        requeue_after=ctx.policy.review_poll_min if again else ctx.policy.check_interval,
    )
