"""Status helpers shared by every step: the kstatus conditions, events, and how a decision ends.

Every phase change goes through `state`, so Ready, Reconciling, Stalled and Renewing always agree
with the phase and with each other, by rules GitOps tools read right (docs/concepts/health.md):
- Ready is True only while the original bundle is valid (twilio-approved, valid_until not passed)
  and nothing needs a person; a renewal in flight does not turn it False (cert-manager keeps a
  still-valid certificate Ready while it is renewed), so a review that takes days does not hold a
  Flux `wait: true` Kustomization;
- Stalled True (kstatus Failed) is for what only a person can fix; Ready is False then;
- otherwise, whenever Ready is False the operator is working towards it: Reconciling is True
  (kstatus InProgress), never all three False (Suspended aside, which does nothing: its Ready
  is Unknown unless it was Ready);
- Renewing is True while a renewal is in flight, with the step in its reason and message.
`finish` keeps events to writes and visible transitions (no event storm while polling);
`scheduled` records when the resource is looked at next.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from controller.core.conditions import get_condition, is_true, set_condition
from controller.core.models import (
    BundleRenewalStatus,
    ConditionStatus,
    ConditionType,
    Phase,
    Reason,
)
from controller.core.plan import Action, Decision, Event, EventType, is_write
from controller.core.twilio_models import BundleStatus

if TYPE_CHECKING:
    from controller.core.workflow.context import Context


def state(
    status: BundleRenewalStatus,
    phase: Phase,
    reason: Reason,
    message: str,
    *,
    generation: int,
    now: datetime,
    ready: bool = False,
    reconciling: bool = False,
    stalled: bool = False,
) -> BundleRenewalStatus:
    """`status` in `phase`, with message and the conditions set consistently. `ready`: Ready if
    the original bundle (as last observed) is valid at `now`; a stalled one is never Ready, and
    one that is not Ready without being stalled is Reconciling (Suspended aside)."""
    status = status.model_copy(update={"phase": phase, "message": message})
    invalid = bundle_invalid(status, now)
    ready = ready and invalid is None and not stalled
    if stalled:
        reconciling = False
    elif not ready and phase != Phase.SUSPENDED:
        reconciling = True
    ready_message = message
    if not ready and not stalled and invalid is not None:
        ready_message = f"{message} ({invalid})"
    renewing = status.copy_sid is not None or phase == Phase.IN_PROGRESS
    # Suspended makes no claim it cannot check: Ready Unknown unless it was Ready (kstatus reads
    # Unknown as Current, where a False would hold a Flux wait on a paused resource).
    ready_value: bool | ConditionStatus = ready
    if phase == Phase.SUSPENDED and not ready:
        ready_value = ConditionStatus.UNKNOWN
    for type_, value, text in (
        (ConditionType.READY, ready_value, ready_message),
        (ConditionType.RECONCILING, reconciling, ready_message),
        (ConditionType.STALLED, stalled, message),
        (ConditionType.RENEWING, renewing, message),
    ):
        status = set_condition(
            status, type_, value, reason, text, observed_generation=generation, now=now
        )
    return status


def bundle_invalid(status: BundleRenewalStatus, now: datetime) -> str | None:
    """Why the original bundle, as last observed, is not valid at `now` (None: it is valid:
    twilio-approved, and its valid_until, if any, still ahead)."""
    original = status.original
    if original is None or original.status is None:
        return "the original bundle is not observed yet"
    if original.status != BundleStatus.TWILIO_APPROVED:
        return f"the original bundle is {original.status}"
    if original.valid_until is not None and original.valid_until <= now:
        return f"the original bundle's valid_until {original.valid_until.isoformat()} has passed"
    return None


def scheduled(decision: Decision, now: datetime) -> Decision:
    """`decision` with status.nextCheckTime: when the reconcile it ends is followed by the next
    (now + requeue_after); unset while an action is due or when only a change wakes it."""
    after = decision.requeue_after
    next_check = None
    if decision.action is None and after is not None:
        # To the nearest second: a backoff waited out in two reconciles keeps the same time.
        at = now + timedelta(seconds=after, milliseconds=500)
        next_check = at.replace(microsecond=0)
    if decision.status.next_check_time == next_check:
        return decision
    status = decision.status.model_copy(update={"next_check_time": next_check})
    return decision.model_copy(update={"status": status})


def was_ready(status: BundleRenewalStatus) -> bool:
    return is_true(status, ConditionType.READY)


def ready_reason(status: BundleRenewalStatus) -> str | None:
    ready = get_condition(status, ConditionType.READY)
    return ready.reason if ready is not None else None


def transitioned(before: BundleRenewalStatus, after: BundleRenewalStatus) -> bool:
    """Whether a reader of `kubectl get` would see a change (phase or the Ready condition)."""
    old = get_condition(before, ConditionType.READY)
    new = get_condition(after, ConditionType.READY)
    if before.phase != after.phase or old is None or new is None:
        return True
    return (old.status, old.reason, old.message) != (new.status, new.reason, new.message)


def normal(reason: Reason, message: str) -> Event:
    return Event(type=EventType.NORMAL, reason=reason, message=message)


def warning(reason: Reason, message: str) -> Event:
    return Event(type=EventType.WARNING, reason=reason, message=message)


def finish(
    ctx: Context,
    status: BundleRenewalStatus,
    *,
    action: Action | None = None,
    event: Event | None = None,
    requeue_after: float | None = None,
    checkpoint: frozenset[str] = frozenset(),
) -> Decision:
    """The decision, with failure counters reset once the renewal rests (no write pending), a
    Normal event kept only when the phase changes, and a Warning only for a write or a visible
    transition (no event storm while polling)."""
    if action is None and (status.failed_attempts or status.last_failure_kind):
        status = status.model_copy(update={"failed_attempts": 0, "last_failure_kind": None})
    before = ctx.resource.status
    if event is not None and event.type is EventType.NORMAL:
        # Progress is reported per phase (RenewalDue, InReview, Approved, Completed...), not
        # per step: every event is a write to the API server, and the steps are in the logs.
        if before.phase == status.phase:
            event = None
    elif event is not None and not is_write(action) and not transitioned(before, status):
        event = None
    return Decision(
        action=action,
        status=status,
        event=event,
        requeue_after=requeue_after,
        checkpoint=checkpoint,
    )


def stalled(
    ctx: Context, status: BundleRenewalStatus, phase: Phase, reason: Reason, message: str
) -> Decision:
    """Waiting on the user (or on a fix outside the operator): Stalled, a Warning, and only the
    periodic light check until the spec or Twilio's state changes."""
    status = ctx.state(status, phase, reason, message, stalled=True)
    return finish(
        ctx, status, event=warning(reason, message), requeue_after=ctx.policy.check_interval
    )


def failed(ctx: Context, status: BundleRenewalStatus, reason: Reason, message: str) -> Decision:
    """A problem only a person can fix: phase Failed, Stalled."""
    return stalled(ctx, status, Phase.FAILED, reason, message)


def in_progress(
    ctx: Context,
    status: BundleRenewalStatus,
    reason: Reason,
    message: str,
    action: Action,
    event: Event | None = None,
    *,
    checkpoint: frozenset[str] = frozenset(),
    quiet: bool = False,
) -> Decision:
    """A write on the way: phase InProgress, Reconciling, and a Normal event unless given one
    (none when `quiet`)."""
    status = ctx.state(status, Phase.IN_PROGRESS, reason, message, ready=True, reconciling=True)
    return finish(
        ctx,
        status,
        action=action,
        event=None if quiet else event or normal(reason, message),
        checkpoint=checkpoint,
    )
