"""The renewal workflow as a pure decision: (resource, observation, now, policy) -> Decision.

Level-triggered: every reconcile starts from an empty Observation, and the workflow asks (through
`Observe` actions) for exactly the Twilio reads the current step needs, then names one write at a
time. Status is a record of what was seen and done, never the source of truth about Twilio.
No I/O, no clock, no environment: `now` and `policy` are arguments.
"""

from __future__ import annotations

from datetime import datetime

from controller.plan import Decision, ErrorKind, Observation, Policy, RenewalResource


def decide(
    resource: RenewalResource, observation: Observation, now: datetime, policy: Policy
) -> Decision:
    """The next step of the renewal of `resource`, given what has been observed so far."""
    raise NotImplementedError


def decide_cleanup(
    resource: RenewalResource, observation: Observation, now: datetime, policy: Policy
) -> Decision:
    """The next step of cleaning up before the resource goes away (finalizer): delete every copy
    carrying this resource's marker, never the original. No action means the finalizer may go."""
    raise NotImplementedError


def on_error(
    resource: RenewalResource,
    kind: ErrorKind,
    message: str,
    now: datetime,
    policy: Policy,
) -> Decision:
    """The status and retry delay after an action or observation failed. `message` must carry no
    secret and no attribute value (gateway errors carry Twilio's message and code only)."""
    raise NotImplementedError


def backoff_delay(failed_attempts: int, policy: Policy) -> float:
    """Seconds to wait after `failed_attempts` consecutive failures (exponential, capped)."""
    if failed_attempts <= 0:
        return 0.0
    return float(min(policy.backoff_max, policy.backoff_base * 2 ** min(failed_attempts - 1, 30)))
