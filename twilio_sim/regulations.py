"""The regulation catalogue: what each regulation requires of a bundle's end-user and documents.

Twilio's regulations are global (the same for every account). The simulator starts from the
built-in catalogue below and lets the admin API publish changes to it (new fields, new document
requirements). The France mobile business regulation reproduces the requirements and the exact
failure texts of Twilio's compliance-update guide; the others follow Twilio's docs examples.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from twilio_sim import sids


@dataclass(slots=True)
class FieldRule:
    """One attribute an end-user or document must carry."""

    machine_name: str
    friendly_name: str
    failure_reason: str
    error_code: int
    description: str = ""
    match_end_user: bool = False  # the value must equal the end-user's attribute of that name


@dataclass(slots=True)
class EndUserRequirement:
    requirement_name: str
    requirement_friendly_name: str
    name: str  # the evaluation result's friendly_name
    type: str  # "business" or "individual": the evaluation result's object_type
    fields: list[FieldRule]


@dataclass(slots=True)
class DocumentRequirement:
    requirement_name: str
    requirement_friendly_name: str
    name: str  # the evaluation result's friendly_name
    description: str
    accepted_types: list[str]  # supporting-document type machine names; the first is object_type
    fields: list[FieldRule]


@dataclass(slots=True)
class Regulation:
    sid: str
    friendly_name: str
    iso_country: str
    number_type: str
    end_user_type: str
    end_user: EndUserRequirement
    documents: list[DocumentRequirement]
    version: int = 1


@dataclass(slots=True)
class DocumentType:
    machine_name: str
    friendly_name: str
    field_names: dict[str, str] = field(default_factory=dict)  # machine_name -> friendly_name


DOCUMENT_TYPE_NAMES: dict[str, str] = {
    "commercial_registrar_excerpt": "Excerpt from the commercial register",
    "government_issued_document": "Government-issued ID",
    "power_of_attorney": "Power of Attorney",
    "passport": "Passport",
    "utility_bill": "Utility Bill",
    "business_registration": "Business Registration",
}

END_USER_TYPE_NAMES = {"business": "Business", "individual": "Individual"}


def end_user_field(machine: str, friendly: str, holder: str) -> FieldRule:
    return FieldRule(
        machine,
        friendly,
        f"The {friendly} is missing. Please enter in a {friendly} on the {holder} information.",
        22215,
        description=f"{friendly} of the {holder.lower()}",
    )


def matching_field(machine: str, friendly: str, document: str, holder: str) -> FieldRule:
    return FieldRule(
        machine,
        friendly,
        f"The {friendly} is missing. Or, it does not match the {friendly} you entered within "
        f"{holder} information. Please enter in the {friendly} shown on the {document} or make "
        f"sure both {friendly} fields use the same exact inputs.",
        22217,
        description=f"{friendly} as shown on the document",
        match_end_user=True,
    )


def document_field(machine: str, friendly: str, document: str) -> FieldRule:
    return FieldRule(
        machine,
        friendly,
        f"The {friendly} is missing. Please enter in the {friendly} shown on the {document}.",
        22217,
        description=f"{friendly} as shown on the document",
    )


def address_field(document: str) -> FieldRule:
    return FieldRule(
        "address_sids",
        "Address sid(s)",
        f"The Address is missing. Please enter in the address shown on the {document}.",
        22219,
        description="Address sid(s) of the address shown on the document",
    )


def _france_mobile_business() -> Regulation:
    k_bis_rep = (
        "Excerpt from the commercial register (Extrait K-bis) showing name of Authorized "
        "Representative"
    )
    k_bis_address = "Excerpt from the commercial register showing French address"
    k_bis = "Excerpt from the commercial register (Extrait K-bis)"
    gov_id = "Government-issued ID"
    return Regulation(
        sid=sids.stable_sid(sids.REGULATION, "FR/mobile/business"),
        friendly_name="France: Mobile - Business",
        iso_country="FR",
        number_type="mobile",
        end_user_type="business",
        end_user=EndUserRequirement(
            "business_info",
            "Business",
            "Business",
            "business",
            [
                end_user_field("business_name", "Business Name", "Business"),
                end_user_field(
                    "business_registration_number", "Business Registration Number", "Business"
                ),
                end_user_field("first_name", "First Name", "Business"),
                end_user_field("last_name", "Last Name", "Business"),
            ],
        ),
        documents=[
            DocumentRequirement(
                "business_name_info",
                "Business Name",
                k_bis_rep,
                "Proof of the business name and of its authorized representative.",
                ["commercial_registrar_excerpt"],
                [matching_field("business_name", "Business Name", k_bis_rep, "Business")],
            ),
            DocumentRequirement(
                "business_address_proof_info",
                "Business Address (Proof of Address)",
                k_bis_address,
                "The business address in France.",
                ["commercial_registrar_excerpt"],
                [address_field(k_bis_address)],
            ),
            DocumentRequirement(
                "business_reg_no_info",
                "Business Registration Number",
                k_bis,
                "The business registration number.",
                ["commercial_registrar_excerpt"],
                [document_field("document_number", "Document Number", k_bis)],
            ),
            DocumentRequirement(
                "name_of_auth_rep_info",
                "Name of Authorized Representative",
                gov_id,
                "Identity of the authorized representative.",
                ["government_issued_document"],
                [
                    matching_field("first_name", "First Name", gov_id, "Business"),
                    matching_field("last_name", "Last Name", gov_id, "Business"),
                ],
            ),
            DocumentRequirement(
                "power_of_attorney_info",
                "Power of Attorney",
                "Executed Copy of Power of Attorney",
                "A power of attorney granted by the authorized representative.",
                ["power_of_attorney"],
                [],
            ),
            DocumentRequirement(
                "name_in_power_of_attorney_info",
                "Name of Person granted the Power of Attorney",
                gov_id,
                "Identity of the person granted the power of attorney.",
                ["government_issued_document"],
                [
                    # Twilio's own texts, typo included.
                    FieldRule(
                        "first_name",
                        "First Name",
                        "The First Name is missing on the Governnment-Issued ID.",
                        22217,
                    ),
                    FieldRule(
                        "last_name",
                        "Last Name",
                        "The Last Name is missing on the Government-issued ID",
                        22217,
                    ),
                ],
            ),
        ],
    )


def _australia_local_individual() -> Regulation:
    address = "Address Validation"
    return Regulation(
        sid=sids.stable_sid(sids.REGULATION, "AU/local/individual"),
        friendly_name="Australia: Local - Individual",
        iso_country="AU",
        number_type="local",
        end_user_type="individual",
        end_user=EndUserRequirement(
            "individual_info",
            "Individual",
            "Individual",
            "individual",
            [
                end_user_field("first_name", "First Name", "Individual"),
                end_user_field("last_name", "Last Name", "Individual"),
            ],
        ),
        documents=[
            DocumentRequirement(
                "proof_of_address",
                "Address",
                address,
                "The physical location of the individual. Must be within the locality or region "
                "covered by the phone number's prefix; a PO Box is not acceptable.",
                ["utility_bill", "passport"],
                [address_field(address)],
            ),
        ],
    )


def _germany_local_business() -> Regulation:
    register = "Excerpt from the commercial register (Handelsregisterauszug)"
    proof = "Proof of address (Handelsregisterauszug or Gewerbeanmeldung)"
    return Regulation(
        sid=sids.stable_sid(sids.REGULATION, "DE/local/business"),
        friendly_name="Germany: Local - Business",
        iso_country="DE",
        number_type="local",
        end_user_type="business",
        end_user=EndUserRequirement(
            "business_info",
            "Business",
            "Business",
            "business",
            [end_user_field("business_name", "Business Name", "Business")],
        ),
        documents=[
            DocumentRequirement(
                "business_name_info",
                "Business Name",
                register,
                "Proof of the business name.",
                ["commercial_registrar_excerpt"],
                [matching_field("business_name", "Business Name", register, "Business")],
            ),
            DocumentRequirement(
                "business_address_info",
                "Business Address (Proof of Address)",
                proof,
                "A business address within the local area of the number.",
                ["commercial_registrar_excerpt", "business_registration"],
                [address_field(proof)],
            ),
        ],
    )


def _united_kingdom_mobile_individual() -> Regulation:
    passport = "Passport or national ID"
    return Regulation(
        sid=sids.stable_sid(sids.REGULATION, "GB/mobile/individual"),
        friendly_name="United Kingdom: Mobile - Individual",
        iso_country="GB",
        number_type="mobile",
        end_user_type="individual",
        end_user=EndUserRequirement(
            "individual_info",
            "Individual",
            "Individual",
            "individual",
            [
                end_user_field("first_name", "First Name", "Individual"),
                end_user_field("last_name", "Last Name", "Individual"),
            ],
        ),
        documents=[
            DocumentRequirement(
                "identity_info",
                "Identity",
                passport,
                "Identity of the individual.",
                ["passport", "government_issued_document"],
                [
                    matching_field("first_name", "First Name", passport, "Individual"),
                    matching_field("last_name", "Last Name", passport, "Individual"),
                    document_field("document_number", "Document Number", passport),
                ],
            ),
        ],
    )


FRANCE_MOBILE_BUSINESS_SID = sids.stable_sid(sids.REGULATION, "FR/mobile/business")


def builtin_catalogue() -> dict[str, Regulation]:
    """A fresh copy of the built-in regulations, keyed by SID (France mobile business first)."""
    regs = [
        _france_mobile_business(),
        _australia_local_individual(),
        _germany_local_business(),
        _united_kingdom_mobile_individual(),
    ]
    return {r.sid: r for r in regs}


# Default change published by POST /_sim/regulations/{sid}/change with an empty body.
DEFAULT_NEW_END_USER_FIELDS = {
    "business": ("business_registration_authority", "Business Registration Authority"),
    "individual": ("date_of_birth", "Date of Birth"),
}
DEFAULT_NEW_DOCUMENT_FIELD = ("issue_date", "Issue Date")


def apply_change(reg: Regulation, change: dict[str, Any]) -> Regulation:
    """Return a new version of reg with the change applied (see docs/simulator/: regulation
    changes).

    change keys: ``end_user_fields`` [{machine_name, friendly_name}], ``document_fields``
    {requirement_name: [{machine_name, friendly_name, match_end_user}]}, ``new_requirements``
    [{requirement_name, requirement_friendly_name, name, accepted_types, fields}]. An empty
    change adds a default field to the end-user and to the first document requirement.
    Raises ValueError on an unknown requirement name or a malformed entry.
    """
    new = copy.deepcopy(reg)
    new.version += 1
    holder = END_USER_TYPE_NAMES.get(reg.end_user_type, "Business")
    if not any(change.get(k) for k in ("end_user_fields", "document_fields", "new_requirements")):
        machine, friendly = DEFAULT_NEW_END_USER_FIELDS[reg.end_user_type]
        change = {"end_user_fields": [{"machine_name": machine, "friendly_name": friendly}]}
        if reg.documents:
            dm, df = DEFAULT_NEW_DOCUMENT_FIELD
            change["document_fields"] = {
                reg.documents[0].requirement_name: [{"machine_name": dm, "friendly_name": df}]
            }
    for entry in change.get("end_user_fields") or []:
        machine, friendly = _field_names(entry)
        if all(f.machine_name != machine for f in new.end_user.fields):
            new.end_user.fields.append(end_user_field(machine, friendly, holder))
    by_name = {d.requirement_name: d for d in new.documents}
    for req_name, entries in (change.get("document_fields") or {}).items():
        if req_name not in by_name:
            raise ValueError(f"unknown document requirement {req_name!r}")
        doc = by_name[req_name]
        for entry in entries:
            machine, friendly = _field_names(entry)
            if any(f.machine_name == machine for f in doc.fields):
                continue
            if entry.get("match_end_user"):
                doc.fields.append(matching_field(machine, friendly, doc.name, holder))
            else:
                doc.fields.append(document_field(machine, friendly, doc.name))
    for entry in change.get("new_requirements") or []:
        if not isinstance(entry, dict) or not entry.get("requirement_name"):
            raise ValueError("each new requirement needs a requirement_name")
        if entry["requirement_name"] in by_name:
            raise ValueError(f"requirement {entry['requirement_name']!r} already exists")
        types = entry.get("accepted_types") or []
        if not types or not all(isinstance(t, str) and t for t in types):
            raise ValueError("each new requirement needs accepted_types (document type names)")
        name = str(entry.get("name") or DOCUMENT_TYPE_NAMES.get(types[0], types[0]))
        fields = []
        for f in entry.get("fields") or []:
            machine, friendly = _field_names(f)
            maker = matching_field if f.get("match_end_user") else None
            fields.append(
                maker(machine, friendly, name, holder)
                if maker
                else document_field(machine, friendly, name)
            )
        doc_req = DocumentRequirement(
            entry["requirement_name"],
            str(entry.get("requirement_friendly_name") or name),
            name,
            str(entry.get("description") or ""),
            list(types),
            fields,
        )
        new.documents.append(doc_req)
        by_name[doc_req.requirement_name] = doc_req
    return new


def _field_names(entry: Any) -> tuple[str, str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("machine_name"), str):
        raise ValueError("each field needs a machine_name")
    machine = entry["machine_name"]
    if not machine:
        raise ValueError("machine_name must not be empty")
    friendly = entry.get("friendly_name") or machine.replace("_", " ").title()
    return machine, str(friendly)


def document_types(catalogue: dict[str, Regulation]) -> dict[str, DocumentType]:
    """Every supporting-document type any regulation accepts, with the union of its fields."""
    out = {m: DocumentType(m, n) for m, n in DOCUMENT_TYPE_NAMES.items()}
    for reg in catalogue.values():
        for req in reg.documents:
            for t in req.accepted_types:
                dt = out.setdefault(t, DocumentType(t, t.replace("_", " ").title()))
                for f in req.fields:
                    dt.field_names.setdefault(f.machine_name, f.friendly_name)
    return out


def end_user_types(catalogue: dict[str, Regulation]) -> dict[str, DocumentType]:
    """The end-user types (business, individual) with the union of their required fields."""
    out = {m: DocumentType(m, n) for m, n in END_USER_TYPE_NAMES.items()}
    for reg in catalogue.values():
        et = out[reg.end_user.type]
        for f in reg.end_user.fields:
            et.field_names.setdefault(f.machine_name, f.friendly_name)
    return out
