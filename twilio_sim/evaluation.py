"""Evaluations: a bundle's actual items checked against its regulation's requirements.

The result list has exactly the shape of Twilio's compliance-update guide: one entry per
requirement with requirement_name, requirement_friendly_name, friendly_name, object_type, passed,
failure_reason, error_code, and valid[] / invalid[] entries of friendly_name, object_field,
failure_reason and error_code. Pure functions: no I/O, no store mutation.
"""

from __future__ import annotations

from typing import Any

from twilio_sim.regulations import DocumentRequirement, EndUserRequirement, FieldRule, Regulation
from twilio_sim.store import EndUser, SupportingDocument


def evaluate(
    reg: Regulation, users: list[EndUser], docs: list[SupportingDocument]
) -> tuple[str, list[dict[str, Any]]]:
    """("compliant" | "noncompliant", results) for a bundle holding users and docs."""
    end_user = next((u for u in users if u.type == reg.end_user.type), None)
    eu_attrs = end_user.attributes if end_user is not None else {}
    results = [_end_user_result(reg.end_user, end_user)]
    results.extend(_document_result(req, docs, eu_attrs) for req in reg.documents)
    status = "compliant" if all(r["passed"] for r in results) else "noncompliant"
    return status, results


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return True


def _entry(rule: FieldRule, ok: bool) -> dict[str, Any]:
    return {
        "friendly_name": rule.friendly_name,
        "object_field": rule.machine_name,
        "failure_reason": None if ok else rule.failure_reason,
        "error_code": None if ok else rule.error_code,
    }


def _split(
    rules: list[FieldRule], attrs: dict[str, Any], eu_attrs: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    valid: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for rule in rules:
        value = attrs.get(rule.machine_name)
        ok = _present(value)
        if ok and rule.match_end_user:
            ok = value == eu_attrs.get(rule.machine_name)
        (valid if ok else invalid).append(_entry(rule, ok))
    return valid, invalid


def _result(
    requirement_name: str,
    requirement_friendly_name: str,
    friendly_name: str,
    object_type: str,
    passed: bool,
    failure_reason: str | None,
    error_code: int | None,
    valid: list[dict[str, Any]],
    invalid: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "friendly_name": friendly_name,
        "object_type": object_type,
        "passed": passed,
        "failure_reason": failure_reason,
        "error_code": error_code,
        "valid": valid,
        "invalid": invalid,
        "requirement_friendly_name": requirement_friendly_name,
        "requirement_name": requirement_name,
    }


def _article(noun: str) -> str:
    return "An" if noun[:1].lower() in "aeiou" else "A"


def _end_user_result(req: EndUserRequirement, user: EndUser | None) -> dict[str, Any]:
    if user is None:
        invalid = [_entry(rule, False) for rule in req.fields]
        reason: str | None = (
            f"{_article(req.name)} {req.name} End-User is missing. "
            "Please add one to the regulatory bundle."
        )
        return _result(
            req.requirement_name, req.requirement_friendly_name, req.name, req.type,
            False, reason, 22214, [], invalid,
        )  # fmt: skip
    valid, invalid = _split(req.fields, user.attributes, user.attributes)
    passed = not invalid
    reason = None if passed else f"The {req.name} End-User is missing required information."
    return _result(
        req.requirement_name, req.requirement_friendly_name, req.name, req.type,
        passed, reason, None if passed else 22215, valid, invalid,
    )  # fmt: skip


def _document_result(
    req: DocumentRequirement, docs: list[SupportingDocument], eu_attrs: dict[str, Any]
) -> dict[str, Any]:
    candidates = [d for d in docs if d.type in req.accepted_types]
    if not candidates:
        invalid = [_entry(rule, False) for rule in req.fields]
        reason: str | None = (
            f"{_article(req.name)} {req.name} is missing. Please add one to the regulatory bundle."
        )
        return _result(
            req.requirement_name, req.requirement_friendly_name, req.name, req.accepted_types[0],
            False, reason, 22216, [], invalid,
        )  # fmt: skip
    best: tuple[SupportingDocument, list[dict[str, Any]], list[dict[str, Any]]] | None = None
    for doc in candidates:
        valid, invalid = _split(req.fields, doc.attributes, eu_attrs)
        if best is None or len(invalid) < len(best[2]):
            best = (doc, valid, invalid)
    assert best is not None
    doc, valid, invalid = best
    passed = not invalid
    reason = None if passed else f"The {req.name} is missing information or does not match."
    return _result(
        req.requirement_name, req.requirement_friendly_name, req.name, doc.type,
        passed, reason, None if passed else 22217, valid, invalid,
    )  # fmt: skip
