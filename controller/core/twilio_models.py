"""Pydantic models of the Twilio Regulatory Compliance resources the operator reads.

They mirror the JSON Twilio returns (snake_case, see Twilio's numbers v2 OpenAPI spec), keep only
the fields the renewal workflow decides on, and ignore the rest so that additions on Twilio's side
never break parsing. Pure data: no I/O, importable from the pure workflow.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _TwilioModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class BundleStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending-review"
    IN_REVIEW = "in-review"
    TWILIO_REJECTED = "twilio-rejected"
    TWILIO_APPROVED = "twilio-approved"
    PROVISIONALLY_APPROVED = "provisionally-approved"


class EvaluationStatus(StrEnum):
    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"


class Bundle(_TwilioModel):
    """A bundle, a bundle copy or a replace_items answer: they share these fields."""

    sid: str
    account_sid: str | None = None
    regulation_sid: str | None = None
    friendly_name: str | None = None
    status: BundleStatus
    valid_until: datetime | None = None
    email: str | None = None
    status_callback: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None


class EvaluationFieldResult(_TwilioModel):
    """One field of one requirement, as listed under `valid` or `invalid`."""

    friendly_name: str | None = None
    object_field: str | None = None
    failure_reason: str | None = None
    error_code: int | None = None


class EvaluationRequirementResult(_TwilioModel):
    """One requirement of the regulation, evaluated against the bundle's items."""

    requirement_name: str | None = None
    requirement_friendly_name: str | None = None
    friendly_name: str | None = None
    object_type: str | None = None
    passed: bool = False
    failure_reason: str | None = None
    error_code: int | None = None
    valid: list[EvaluationFieldResult] = Field(default_factory=list)
    invalid: list[EvaluationFieldResult] = Field(default_factory=list)


class Evaluation(_TwilioModel):
    sid: str
    bundle_sid: str | None = None
    regulation_sid: str | None = None
    status: EvaluationStatus
    results: list[EvaluationRequirementResult] = Field(default_factory=list)
    date_created: datetime | None = None


class ItemAssignment(_TwilioModel):
    sid: str
    bundle_sid: str | None = None
    object_sid: str
    date_created: datetime | None = None


class EndUser(_TwilioModel):
    sid: str
    friendly_name: str | None = None
    type: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, repr=False)
    """Personal data: kept out of repr (and so out of logs and tracebacks)."""


class SupportingDocumentStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending-review"
    REJECTED = "rejected"
    APPROVED = "approved"
    EXPIRED = "expired"
    PROVISIONALLY_APPROVED = "provisionally-approved"


class SupportingDocument(_TwilioModel):
    sid: str
    friendly_name: str | None = None
    type: str | None = None
    mime_type: str | None = None
    status: SupportingDocumentStatus | None = None
    failure_reason: str | None = None
    errors: list[dict[str, Any]] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, repr=False)
    """Personal data: kept out of repr (and so out of logs and tracebacks)."""


class DocumentFile(_TwilioModel):
    """A file to upload with a new supporting document (multipart `File` part)."""

    filename: str
    content_type: str
    content: bytes = Field(repr=False)


class RegulationField(_TwilioModel):
    """One field a regulation asks of an end-user or document (`detailed_fields` entry).
    `constraint` (a type name such as String or Array) is there with IncludeConstraints only."""

    machine_name: str
    friendly_name: str | None = None
    description: str | None = None
    constraint: str | None = None


class RegulationEndUserRequirement(_TwilioModel):
    name: str | None = None
    type: str | None = None
    requirement_name: str | None = None
    fields: list[str] = Field(default_factory=list)
    detailed_fields: list[RegulationField] = Field(default_factory=list)


class RegulationAcceptedDocument(_TwilioModel):
    name: str | None = None
    type: str
    fields: list[str] = Field(default_factory=list)
    detailed_fields: list[RegulationField] = Field(default_factory=list)


class RegulationDocumentRequirement(_TwilioModel):
    name: str | None = None
    type: str | None = None
    requirement_name: str | None = None
    description: str | None = None
    accepted_documents: list[RegulationAcceptedDocument] = Field(default_factory=list)


class RegulationRequirements(_TwilioModel):
    end_user: list[RegulationEndUserRequirement] = Field(default_factory=list)
    # Twilio nests each requirement in a list of its own (alternatives, as the spec's example).
    supporting_document: list[list[RegulationDocumentRequirement]] = Field(default_factory=list)


class Regulation(_TwilioModel):
    """A regulation (RN...) and what it currently requires of a bundle's items."""

    sid: str
    friendly_name: str | None = None
    iso_country: str | None = None
    number_type: str | None = None
    end_user_type: str | None = None
    requirements: RegulationRequirements = Field(default_factory=RegulationRequirements)


class ItemTypeField(_TwilioModel):
    machine_name: str
    friendly_name: str | None = None
    constraint: str | None = None


class ItemType(_TwilioModel):
    """An end-user type or supporting-document type (OY...) and the fields it takes."""

    sid: str
    machine_name: str
    friendly_name: str | None = None
    fields: list[ItemTypeField] = Field(default_factory=list)


class PhoneNumber(_TwilioModel):
    """An IncomingPhoneNumber (API v2010): only which bundle it is registered under."""

    sid: str
    bundle_sid: str | None = None
