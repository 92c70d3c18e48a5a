"""Status helpers shared by every step: the kstatus conditions, events, and how a decision ends.

Every phase change goes through `state`, so Ready, Reconciling and Stalled always agree with the
phase; `finish` keeps events to writes and visible transitions (no event storm while polling).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from controller.conditions import get_condition, is_true, set_condition
from controller.models import BundleRenewalStatus, ConditionType, Phase, Reason
from controller.plan import Action, Decision, Event, EventType, is_write

if TYPE_CHECKING:
    from controller.workflow.context import Context


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
    """`status` in `phase`, with message and the three kstatus conditions set consistently."""
    status = status.model_copy(update={"phase": phase, "message": message})
    for type_, value in (
        (ConditionType.READY, ready),
        (ConditionType.RECONCILING, reconciling),
        (ConditionType.STALLED, stalled),
    ):
        status = set_condition(
            status, type_, value, reason, message, observed_generation=generation, now=now
        )
    return status


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
) -> Decision:
    """A write on the way: phase InProgress, Reconciling, and a Normal event unless given one."""
    status = ctx.state(status, Phase.IN_PROGRESS, reason, message, reconciling=True)
    return finish(
        ctx,
        status,
        action=action,
        event=event or normal(reason, message),
        checkpoint=checkpoint,
    )
