"""What a regulation accepts, by name: the facts the preflight checks a spec against. Pure.

Twilio describes a regulation's requirements (Regulations/{Sid} with IncludeConstraints=true:
`requirements.end_user[]` and `requirements.supporting_document[][]`, each document requirement
listing the `accepted_documents` types with their `detailed_fields`) and, separately, every field
an end-user type or a supporting-document type takes (EndUserTypes, SupportingDocumentTypes: the
regulation lists what it *requires*, the types also what is optional). A name is accepted when
either source lists it for the object it is given to, so an optional field is never refused.

`regulation_terms` folds the three answers into `RegulationTerms`, which the gatherer puts in the
observation; the workflow sees names only, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from controller.core.twilio_models import ItemType, Regulation, RegulationField


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentRequirementTerms(Frozen):
    """One document requirement of the regulation: the types that satisfy it."""

    requirement_name: str
    accepted_types: tuple[str, ...]


class RegulationTerms(Frozen):
    """The names a regulation accepts: end-user fields, document types and each type's fields."""

    sid: str
    friendly_name: str | None = None
    end_user_type: str | None = None
    """business or individual: the end-user the regulation asks for."""
    end_user_fields: frozenset[str] = frozenset()
    """Field names an end-user of `end_user_type` may carry (required or optional)."""
    document_fields: dict[str, frozenset[str]] = Field(default_factory=dict)
    """Supporting-document types the regulation accepts, each with the field names it may carry."""
    requirements: tuple[DocumentRequirementTerms, ...] = ()
    """The document requirements, in the regulation's order."""
    read_at: datetime | None = None
    """When Twilio was asked (a cached answer keeps the time of the read it came from)."""

    def describe(self) -> str:
        """`regulation RN... (France: Mobile - Business)`."""
        name = f" ({self.friendly_name})" if self.friendly_name else ""
        return f"regulation {self.sid}{name}"

    def accepted_types_for(self, requirement_name: str | None) -> tuple[str, ...]:
        for requirement in self.requirements:
            if requirement.requirement_name == requirement_name:
                return requirement.accepted_types
        return ()


def _names(fields: Iterable[RegulationField], plain: Iterable[str]) -> set[str]:
    return {f.machine_name for f in fields} | set(plain)


def regulation_terms(
    regulation: Regulation,
    end_user_types: Iterable[ItemType],
    document_types: Iterable[ItemType],
    read_at: datetime | None = None,
) -> RegulationTerms:
    """The names `regulation` accepts, its own requirement fields merged with the fields its
    end-user type and document types take (EndUserTypes, SupportingDocumentTypes)."""
    requirements = regulation.requirements
    end_user_type = regulation.end_user_type
    if end_user_type is None and requirements.end_user:
        end_user_type = requirements.end_user[0].type
    end_user_fields: set[str] = set()
    for eu in requirements.end_user:
        if end_user_type is None or eu.type in (None, end_user_type):
            end_user_fields |= _names(eu.detailed_fields, eu.fields)
    for item_type in end_user_types:
        if item_type.machine_name == end_user_type:
            end_user_fields |= {f.machine_name for f in item_type.fields}

    documents: dict[str, set[str]] = {}
    terms: list[DocumentRequirementTerms] = []
    for group in requirements.supporting_document:
        for requirement in group:
            types: list[str] = []
            for accepted in requirement.accepted_documents:
                names = _names(accepted.detailed_fields, accepted.fields)
                documents.setdefault(accepted.type, set()).update(names)
                if accepted.type not in types:
                    types.append(accepted.type)
            terms.append(
                DocumentRequirementTerms(
                    requirement_name=requirement.requirement_name or requirement.name or "",
                    accepted_types=tuple(types),
                )
            )
    for item_type in document_types:
        if item_type.machine_name in documents:
            documents[item_type.machine_name] |= {f.machine_name for f in item_type.fields}
    return RegulationTerms(
        sid=regulation.sid,
        friendly_name=regulation.friendly_name,
        end_user_type=end_user_type,
        end_user_fields=frozenset(end_user_fields),
        document_fields={t: frozenset(f) for t, f in documents.items()},
        requirements=tuple(terms),
        read_at=read_at,
    )
