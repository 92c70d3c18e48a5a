"""Failures: what status and retry delay follow a failed action, and a spec the models refuse.

Transient trouble keeps the phase and Ready as they are (Reconciling=True); anything else is
Stalled (phase Failed). Either way the retry waits an exponential backoff from the failure
counters, so a permanent problem causes no retry storm; a spec change retries at once.
"""

from __future__ import annotations

from datetime import datetime

from controller.core.backoff import backoff
from controller.core.models import BundleRenewalStatus, Phase, Reason
from controller.core.plan import Decision, ErrorKind, Policy, RenewalResource, utc
from controller.core.workflow.status import ready_reason, scheduled, state, warning, was_ready

_ERROR_REASONS = {
    ErrorKind.TRANSIENT: Reason.TRANSIENT_ERROR,
    ErrorKind.PERMANENT: Reason.PERMANENT_ERROR,
    ErrorKind.NOT_FOUND: Reason.PERMANENT_ERROR,
    ErrorKind.AUTHENTICATION: Reason.AUTHENTICATION_FAILED,
    ErrorKind.CREDENTIALS: Reason.CREDENTIALS_INVALID,
    ErrorKind.VALUE_SECRET: Reason.VALUE_SECRET_MISSING,
    ErrorKind.WRITE_BUDGET: Reason.WRITE_BUDGET_EXCEEDED,
}

# Failures that only a change (of the spec, spec.renewalRequest or the original) can fix: their
# retries only probe the original (entry.py) instead of repeating the whole renewal.
QUIET_KINDS = frozenset({ErrorKind.PERMANENT.value, ErrorKind.WRITE_BUDGET.value})


def backoff_delay(failed_attempts: int, policy: Policy) -> float:
    """Seconds to wait after `failed_attempts` consecutive failures (exponential, capped)."""
    return backoff(failed_attempts, policy.backoff_base, policy.backoff_max)


def on_error(
    resource: RenewalResource,
    kind: ErrorKind,
    message: str,
    now: datetime,
    policy: Policy,
) -> Decision:
    """The status and retry delay after an action or observation failed. `message` must carry no
    secret and no attribute value (gateway errors carry Twilio's message and code only)."""
    now = utc(now)
    previous = resource.status
    attempts = previous.failed_attempts + 1
    delay = backoff_delay(attempts, policy)
    status = previous.model_copy(
        update={
            "observed_generation": resource.generation,
            "failed_attempts": attempts,
            "last_failure_time": now,
            "last_failure_kind": kind.value,
        }
    )
    reason = _ERROR_REASONS[kind]
    text = f"{message} (attempt {attempts}, retrying in {delay:.0f}s)"
    generation = resource.generation
    if kind == ErrorKind.TRANSIENT:
        phase = previous.phase or Phase.PENDING
        status = state(
            status,
            phase,
            reason,
            text,
            generation=generation,
            now=now,
            ready=was_ready(previous),
            reconciling=True,
        )
    else:
        status = state(
            status, Phase.FAILED, reason, text, generation=generation, now=now, stalled=True
        )
    # One event per change of reason, not one per attempt (the status counts the attempts).
    news = previous.phase != status.phase or ready_reason(previous) != reason
    decision = Decision(
        status=status, event=warning(reason, text) if news else None, requeue_after=delay
    )
    return scheduled(decision, now)


def decide_invalid_spec(
    status: BundleRenewalStatus, generation: int, message: str, now: datetime
) -> Decision:
    """Failed and Stalled for a spec the API server accepted but the models refuse (`message`
    names the fields, never their values); a Warning only when that is news. No retry: the next
    spec change is the next chance."""
    new = status.model_copy(update={"observed_generation": generation})
    new = state(
        new,
        Phase.FAILED,
        Reason.PERMANENT_ERROR,
        message,
        generation=generation,
        now=utc(now),
        stalled=True,
    )
    new = scheduled(Decision(status=new), utc(now)).status
    changed = new != status
    return Decision(status=new, event=warning(Reason.PERMANENT_ERROR, message) if changed else None)
