"""The BundleRenewal's spec: the bundle, the credentials, and the end-user and document
attributes a renewal applies (literal values, or references to Secrets)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from controller.core.models.wire import (
    BUNDLE_SID_PATTERN,
    DATA_KEY_PATTERN,
    OBJECT_NAME_PATTERN,
    SUPPORTING_DOCUMENT_SID_PATTERN,
)
from controller.core.models.wire import WireModel as _WireModel

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
