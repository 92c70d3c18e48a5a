"""Where a renewal stands: phases and the kstatus conditions. The reasons conditions and events
give are in reasons.py, with their texts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from controller.core.models.wire import WireModel as _WireModel

# --------------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------------


class Phase(StrEnum):
    """Where the renewal stands. The conditions say what it means for health: see the Health
    table in docs/concepts/health.md (phase -> conditions -> kstatus -> Argo CD). `DryRun`: a dry
    run's report is current."""

    PENDING = "Pending"
    """Accepted, nothing observed yet."""
    IN_PROGRESS = "InProgress"
    """Working on the copy: creating, updating, evaluating, submitting, replacing, cleaning up."""
    NEEDS_INPUT = "NeedsInput"
    """The copy does not satisfy the regulation; status.evaluation lists what is missing. A spec
    change resumes."""
    IN_REVIEW = "InReview"
    """Submitted; waiting for Twilio's review (polled with backoff)."""
    REJECTED = "Rejected"
    """Twilio rejected the copy; status.review lists each document's reason. A spec change
    patches the same copy and resubmits it."""
    COMPLETED = "Completed"
    """The original bundle carries the spec's information and has no valid_until."""
    FAILED = "Failed"
    """A permanent problem (bundle not found, original not approved, credentials refused...);
    see the Stalled condition. Retried slowly, and at once on a spec change."""
    SUSPENDED = "Suspended"
    """spec.suspend is true: nothing is done."""
    DRY_RUN = "DryRun"
    """spec.dryRun is true: status.dryRun says what a renewal would change and what would still
    be missing; nothing is written to Twilio but an evaluation of the original. Ready."""


class ConditionType(StrEnum):
    """Condition types, per kstatus."""

    READY = "Ready"
    """True while the original bundle is valid (twilio-approved, its valid_until not passed) and
    nothing needs a person: a renewal in flight (see Renewing) keeps it True, as cert-manager's
    Ready stays True while a still-valid certificate is renewed."""
    RECONCILING = "Reconciling"
    """True while the operator is working: a write to Twilio is due, a failure is retried, or a
    renewal is under way for a bundle that is no longer valid. Not while Twilio reviews the copy
    of a still-valid bundle (days): that is in Renewing."""
    STALLED = "Stalled"
    """True when progress needs someone: missing input, a rejection, or a permanent error."""
    RENEWING = "Renewing"
    """True while a renewal is in flight (from the copy's creation until its items are in the
    original), whatever else holds; its reason and message say which step (like cert-manager's
    Issuing). kstatus and Argo CD ignore it."""


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(_WireModel):
    """A kstatus condition."""

    type: ConditionType
    """Ready, Reconciling, Stalled or Renewing."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: str
    """CamelCase reason (see the Reason values)."""
    message: str = ""
    """Details: SIDs, field names, Twilio reasons and codes; never attribute values."""
    observed_generation: int | None = None
    """metadata.generation the condition was computed for."""
    last_transition_time: datetime
    """When the condition's status last changed."""
