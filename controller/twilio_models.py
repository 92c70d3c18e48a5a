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
