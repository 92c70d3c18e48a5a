"""Twilio's JSON representation of the simulator's records (snake_case, absolute URLs).

Kept apart from the store so that the wire format lives in one place; every function takes the
base URL the client reached the simulator at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from twilio_sim.regulations import DocumentType, Regulation
from twilio_sim.store import Bundle, EndUser, Evaluation, ItemAssignment, SupportingDocument

RC = "/v2/RegulatoryCompliance"


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def bundle_core(b: Bundle) -> dict[str, Any]:
    """The bundle fields shared by bundle, bundle_copy and replace_items."""
    return {
        "sid": b.sid,
        "account_sid": b.account_sid,
        "regulation_sid": b.regulation_sid,
        "friendly_name": b.friendly_name,
        "status": b.status,
        "valid_until": iso(b.valid_until),
        "email": b.email,
        "status_callback": b.status_callback,
        "date_created": iso(b.date_created),
        "date_updated": iso(b.date_updated),
    }


def bundle(b: Bundle, base: str) -> dict[str, Any]:
    url = f"{base}{RC}/Bundles/{b.sid}"
    out = bundle_core(b)
    out["url"] = url
    out["links"] = {
        "evaluations": f"{url}/Evaluations",
        "item_assignments": f"{url}/ItemAssignments",
        "bundle_copies": f"{url}/Copies",
    }
    return out


def item_assignment(i: ItemAssignment, base: str) -> dict[str, Any]:
    return {
        "sid": i.sid,
        "bundle_sid": i.bundle_sid,
        "account_sid": i.account_sid,
        "object_sid": i.object_sid,
        "date_created": iso(i.date_created),
        "url": f"{base}{RC}/Bundles/{i.bundle_sid}/ItemAssignments/{i.sid}",
    }


def evaluation(e: Evaluation, base: str) -> dict[str, Any]:
    return {
        "sid": e.sid,
        "account_sid": e.account_sid,
        "regulation_sid": e.regulation_sid,
        "bundle_sid": e.bundle_sid,
        "status": e.status,
        "results": e.results,
        "date_created": iso(e.date_created),
        "url": f"{base}{RC}/Bundles/{e.bundle_sid}/Evaluations/{e.sid}",
    }


def end_user(u: EndUser, base: str) -> dict[str, Any]:
    return {
        "sid": u.sid,
        "account_sid": u.account_sid,
        "friendly_name": u.friendly_name,
        "type": u.type,
        "attributes": u.attributes,
        "date_created": iso(u.date_created),
        "date_updated": iso(u.date_updated),
        "url": f"{base}{RC}/EndUsers/{u.sid}",
    }


def supporting_document(d: SupportingDocument, base: str) -> dict[str, Any]:
    return {
        "sid": d.sid,
        "account_sid": d.account_sid,
        "friendly_name": d.friendly_name,
        "mime_type": d.mime_type,
        "status": d.status,
        "failure_reason": d.failure_reason,
        "errors": d.errors,
        "type": d.type,
        "attributes": d.attributes,
        "date_created": iso(d.date_created),
        "date_updated": iso(d.date_updated),
        "url": f"{base}{RC}/SupportingDocuments/{d.sid}",
    }


def item_type(t: DocumentType, sid: str, base: str, collection: str) -> dict[str, Any]:
    return {
        "sid": sid,
        "friendly_name": t.friendly_name,
        "machine_name": t.machine_name,
        "fields": [
            {"friendly_name": f, "machine_name": m, "constraint": _constraint(m)}
            for m, f in t.field_names.items()
        ],
        "url": f"{base}{RC}/{collection}/{sid}",
    }


def _constraint(machine_name: str) -> str:
    return "Array" if machine_name.endswith("_sids") else "String"


def _detailed(fields: list[Any], constraints: bool) -> list[dict[str, Any]]:
    out = []
    for f in fields:
        d = {
            "machine_name": f.machine_name,
            "friendly_name": f.friendly_name,
            "description": f.description,
        }
        if constraints:
            d["constraint"] = _constraint(f.machine_name)
        out.append(d)
    return out


def regulation(r: Regulation, base: str, include_constraints: bool) -> dict[str, Any]:
    eu = r.end_user
    return {
        "sid": r.sid,
        "friendly_name": r.friendly_name,
        "iso_country": r.iso_country,
        "number_type": r.number_type,
        "end_user_type": r.end_user_type,
        "requirements": {
            "end_user": [
                {
                    "name": eu.name,
                    "type": eu.type,
                    "requirement_name": eu.requirement_name,
                    "url": f"{base}{RC}/Regulations/{eu.type}",
                    "fields": [f.machine_name for f in eu.fields],
                    "detailed_fields": _detailed(eu.fields, include_constraints),
                }
            ],
            "supporting_document": [
                [
                    {
                        "name": req.requirement_friendly_name,
                        "type": "document",
                        "requirement_name": req.requirement_name,
                        "description": req.description,
                        "accepted_documents": [
                            {
                                "name": req.name,
                                "type": t,
                                "url": f"{base}{RC}/DocumentTypes/{t}",
                                "fields": [f.machine_name for f in req.fields],
                                "detailed_fields": _detailed(req.fields, include_constraints),
                            }
                            for t in req.accepted_types
                        ],
                    }
                ]
                for req in r.documents
            ],
        },
        "url": f"{base}{RC}/Regulations/{r.sid}",
    }
