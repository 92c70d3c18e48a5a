"""The BundleRenewal's status: a record of what the operator saw and did (names, SIDs, times
and Twilio's texts; never attribute values)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from controller.core.models.phases import Condition, Phase
from controller.core.models.wire import BUNDLE_SID_PATTERN, EVALUATION_SID_PATTERN
from controller.core.models.wire import WireModel as _WireModel


class OriginalBundleStatus(_WireModel):
    """The original bundle as last observed."""

    status: str | None = None
    """Twilio status of the original bundle (twilio-approved, ...)."""
    valid_until: datetime | None = None
    """Twilio's valid_until: set when a regulation change requires a renewal by that date."""
    regulation_sid: str | None = None
    """Regulation (RN...) the bundle is registered under."""


class EvaluationFailure(_WireModel):
    """One requirement field the copy fails, as Twilio's evaluation reports it."""

    requirement_name: str | None = None
    """Twilio requirement name, e.g. business_info."""
    requirement_friendly_name: str | None = None
    """Human name of the requirement, e.g. Business."""
    object_type: str | None = None
    """End-user type or supporting-document type the requirement is about."""
    field: str | None = None
    """Missing or invalid field (object_field); absent when the whole object is missing."""
    failure_reason: str | None = None
    """Twilio's failure_reason."""
    error_code: int | None = None
    """Twilio's error code (e.g. 22215 end-user field missing, 22216 document missing)."""


class EvaluationStatus(_WireModel):
    """The last evaluation of the copy."""

    sid: str | None = None
    """Evaluation SID (EL...)."""
    status: str | None = None
    """compliant or noncompliant."""
    evaluated_at: datetime | None = None
    """When the operator requested it."""
    generation: int | None = None
    """metadata.generation of the spec the copy carried when evaluated."""
    original_valid_until: datetime | None = None
    """The original's valid_until when evaluated: a change (a new regulation) means evaluating
    again; otherwise a noncompliant result stands until the spec changes."""
    failures: list[EvaluationFailure] = Field(default_factory=list)
    """Every failing requirement field: exactly what is missing."""


class DocumentFailure(_WireModel):
    """Why Twilio's review rejected one supporting document."""

    document_sid: str | None = None
    """The copy's supporting document (RD...)."""
    type: str | None = None
    """Its type."""
    failure_reason: str | None = None
    """Twilio's failure_reason for it."""


class ReviewStatus(_WireModel):
    """Twilio's review of the copy."""

    submitted_at: datetime | None = None
    """When the copy was submitted (pending-review)."""
    submitted_generation: int | None = None
    """metadata.generation of the spec that was submitted."""
    status: str | None = None
    """The copy's Twilio status since submission."""
    failure_reasons: list[DocumentFailure] = Field(default_factory=list)
    """On rejection: each rejected document and its reason."""
    patched_at: datetime | None = None
    """When the rejected copy was first changed to match a new spec (it is resubmitted once
    compliant). A rejected copy that no spec change alters is not resubmitted, unless
    spec.renewalRequest changes."""


class AppliedDocument(_WireModel):
    """A supporting document the renewal touched (names and SIDs only, never values)."""

    key: str
    """The spec entry: its type, with .n when the type appears more than once."""
    type: str
    """Supporting-document type."""
    sid: str | None = None
    """The document's SID in the renewed bundle."""
    fields: list[str] = Field(default_factory=list)
    """Attribute names that were set."""
    action: str
    """updated, unchanged, created or removed."""


class CreatedDocument(_WireModel):
    """A supporting document this resource created for the renewal in flight."""

    key: str
    """The spec entry it was created for."""
    sid: str | None = None
    """Its SID; None between the request and its answer being recorded (after a crash there,
    the account's documents are listed once to find it by its marker)."""


class AppliedSummary(_WireModel):
    """What the last completed renewal applied."""

    end_user_fields: list[str] = Field(default_factory=list)
    """End-user attribute names that were set."""
    documents: list[AppliedDocument] = Field(default_factory=list)
    """Supporting documents touched."""


class RenewalTrigger(StrEnum):
    """What started a renewal."""

    VALID_UNTIL = "validUntil"
    """Twilio set a valid_until on the original bundle."""
    SPEC_CHANGE = "specChange"
    """A spec generation that alters the bundle."""
    RENEWAL_REQUEST = "renewalRequest"
    """A new spec.renewalRequest."""
    ADOPTED = "adopted"
    """A copy of this resource was found with no record of its start (a status lost in a
    crash, or written by an older version)."""


class RenewalOutcome(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    VALID_UNTIL_NOT_CLEARED = "ValidUntilNotCleared"


class RenewalRecord(_WireModel):
    """One renewal, as status.history keeps it: SIDs, times, counts and Twilio's texts only."""

    outcome: RenewalOutcome = RenewalOutcome.IN_PROGRESS
    """InProgress, Completed, or ValidUntilNotCleared (items replaced, valid_until kept)."""
    triggers: list[RenewalTrigger] = Field(default_factory=list)
    """What started it: validUntil, specChange, renewalRequest (or adopted)."""
    valid_until: datetime | None = None
    """The original's valid_until when it started."""
    generation: int | None = None
    """metadata.generation of the spec when it started (then of the spec last submitted)."""
    copy_sid: str | None = Field(default=None, pattern=BUNDLE_SID_PATTERN)
    """The copy (BU...) it went through; kept after the copy is deleted."""
    evaluation_sid: str | None = Field(default=None, pattern=EVALUATION_SID_PATTERN)
    """The copy's last evaluation (EL...)."""
    started_at: datetime | None = None
    """When the operator decided to renew (the copy's creation)."""
    submitted_at: datetime | None = None
    """When the copy was last submitted for review."""
    review_rounds: int = Field(default=0, ge=0)
    """How many times the copy was submitted (1, plus one per resubmission after a rejection)."""
    rejected_at: datetime | None = None
    """When the operator last saw Twilio reject the copy."""
    rejections: list[DocumentFailure] = Field(default_factory=list)
    """Twilio's reasons for each rejection (document type, SID, failure_reason), oldest first."""
    approved_at: datetime | None = None
    """When the operator saw Twilio approve the copy."""
    completed_at: datetime | None = None
    """When its items were in the original and the copy was deleted."""


class PlannedChange(_WireModel):
    """What a renewal would do to one object of the bundle (names only, never values)."""

    object: str
    """endUser, or the supportingDocuments entry's key (its type, with .n when repeated)."""
    type: str | None = None
    """The supporting-document type (absent for the end-user)."""
    action: str
    """update (fields change), create (the bundle lacks it) or remove."""
    fields: list[str] = Field(default_factory=list)
    """Attribute names that would be set or removed."""


class DryRunStatus(_WireModel):
    """What a renewal would do now, as spec.dryRun found it (names only, never values)."""

    checked_at: datetime | None = None
    """When it was last checked (every light check, and on every spec change)."""
    generation: int | None = None
    """metadata.generation of the spec checked."""
    regulation_sid: str | None = None
    """The regulation (RN...) the spec was checked against."""
    renewal_due: bool = False
    """Whether turning dryRun off would start a renewal now."""
    reasons: list[str] = Field(default_factory=list)
    """Why a renewal would start (valid_until on the original, spec.renewalRequest, the spec's
    changes)."""
    changes: list[PlannedChange] = Field(default_factory=list)
    """What the renewal would change, compared with the original bundle's end-user and documents."""
    missing: list[EvaluationFailure] = Field(default_factory=list)
    """What an evaluation of the original bundle finds missing and the spec does not provide:
    what would still be missing after the renewal (Twilio's review would refuse it)."""
    not_accepted: list[str] = Field(default_factory=list)
    """Spec names the regulation does not accept (unknown fields, document types), e.g.
    spec.endUser.attributes.busines_name; the Stalled condition lists the accepted names."""
    evaluation_sid: str | None = None
    """The evaluation of the original (EL...) the missing list comes from."""
    original_compliant: bool | None = None
    """Whether that evaluation found the original compliant."""


class BundleRenewalStatus(_WireModel):
    """Observed state of the renewal. A record of what the operator saw and did; Twilio stays the
    source of truth and is re-read on every reconcile."""

    phase: Phase | None = None
    """Pending, InProgress, NeedsInput, InReview, Rejected, Completed, Failed, Suspended or
    DryRun."""
    observed_generation: int | None = None
    """metadata.generation last reconciled."""
    applied_generation: int | None = None
    """metadata.generation whose spec the original bundle carries (last completed renewal).
    Unset while not known (a submission a crash kept out of status): the spec is then compared
    with the bundle again."""
    original: OriginalBundleStatus | None = None
    """The original bundle as last observed."""
    copy_sid: str | None = Field(default=None, pattern=BUNDLE_SID_PATTERN)
    """The renewal copy (BU...) while a renewal is in flight."""
    evaluation: EvaluationStatus | None = None
    """The last evaluation of the copy."""
    review: ReviewStatus | None = None
    """Twilio's review of the copy."""
    items_replaced_at: datetime | None = None
    """When the copy's items were moved into the original bundle."""
    renewing_valid_until: datetime | None = None
    """The original's valid_until when the renewal in flight started (unset if it had none):
    once the items are replaced, a valid_until that is still there and not later than this one
    means the renewal did not clear it."""
    replaced_object_sids: list[str] = Field(default_factory=list)
    """Object SIDs (IT.../RD...) the approved copy held when its items were moved into the
    original: how a restart recognises them there."""
    valid_until_not_cleared: datetime | None = None
    """A valid_until the last renewal's ReplaceItems left on the original. It does not start
    another renewal (that would loop); a later valid_until, a spec change that alters the bundle
    or a new spec.renewalRequest does."""
    completed_at: datetime | None = None
    """When the last renewal completed."""
    applied: AppliedSummary | None = None
    """What the last submitted renewal applies (field names and SIDs only, never values)."""
    last_renewal_request: str | None = None
    """spec.renewalRequest as of the last submitted renewal."""
    failed_attempts: int = Field(default=0, ge=0)
    """Consecutive failed attempts; drives the retry backoff."""
    last_failure_time: datetime | None = None
    """When the last attempt failed."""
    created_documents: list[CreatedDocument] | None = None
    """Documents this resource created for the renewal in flight, so that finding them again
    (after a crash) and deleting them (with the resource) costs a read per document instead of a
    listing of the whole account. None: not recorded (a status written by an older version);
    then the account's documents are listed."""
    last_failure_kind: str | None = None
    """How it failed: transient, permanent, not_found, authentication, credentials,
    value_secret or write_budget. After a permanent or write_budget failure a retry only re-reads
    the original bundle, and tries again in full once the spec, spec.renewalRequest or the
    original changed."""
    dry_run: DryRunStatus | None = None
    """While spec.dryRun is true: what a renewal would do (cleared when it is turned off)."""
    message: str | None = None
    """Human-readable summary of the current state."""
    next_check_time: datetime | None = None
    """When the operator looks at this resource next (a review poll, the light check, or a
    retry after a failure), unless a spec change or a status callback wakes it earlier. Unset:
    only a change of the resource wakes it."""
    history: list[RenewalRecord] = Field(default_factory=list)
    """The last renewals, newest first (the one in flight, if any, is the first); at most
    HISTORY_LIMIT of them."""
    conditions: list[Condition] = Field(default_factory=list)
    """Ready, Reconciling and Stalled (per kstatus), and Renewing."""
