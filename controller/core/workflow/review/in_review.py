"""While Twilio reviews the copy: poll it with a growing delay, and report a rejection.

A copy in review is polled after a fraction of the time already waited (within the policy's
bounds): quick answers are seen quickly, a 24-hour review costs a few dozen GETs. A rejected copy
waits for a spec change that alters it (edit.py resubmits it) or a new spec.renewalRequest.
"""

from __future__ import annotations

from controller.core.models import (
    BundleRenewalStatus,
    DocumentFailure,
    Phase,
    Reason,
    ReviewStatus,
)
from controller.core.plan import Decision, Event, ObservationPart
from controller.core.twilio_models import Bundle, BundleStatus, SupportingDocumentStatus
from controller.core.workflow import history
from controller.core.workflow.at_rest import renewal_requested
from controller.core.workflow.context import Context
from controller.core.workflow.status import finish, normal, stalled

IN_REVIEW = (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)
_REVIEW_POLL_FRACTION = 0.25


def in_review(
    ctx: Context, status: BundleRenewalStatus, copy: Bundle, event: Event | None = None
) -> Decision:
    review = status.review
    if review is None or review.status not in (*IN_REVIEW, BundleStatus.PROVISIONALLY_APPROVED):
        # A new submission (ours, just now, or one a crash kept out of status): what was
        # submitted is what the last compliant evaluation saw. With no evaluation on record
        # (a crash lost it), which spec was submitted is unknown: left unset, so that once the
        # copy is in the original the spec is compared with it again (the simulation test found
        # a spec edited meanwhile taken for applied).
        evaluated = status.evaluation.generation if status.evaluation else None
        review = ReviewStatus(submitted_at=ctx.now, submitted_generation=evaluated)
        status = status.model_copy(update={"last_renewal_request": ctx.spec.renewal_request})
        status = history.submitted(ctx, status, review.submitted_generation)
        event = event or normal(Reason.IN_REVIEW, f"copy {copy.sid} submitted for review")
    review = review.model_copy(update={"status": copy.status, "failure_reasons": []})
    message = f"copy {copy.sid} is {copy.status}; waiting for Twilio's review"
    status = status.model_copy(update={"review": review, "copy_sid": copy.sid})
    status = ctx.state(status, Phase.IN_REVIEW, Reason.IN_REVIEW, message, ready=True)
    return finish(
        ctx,
        status,
        event=event or normal(Reason.IN_REVIEW, message),
        requeue_after=_poll_delay(ctx, status, review),
    )


def _poll_delay(ctx: Context, status: BundleRenewalStatus, review: ReviewStatus) -> float:
    """A fraction of the time waited, within the policy's bounds, and no later than just after
    the original's valid_until: Ready turns False then, not up to a poll interval later."""
    waited = 0.0
    if review.submitted_at is not None:
        waited = max(0.0, (ctx.now - review.submitted_at).total_seconds())
    policy = ctx.policy
    delay = min(policy.review_poll_max, max(policy.review_poll_min, waited * _REVIEW_POLL_FRACTION))
    valid_until = status.original.valid_until if status.original is not None else None
    if valid_until is not None and valid_until > ctx.now:
        delay = min(delay, (valid_until - ctx.now).total_seconds() + 1.0)
    return delay


def resubmission_wanted(ctx: Context, status: BundleRenewalStatus) -> bool:
    """A rejected copy is looked at again once the spec changed since its submission (it is
    resubmitted only if the change alters it, see `edit`), or a renewal is requested."""
    review = status.review
    return (
        review is None
        or review.submitted_generation != ctx.generation
        or renewal_requested(ctx.resource)
    )


def rejected(ctx: Context, status: BundleRenewalStatus, copy: Bundle) -> Decision:
    observe = ctx.need(ObservationPart.COPY_ITEMS, ObservationPart.COPY_DOCUMENTS, status=status)
    if observe is not None:
        return observe
    failures = [
        DocumentFailure(document_sid=d.sid, type=d.type, failure_reason=d.failure_reason)
        for d in ctx.obs.copy_documents
        if d.failure_reason or d.status == SupportingDocumentStatus.REJECTED
    ]
    review = (status.review or ReviewStatus()).model_copy(
        update={"status": copy.status, "failure_reasons": failures}
    )
    details = "; ".join(f"{f.type} {f.document_sid}: {f.failure_reason}" for f in failures)
    message = (
        f"Twilio rejected copy {copy.sid}"
        + (f": {details}" if details else "")
        + "; change the spec to patch and resubmit it"
    )
    status = status.model_copy(update={"review": review})
    status = history.rejected(ctx, status, failures)
    return stalled(ctx, status, Phase.REJECTED, Reason.REJECTED, message)
