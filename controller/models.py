"""Pydantic models of the BundleRenewal custom resource: spec, status, phases and conditions.

These models are the single source of the CRD's schema (crds/bundlerenewals.yaml is generated from
them by `controller.crd_schema`, and a unit test keeps the two in sync), so every docstring and
field description here becomes user-facing documentation in `kubectl explain`.

On the wire the fields are camelCase (Kubernetes style); in Python they are snake_case, and both
spellings are accepted when parsing (`populate_by_name`). Pure data: no I/O.

Privacy rule: attribute values (names, registration numbers, addresses...) are personal data. They
live in the spec (or in the Secrets the spec names) only. The status records field names, document
types and SIDs, never values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

BUNDLE_SID_PATTERN = r"^BU[0-9a-f]{32}$"
SUPPORTING_DOCUMENT_SID_PATTERN = r"^RD[0-9a-f]{32}$"
EVALUATION_SID_PATTERN = r"^EL[0-9a-f]{32}$"
# A Kubernetes object name (DNS-1123 subdomain) and a Secret/ConfigMap data key.
OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
DATA_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

API_GROUP = "twilio-compliance.io"
API_VERSION = "v1alpha1"
KIND = "BundleRenewal"
PLURAL = "bundlerenewals"


class _WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused (the CRD refuses them
    too, so anything unknown here means the schema and the models drifted)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready camelCase form, without unset (None) fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --------------------------------------------------------------------------------------------
# Spec
# --------------------------------------------------------------------------------------------


class LocalObjectReference(_WireModel):
    """A reference to an object in the BundleRenewal's own namespace."""

    name: str = Field(min_length=1, max_length=253, pattern=OBJECT_NAME_PATTERN)
    """Name of the object."""


class KeySelector(_WireModel):
    """One key of a Secret or ConfigMap in the BundleRenewal's namespace."""

    name: str = Field(min_length=1, max_length=253, pattern=OBJECT_NAME_PATTERN)
    """Name of the Secret or ConfigMap."""
    key: str = Field(min_length=1, max_length=253, pattern=DATA_KEY_PATTERN)
    """Key within its data (for a ConfigMap, `binaryData` is read before `data`)."""


class DocumentFileSource(_WireModel):
    """Where to read the file uploaded with a new supporting document (exactly one source)."""

    secret_key_ref: KeySelector | None = None
    """Read the file from this Secret key."""
    config_map_key_ref: KeySelector | None = None
    """Read the file from this ConfigMap key (`binaryData` or `data`)."""
    content_type: str = Field(min_length=1, max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$")
    """MIME type of the file as uploaded to Twilio, e.g. application/pdf or image/jpeg."""
    filename: str = Field(min_length=1, max_length=255)
    """File name sent with the upload, e.g. power-of-attorney.pdf."""

    @model_validator(mode="after")
    def _exactly_one_source(self) -> DocumentFileSource:
        if (self.secret_key_ref is None) == (self.config_map_key_ref is None):
            raise ValueError("file needs exactly one of secretKeyRef or configMapKeyRef")
        return self


class DocumentMatch(_WireModel):
    """Which of the copy's documents this entry means, when the copy holds several documents of the
    same type (exactly one criterion)."""

    original_sid: str | None = Field(default=None, pattern=SUPPORTING_DOCUMENT_SID_PATTERN)
    """SID (RD...) of the document in the original bundle; the copy's duplicate of it is meant."""
    friendly_name: str | None = Field(default=None, min_length=1, max_length=255)
    """Friendly name of the document, as the original bundle (and so its copy) has it."""

    @model_validator(mode="after")
    def _exactly_one_criterion(self) -> DocumentMatch:
        if (self.original_sid is None) == (self.friendly_name is None):
            raise ValueError("match needs exactly one of originalSid or friendlyName")
        return self


class AttributeValueSource(_WireModel):
    """Where an attribute value is read from instead of being written in the spec."""

    secret_key_ref: KeySelector
    """This key of a Secret in the BundleRenewal's namespace: its data, decoded as UTF-8, is the
    value, always a string, exactly as stored (a trailing newline is part of it)."""


class AttributeValueRef(_WireModel):
    """An attribute value given by reference: `{valueFrom: {secretKeyRef: {name, key}}}`."""

    value_from: AttributeValueSource
    """Where the value is read from, at every reconcile that needs it."""


class AttributesSource(_WireModel):
    """A Secret whose every key is an attribute (like a container's envFrom)."""

    secret_ref: LocalObjectReference
    """Secret in this namespace: each key is a Twilio field name, its data (UTF-8) the value."""


VALUE_FROM = "valueFrom"
"""The key that makes an attribute value a reference (`AttributeValueRef`) instead of a literal."""


def parse_value_references(attributes: dict[str, Any]) -> dict[str, Any]:
    """`attributes` with each `{valueFrom: ...}` value parsed into an AttributeValueRef; any other
    value is a literal and kept as it is. A malformed reference is refused naming the field and
    what is wrong with it, never quoting the value."""
    parsed: dict[str, Any] = {}
    for name, value in attributes.items():
        if isinstance(value, dict) and VALUE_FROM in value:
            try:
                value = AttributeValueRef.model_validate(value)
            except ValidationError as exc:
                problems = [
                    ".".join(str(part) for part in error["loc"]) + ": " + error["msg"]
                    for error in exc.errors(include_url=False, include_input=False)
                ]
                raise ValueError(f"{name}: " + "; ".join(problems)) from None
        parsed[name] = value
    return parsed


class EndUserSpec(_WireModel):
    """The end-user (business or individual) of the bundle."""

    attributes: dict[str, Any] = Field(default_factory=dict)
    """End-user attributes to set on the renewal copy, by Twilio field name (e.g. business_name,
    first_name). Only the named fields are changed (a null value removes the field); the others
    keep the values the copy inherited from the original. Values are personal data: they never
    appear in status, events or logs. A value may also be a reference instead of a literal,
    {valueFrom: {secretKeyRef: {name, key}}}: the UTF-8 text of that key of a Secret in this
    namespace."""
    attributes_from: list[AttributesSource] = Field(default_factory=list)
    """Secrets whose keys are end-user attributes (each key a field name), as a container's
    envFrom: a later entry wins over an earlier one, and `attributes` over them all. Read at every
    reconcile; a missing Secret stalls the resource (reason ValueSecretMissing)."""

    @field_validator("attributes")
    @classmethod
    def _references(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        return parse_value_references(attributes)


class SupportingDocumentSpec(_WireModel):
    """A supporting document of the bundle: updated in place, created when the copy lacks it, or
    removed from the copy."""

    type: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9_]+$")
    """Twilio supporting-document type, e.g. commercial_registrar_excerpt,
    government_issued_document, power_of_attorney. Matches the copy's document of that type."""
    attributes: dict[str, Any] = Field(default_factory=dict)
    """Document attributes to set, by Twilio field name (e.g. document_number, address_sids). Only
    the named fields are changed (a null value removes the field). Values never appear in status,
    events or logs. A value may also be a reference instead of a literal, {valueFrom:
    {secretKeyRef: {name, key}}}: the UTF-8 text of that key of a Secret in this namespace."""
    attributes_from: list[AttributesSource] = Field(default_factory=list)
    """Secrets whose keys are document attributes (each key a field name), as a container's
    envFrom: a later entry wins over an earlier one, and `attributes` over them all."""
    match: DocumentMatch | None = None
    """Picks one document when the copy holds several of this type. Without it, the type must be
    unambiguous."""
    friendly_name: str | None = Field(default=None, min_length=1, max_length=255)
    """Friendly name for a document this renewal creates (defaults to a name carrying the
    resource's UID, which is how the operator recognises documents it made)."""
    file: DocumentFileSource | None = None
    """File uploaded when the document is created because the copy lacks one of this type. Not used
    for documents the copy already has."""
    remove: bool = False
    """Unassign this document from the copy (it will not be part of the renewed bundle)."""

    @field_validator("attributes")
    @classmethod
    def _references(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        return parse_value_references(attributes)


class BundleRenewalSpec(_WireModel):
    """Desired compliance information for one Twilio regulatory bundle. A renewal copies the bundle,
    applies this information to the copy, has Twilio review it and moves the approved items into
    the original bundle, which keeps its phone numbers."""

    bundle_sid: str = Field(pattern=BUNDLE_SID_PATTERN)
    """SID (BU...) of the approved bundle to keep renewed. It is never edited, submitted or deleted
    directly: only its items are replaced once a copy is approved."""
    credentials_secret_ref: LocalObjectReference
    """Secret in this namespace with the Twilio credentials: keys accountSid and authToken, or
    accountSid, apiKeySid and apiKeySecret."""
    end_user: EndUserSpec | None = None
    """End-user attributes to apply. Omit to keep the current ones."""
    supporting_documents: list[SupportingDocumentSpec] = Field(default_factory=list)
    """Supporting documents to update, add or remove. Omit to keep the current ones."""
    renewal_request: str | None = Field(default=None, max_length=253)
    """Any string; changing it requests a renewal now, even if Twilio has not asked for one (for
    example a date or a ticket number)."""
    suspend: bool = False
    """Pause the operator for this resource: no Twilio call is made while true."""
    dry_run: bool = False
    """Report what a renewal would do, without doing it: status.dryRun lists what it would change
    (field names per object, documents to create or remove) and what would still be missing,
    re-checked at every light check. No copy is made and nothing is submitted; the one request
    that is not a read is an evaluation of the original bundle, which changes nothing at Twilio.
    Set to false to renew."""


def document_key(spec: BundleRenewalSpec, index: int) -> str:
    """A stable name for the index-th supporting document entry of the spec: its type, with
    `.<n>` (n-th entry of that type, from 1) when the spec names the type more than once. Used in
    created documents' friendly names and in status, so that reordering entries of different types
    changes nothing."""
    documents = spec.supporting_documents
    doc_type = documents[index].type
    same_type = [i for i, d in enumerate(documents) if d.type == doc_type]
    if len(same_type) == 1:
        return doc_type
    return f"{doc_type}.{same_type.index(index) + 1}"


# --------------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------------


class Phase(StrEnum):
    """Where the renewal stands. The conditions say what it means for health: see the Health
    table in the README (phase -> conditions -> kstatus -> Argo CD). `DryRun`: a dry run's
    report is current."""

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


class Reason(StrEnum):
    """Machine-readable reasons used in conditions and events."""

    UP_TO_DATE = "UpToDate"
    COMPLETED = "Completed"
    RENEWAL_DUE = "RenewalDue"
    CREATING_COPY = "CreatingCopy"
    COPY_ADOPTED = "CopyAdopted"
    COPY_LOST = "CopyLost"
    DUPLICATE_COPY = "DuplicateCopy"
    UPDATING = "Updating"
    EVALUATING = "Evaluating"
    NEEDS_INPUT = "NeedsInput"
    SUBMITTING = "Submitting"
    IN_REVIEW = "InReview"
    REJECTED = "Rejected"
    APPROVED = "Approved"
    REPLACING_ITEMS = "ReplacingItems"
    DELETING_COPY = "DeletingCopy"
    BUNDLE_NOT_FOUND = "BundleNotFound"
    ORIGINAL_NOT_APPROVED = "OriginalNotApproved"
    AMBIGUOUS_DOCUMENT = "AmbiguousDocument"
    CREDENTIALS_INVALID = "CredentialsInvalid"
    VALUE_SECRET_MISSING = "ValueSecretMissing"  # noqa: S105 - a reason, not a secret
    AUTHENTICATION_FAILED = "AuthenticationFailed"
    TRANSIENT_ERROR = "TransientError"
    PERMANENT_ERROR = "PermanentError"
    SUSPENDED = "Suspended"
    CLEANING_UP = "CleaningUp"
    VALID_UNTIL_NOT_CLEARED = "ValidUntilNotCleared"
    BUNDLE_CLAIMED = "BundleClaimed"
    WRITE_BUDGET_EXCEEDED = "WriteBudgetExceeded"
    SPEC_NOT_ACCEPTED = "SpecNotAccepted"
    DRY_RUN = "DryRun"


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
    """When the rejected copy was last changed to match a new spec (it is resubmitted once
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
    """metadata.generation whose spec the original bundle carries (last completed renewal)."""
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
