"""Editing a draft (or rejected) copy until it matches the spec, then evaluating and submitting it.

The steps run in a fixed order, each naming at most one write: the end-user (end_user.py), the
documents in spec order (documents.py), then the evaluation and submission (review/submit.py). Each
step re-reads (through `Observe`) what it compares, so a repeat after a crash is harmless.
"""

from __future__ import annotations

from controller.core.models import (
    AppliedSummary,
    BundleRenewalStatus,
    CreatedDocument,
    Phase,
    ReviewStatus,
)
from controller.core.plan import CreateDocument, Decision, Event, ObservationPart
from controller.core.twilio_models import Bundle, BundleStatus
from controller.core.workflow.at_rest import renewal_requested
from controller.core.workflow.context import Context, Write
from controller.core.workflow.documents import (
    documents_step,
    needs_original_documents,
    record_created,
)
from controller.core.workflow.end_user import end_user_step
from controller.core.workflow.review.in_review import rejected
from controller.core.workflow.review.submit import evaluate_or_submit
from controller.core.workflow.status import finish, normal

Part = ObservationPart
_CREATED = frozenset({"created_documents"})


def edit(ctx: Context, status: BundleRenewalStatus, copy: Bundle, event: Event | None) -> Decision:
    """The next step of the edit of `copy` (`event`: one already due, e.g. the copy adopted)."""
    spec = ctx.spec
    parts = [Part.COPY_ITEMS]
    if spec.end_user is not None and spec.end_user.attributes:
        parts.append(Part.COPY_END_USER)
    if spec.supporting_documents:
        parts.append(Part.COPY_DOCUMENTS)
    if needs_original_documents(spec):
        parts.append(Part.ORIGINAL_DOCUMENTS)
    if (observe := ctx.need(*parts, status=status)) is not None:
        return observe

    end_user = end_user_step(ctx, status, copy)
    if not isinstance(end_user, list):
        return _written(ctx, status, copy, end_user, event)
    documents = documents_step(ctx, status, copy)
    if not isinstance(documents, list):
        return _written(ctx, status, copy, documents, event)
    applied = AppliedSummary(end_user_fields=end_user, documents=documents)
    # Every created document is in the copy now: what is recorded is exactly those.
    created = [CreatedDocument(key=d.key, sid=d.sid) for d in documents if d.action == "created"]
    if status.created_documents != created:
        status = status.model_copy(update={"created_documents": created})

    review = status.review
    if (
        copy.status == BundleStatus.TWILIO_REJECTED
        and (review is None or review.patched_at is None)
        and not renewal_requested(ctx.resource)
    ):
        # The new spec changes nothing in the rejected copy: resubmitting the same content
        # would only ask for another review of it.
        return rejected(ctx, status, copy)
    return _written(ctx, status, copy, evaluate_or_submit(ctx, status, copy, applied, event), event)


def _written(
    ctx: Context,
    status: BundleRenewalStatus,
    copy: Bundle,
    step: Write | Decision,
    event: Event | None,
) -> Decision:
    """A step's decision as is, or its write as a decision: InProgress, and a rejected copy
    marked as patched (so that it is resubmitted once it matches the spec again)."""
    if isinstance(step, Decision):
        return step
    if step.created is not None:
        status = record_created(status, step.created)
    checkpoint = _CREATED if isinstance(step.action, CreateDocument) else frozenset()
    if copy.status == BundleStatus.TWILIO_REJECTED:
        # Also when no review is on record (the statuses recording the submission and the
        # rejection were never written: the API server was down; the simulation test found it).
        review = status.review or ReviewStatus(status=copy.status)
        if review.patched_at is None:
            review = review.model_copy(update={"patched_at": ctx.now})
        status = status.model_copy(update={"review": review})
        # Only this record says the rejected copy was changed for the new spec: after a crash
        # that lost it, the copy would match the spec and never be resubmitted (chaos found it).
        checkpoint = checkpoint | {"review"}
    status = ctx.state(
        status, Phase.IN_PROGRESS, step.reason, step.message, ready=True, reconciling=True
    )
    return finish(
        ctx,
        status,
        action=step.action,
        event=event or normal(step.reason, step.message),
        # A document requested but not yet known is found again only through its record.
        checkpoint=checkpoint,
    )
