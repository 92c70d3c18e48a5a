"""Evaluating and submitting the edited copy.

A copy is submitted only on a compliant Evaluation made after the last write to it in this
reconcile. A noncompliant one is NeedsInput (Stalled); re-checks while nothing changed reuse the
recorded evaluation instead of asking Twilio for a new one.
"""

from __future__ import annotations

from datetime import datetime

from controller.core.models import (
    AppliedSummary,
    BundleRenewalStatus,
    EvaluationFailure,
    EvaluationStatus,
    Phase,
    Reason,
)
from controller.core.plan import Decision, Evaluate, Event, Submit
from controller.core.twilio_models import Bundle, Evaluation
from controller.core.twilio_models import EvaluationStatus as TwilioEvaluationStatus
from controller.core.workflow import history
from controller.core.workflow.context import Context, Write
from controller.core.workflow.status import in_progress, stalled


def evaluate_or_submit(
    ctx: Context,
    status: BundleRenewalStatus,
    copy: Bundle,
    applied: AppliedSummary,
    event: Event | None,
) -> Write | Decision:
    """With the copy matching the spec: evaluate it, stop at NeedsInput, or submit it."""
    evaluation = ctx.obs.evaluation
    if evaluation is None and _still_noncompliant(ctx, status, copy):
        return needs_input(ctx, status, copy)
    if evaluation is None or (evaluation.bundle_sid not in (None, copy.sid)):
        return Write(
            Evaluate(bundle_sid=copy.sid), Reason.EVALUATING, f"evaluating copy {copy.sid}"
        )
    original_valid_until = status.original.valid_until if status.original else None
    record = _evaluation_status(ctx, evaluation, original_valid_until)
    status = status.model_copy(update={"evaluation": record})
    status = history.update(ctx, status, evaluation_sid=evaluation.sid)
    if evaluation.status != TwilioEvaluationStatus.COMPLIANT:
        return needs_input(ctx, status, copy)
    message = f"copy {copy.sid} is compliant; submitting it for review"
    # A submitted copy's items cannot change: these are what ReplaceItems will move, recorded
    # now so that the approval needs no status write of its own before ReplaceItems.
    moving = [i.object_sid for i in ctx.obs.copy_items]
    status = status.model_copy(update={"applied": applied, "replaced_object_sids": moving})
    return in_progress(ctx, status, Reason.SUBMITTING, message, Submit(bundle_sid=copy.sid), event)


def _still_noncompliant(ctx: Context, status: BundleRenewalStatus, copy: Bundle) -> bool:
    """Whether the last evaluation still stands: it found this copy noncompliant for this spec
    generation, nothing was written to the copy since (the phase is still NeedsInput: every
    write moves it to InProgress first), and the original's valid_until (which a regulation
    change moves) is as it was then. Then the re-check makes no new Evaluation."""
    previous = ctx.resource.status
    last = previous.evaluation
    return (
        previous.phase == Phase.NEEDS_INPUT
        and previous.copy_sid == copy.sid
        and last is not None
        and last.generation == ctx.generation
        and last.status == TwilioEvaluationStatus.NONCOMPLIANT
        and status.original is not None
        and last.original_valid_until == status.original.valid_until
    )


def _evaluation_status(
    ctx: Context, evaluation: Evaluation, original_valid_until: datetime | None
) -> EvaluationStatus:
    return EvaluationStatus(
        sid=evaluation.sid,
        status=evaluation.status,
        evaluated_at=ctx.now,
        generation=ctx.generation,
        original_valid_until=original_valid_until,
        failures=evaluation_failures(evaluation),
    )


def evaluation_failures(evaluation: Evaluation) -> list[EvaluationFailure]:
    """Every failing requirement field of `evaluation` (a requirement failing as a whole, with
    no field listed, counts once)."""
    failures: list[EvaluationFailure] = []
    for result in evaluation.results:
        if result.passed:
            continue
        common = {
            "requirement_name": result.requirement_name,
            "requirement_friendly_name": result.requirement_friendly_name,
            "object_type": result.object_type,
        }
        if result.invalid:
            failures.extend(
                EvaluationFailure(
                    **common,
                    field=f.object_field,
                    failure_reason=f.failure_reason,
                    error_code=f.error_code,
                )
                for f in result.invalid
            )
        else:
            failures.append(
                EvaluationFailure(
                    **common, failure_reason=result.failure_reason, error_code=result.error_code
                )
            )
    return failures


def needs_input(ctx: Context, status: BundleRenewalStatus, copy: Bundle) -> Decision:
    failures = status.evaluation.failures if status.evaluation else []
    listed = "; ".join(
        f"{f.requirement_name or f.object_type}"
        + (f".{f.field}" if f.field else "")
        + (f" ({f.error_code})" if f.error_code is not None else "")
        for f in failures
    )
    message = f"copy {copy.sid} is noncompliant, missing: {listed or 'see status.evaluation'}"
    return stalled(ctx, status, Phase.NEEDS_INPUT, Reason.NEEDS_INPUT, message)
