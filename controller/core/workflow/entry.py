"""The entry of the renewal decision: from where the renewal stands to the step that moves it.

`decide` reads the situation in this order, each step in its own module:
suspended -> backing off after failures -> only probing after a failure a change must fix ->
polling a copy in review (review/in_review.py) -> the original -> a dry run (dry_run.py: it reports
and writes nothing) -> (missing, due or at rest: at_rest.py) -> the copies (copies.py; the
preflight, preflight.py, before a copy is made) -> by the copy's status: approved (replace.py), in
review or rejected (review/in_review.py), draft (edit.py).
"""

from __future__ import annotations

from datetime import datetime

from controller.core.conditions import get_condition
from controller.core.models import (
    BundleRenewalStatus,
    ConditionType,
    OriginalBundleStatus,
    Phase,
    Reason,
)
from controller.core.plan import (
    Decision,
    Event,
    Observation,
    ObservationPart,
    Policy,
    RenewalResource,
    utc,
)
from controller.core.twilio_models import Bundle, BundleStatus
from controller.core.workflow import history
from controller.core.workflow.at_rest import (
    at_rest,
    original_not_approved,
    renewal_due_reasons,
    renewal_requested,
    spec_changes,
)
from controller.core.workflow.context import Context
from controller.core.workflow.copies import claimed_by_another, delete_duplicate, no_copy
from controller.core.workflow.dry_run import dry_run
from controller.core.workflow.edit import edit
from controller.core.workflow.failures import QUIET_KINDS, backoff_delay
from controller.core.workflow.replace import approved
from controller.core.workflow.review.in_review import (
    IN_REVIEW,
    in_review,
    rejected,
    resubmission_wanted,
)
from controller.core.workflow.status import failed, finish, normal, scheduled, was_ready

Part = ObservationPart


def decide(
    resource: RenewalResource, observation: Observation, now: datetime, policy: Policy
) -> Decision:
    """The next step of the renewal of `resource`, given what has been observed so far (with
    status.nextCheckTime for the decision that ends the reconcile)."""
    return scheduled(_decide(Context(resource, observation, utc(now), policy)), utc(now))


def _decide(ctx: Context) -> Decision:
    resource = ctx.resource
    status = resource.status.model_copy(update={"observed_generation": resource.generation})
    if not ctx.spec.dry_run and status.dry_run is not None:
        status = status.model_copy(update={"dry_run": None})  # a report of a spec gone by
    if ctx.spec.suspend:
        return _suspended(ctx, status)
    if (waiting := _backing_off(ctx, status)) is not None:
        return waiting
    if (quiet := _probe_after_failure(ctx, status)) is not None:
        return quiet
    if not ctx.spec.dry_run and (polled := _poll_review(ctx, status)) is not None:
        return polled

    if (observe := ctx.need(Part.ORIGINAL, status=status)) is not None:
        return observe
    original = ctx.obs.original
    if original is None:
        message = f"bundle {ctx.spec.bundle_sid} not found in the account of the credentials"
        return failed(ctx, status, Reason.BUNDLE_NOT_FOUND, message)
    status = status.model_copy(
        update={
            "original": OriginalBundleStatus(
                status=original.status,
                valid_until=original.valid_until,
                regulation_sid=original.regulation_sid,
            )
        }
    )
    if ctx.spec.dry_run:
        return dry_run(ctx, status, original)
    due = renewal_due_reasons(ctx.resource, original)
    if not due and status.copy_sid is None:
        changes = spec_changes(ctx, status)
        if isinstance(changes, Decision):
            return changes
        if not changes:
            return at_rest(ctx, status, original)
        due = changes
    if status.copy_sid is None and original.status != BundleStatus.TWILIO_APPROVED:
        return original_not_approved(ctx, status, original)
    return _through_copy(ctx, status, original, due)


def _through_copy(
    ctx: Context, status: BundleRenewalStatus, original: Bundle, due: list[str]
) -> Decision:
    """A renewal is due or in flight: carry it on through our copy, by the copy's status."""
    if (observe := ctx.need(Part.COPIES, status=status)) is not None:
        return observe
    if (claimed := claimed_by_another(ctx, status)) is not None:
        return claimed
    copy = ctx.obs.our_copy
    if len(ctx.obs.ours) > 1:
        return delete_duplicate(ctx, status)
    if copy is None:
        return no_copy(ctx, status, original, due)
    adopted: Event | None = None
    if status.copy_sid != copy.sid:
        adopted = normal(
            Reason.COPY_ADOPTED, f"renewing bundle {original.sid} through copy {copy.sid}"
        )
        status = status.model_copy(update={"copy_sid": copy.sid})
        if status.renewing_valid_until is None and copy.status != BundleStatus.TWILIO_APPROVED:
            # Made before a crash lost the status recording it: this is the date it is for.
            status = status.model_copy(update={"renewing_valid_until": original.valid_until})
    status = history.update(ctx, status, copy_sid=copy.sid)

    if copy.status == BundleStatus.TWILIO_APPROVED:
        return approved(ctx, status, original, copy)
    if copy.status in IN_REVIEW or copy.status == BundleStatus.PROVISIONALLY_APPROVED:
        return in_review(ctx, status, copy, adopted)
    if copy.status == BundleStatus.TWILIO_REJECTED and not resubmission_wanted(ctx, status):
        return rejected(ctx, status, copy)
    return edit(ctx, status, copy, adopted)


def _suspended(ctx: Context, status: BundleRenewalStatus) -> Decision:
    message = "suspended: no Twilio call is made while spec.suspend is true"
    status = ctx.state(status, Phase.SUSPENDED, Reason.SUSPENDED, message, ready=was_ready(status))
    return finish(ctx, status, event=normal(Reason.SUSPENDED, message))


def _backing_off(ctx: Context, status: BundleRenewalStatus) -> Decision | None:
    """Respect the backoff after failures, unless the spec changed (a fix deserves a prompt
    try). None: no backoff to wait out."""
    previous = ctx.resource.status
    if (
        ctx.obs.read
        or previous.failed_attempts <= 0
        or previous.last_failure_time is None
        or previous.observed_generation != ctx.generation
    ):
        return None
    delay = backoff_delay(previous.failed_attempts, ctx.policy)
    waited = (ctx.now - previous.last_failure_time).total_seconds()
    if waited < delay:
        return Decision(status=status, requeue_after=delay - waited)
    return None


def _probe_after_failure(ctx: Context, status: BundleRenewalStatus) -> Decision | None:
    """After a failure only a change can fix (Twilio refused a request for good, the write budget
    stopped a loop), a retry is one read of the original: while the spec, spec.renewalRequest
    and the original are as they were, nothing is retried and status, phase and events stay as
    they are (the light check comes back later). None: something changed, retry in full.
    Decided at the start of a reconcile only (nothing but the original read yet), against the
    failure as recorded: its phase, and the generation its conditions were computed for."""
    previous = ctx.resource.status
    failed = get_condition(previous, ConditionType.READY)
    if (
        previous.phase != Phase.FAILED
        or previous.last_failure_kind not in QUIET_KINDS
        or previous.failed_attempts == 0
        or failed is None
        or failed.observed_generation != ctx.generation
        or renewal_requested(ctx.resource)
        or not ctx.obs.read <= {Part.ORIGINAL}
    ):
        return None
    if (observe := ctx.need(Part.ORIGINAL, status=status)) is not None:
        return observe
    original, seen = ctx.obs.original, previous.original
    if (
        original is None
        or seen is None
        or (original.status, original.valid_until) != (seen.status, seen.valid_until)
    ):
        return None
    return Decision(status=status, requeue_after=ctx.policy.check_interval)


def _poll_review(ctx: Context, status: BundleRenewalStatus) -> Decision | None:
    """While Twilio reviews the copy, polling the copy is all there is to do (no read of the
    original). None: not in review, or the copy moved on (decide reads the rest)."""
    if status.phase != Phase.IN_REVIEW or status.copy_sid is None or ctx.obs.has(Part.ORIGINAL):
        return None
    if (observe := ctx.need(Part.COPIES, status=status)) is not None:
        return observe
    if (claimed := claimed_by_another(ctx, status)) is not None:
        return claimed
    copy = ctx.obs.our_copy
    if copy is not None and copy.status in IN_REVIEW:
        return in_review(ctx, status, copy)
    return None
