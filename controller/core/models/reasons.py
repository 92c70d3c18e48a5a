"""The reasons conditions and events give, each with the text the reference shows for it.

One place for a reason: a new one is a member here and its text below (the docs' table of
reasons is generated from REASON_TEXTS, and a unit test requires a text for every member).
Conditions carry the value as their `reason`; messages add the details (never attribute values).
"""

from __future__ import annotations

from enum import StrEnum


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


#: What each reason means for the user, in the docs' reason table (devtools/docs_reference.py).
#: Every member has one; a unit test holds to that.
REASON_TEXTS: dict[Reason, str] = {
    Reason.UP_TO_DATE: "Ready: the original bundle is approved, has no valid_until and carries "
    "the spec; only the periodic light check runs.",
    Reason.COMPLETED: "Ready: a renewal just finished (items replaced, copy deleted).",
    Reason.RENEWAL_DUE: "A renewal is due: a spec change that alters the bundle, valid_until on "
    "the original, or a new spec.renewalRequest.",
    Reason.CREATING_COPY: "Copying the original bundle.",
    Reason.COPY_ADOPTED: "Found this resource's copy (by its friendly-name marker) and carried on "
    "with it, e.g. after a restart.",
    Reason.COPY_LOST: "The copy disappeared before its items were moved; a new one is made.",
    Reason.DUPLICATE_COPY: "More than one copy carries this resource's marker; the extra draft "
    "copies are deleted.",
    Reason.UPDATING: "Updating the copy's end-user or documents to match the spec.",
    Reason.EVALUATING: "Asking Twilio to evaluate the copy.",
    Reason.NEEDS_INPUT: "Stalled: the copy is noncompliant; status.evaluation.failures lists "
    "each missing requirement and field. Fix the spec.",
    Reason.SUBMITTING: "Submitting the compliant copy for review.",
    Reason.IN_REVIEW: "Waiting for Twilio's review (polled with backoff).",
    Reason.REJECTED: "Stalled: Twilio rejected the copy; status.review.failureReasons says why. "
    "Fix the spec; the same copy is patched and resubmitted.",
    Reason.APPROVED: "Twilio approved the copy; its items go into the original next.",
    Reason.REPLACING_ITEMS: "Moving the approved copy's items into the original bundle.",
    Reason.DELETING_COPY: "Deleting the copy once its items are in the original.",
    Reason.BUNDLE_NOT_FOUND: "Stalled: spec.bundleSid does not exist for these credentials.",
    Reason.ORIGINAL_NOT_APPROVED: "Stalled: the original bundle is not twilio-approved, so it "
    "cannot be renewed by copying.",
    Reason.AMBIGUOUS_DOCUMENT: "Stalled: a supportingDocuments entry matches several documents of "
    "its type; add match.friendlyName or match.originalSid.",
    Reason.CREDENTIALS_INVALID: "Stalled: the credentials Secret is missing, lacks a key, holds a "
    "malformed SID, or the operator may not read it (HTTP 403: bind the credentials reader).",
    Reason.VALUE_SECRET_MISSING: "Stalled: a Secret that attribute values are read from "
    "(valueFrom.secretKeyRef, attributesFrom) is missing, lacks the key, holds text that is not "
    "UTF-8, or the operator may not read it (HTTP 403); the message names the spec field, the "
    "Secret and the key. Nothing is sent to Twilio; retried with backoff (one read per Secret a "
    "try, BACKOFF_MAX_SECONDS apart at most), so it resumes once the Secret is fixed, or at once "
    "on a spec change.",
    Reason.AUTHENTICATION_FAILED: "Stalled: Twilio refused the credentials (401).",
    Reason.TRANSIENT_ERROR: "Twilio or the API server failed temporarily; retried with "
    "exponential backoff (status.failedAttempts).",
    Reason.PERMANENT_ERROR: "Stalled: Twilio refused a request for good, or the spec is unusable; "
    "the message says which.",
    Reason.SUSPENDED: "spec.suspend is true: nothing is done.",
    Reason.CLEANING_UP: "The resource is being deleted: its copy (if items were not moved yet) "
    "is deleted; the original is never touched.",
    Reason.VALID_UNTIL_NOT_CLEARED: "Stalled: the approved copy's items were moved into the "
    "original, yet Twilio kept its valid_until (no later date was set). The operator does not "
    "renew again by itself; check the bundle with Twilio, then set a new spec.renewalRequest to "
    "retry.",
    Reason.BUNDLE_CLAIMED: "Stalled: another BundleRenewal (the UID in the named copy's friendly "
    "name, maybe in another namespace) is renewing the same bundle; this one touches nothing "
    "until that copy is gone. Deleting the other BundleRenewal deletes its copy.",
    Reason.WRITE_BUDGET_EXCEEDED: "Stalled: the resource made more Twilio writes than its budget "
    "allows (WRITE_BUDGET_PER_RECONCILE, WRITE_BUDGET_PER_HOUR) without settling, so it stopped "
    "rather than loop. Nothing resumes it but a spec change or a change of the original bundle; "
    "please report the spec that caused it.",
    Reason.SPEC_NOT_ACCEPTED: "Stalled, before any copy exists: the spec names an attribute "
    "the bundle's regulation does not accept (a typo, say) or a document type it does not take. "
    "The message names each refused spec path and lists the accepted names (from the regulation "
    "with IncludeConstraints, EndUserTypes and SupportingDocumentTypes; a refusal is always "
    "confirmed with a fresh read of the regulation). Fix the spec; it is checked again at once, "
    "and at every light check.",
    Reason.DRY_RUN: "Ready: spec.dryRun is true; status.dryRun says what a renewal would change "
    "and what would still be missing. No copy, no submission: the only request that is not a "
    "read is an evaluation of the original, which changes nothing at Twilio. Set spec.dryRun "
    "to false to renew.",
}
