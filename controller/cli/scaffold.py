"""`scaffold`: BundleRenewal YAML for bundles that need one, ready to fill in and commit.

Each missing end-user or document field becomes an attribute whose value is a literal
placeholder (`<FILL IN: Issue Date>`), with a comment naming the requirement, as Twilio's
evaluation of the bundle reports it; a document the bundle lacks altogether also gets a `file`
entry with placeholders (a new document needs its scan). The regulation's constraints say which
fields take a list (`Array`, e.g. address_sids). No value from Twilio is ever copied in: the
output holds SIDs, type and field names, and placeholders. Written by hand rather than dumped, so
the comments sit next to the entries they explain; every value goes through json.dumps, which is
valid YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from controller.cli.output import iso
from controller.core.models import API_GROUP, API_VERSION, KIND
from controller.core.twilio_models import Regulation
from controller.engine.accounts.scan import BundleRow, Missing

PLACEHOLDER = "<FILL IN: {}>"
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def placeholder(what: str) -> str:
    return PLACEHOLDER.format(what)


def resource_name(row: BundleRow, taken: set[str]) -> str:
    """A DNS-1123 name from the bundle's friendly name (its SID when that gives nothing)."""
    base = _NOT_DNS.sub("-", (row.bundle.friendly_name or "").lower()).strip("-")[:50].strip("-")
    base = base or row.bundle.sid.lower()
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _constraint(regulation: Regulation | None, object_type: str | None, field: str) -> str | None:
    if regulation is None:
        return None
    requirements = regulation.requirements
    detailed = [f for r in requirements.end_user for f in r.detailed_fields]
    if object_type not in {r.type for r in requirements.end_user}:
        detailed = [
            f
            for group in requirements.supporting_document
            for r in group
            for accepted in r.accepted_documents
            if accepted.type == object_type
            for f in accepted.detailed_fields
        ]
    return next((f.constraint for f in detailed if f.machine_name == field), None)


def _value(missing: Missing, regulation: Regulation | None) -> str:
    what = placeholder(missing.field_friendly_name or missing.field or "value")
    if missing.field and _constraint(regulation, missing.object_type, missing.field) == "Array":
        return json.dumps([what])
    return json.dumps(what)


def _requirement(missing: Missing) -> str:
    """`requirement "Business" (business_info)`: the requirement's friendly name and name."""
    friendly = missing.requirement_friendly_name or missing.requirement_name or "?"
    name = f" ({missing.requirement_name})" if missing.requirement_name else ""
    return f"requirement {json.dumps(friendly)}{name}"


def _attributes(items: list[Missing], regulation: Regulation | None, indent: str) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    for m in items:
        if m.field is None or m.field in seen:
            continue
        seen.add(m.field)
        requirements = sorted({_requirement(x) for x in items if x.field == m.field})
        label = m.field_friendly_name or m.field
        lines.append(f"{indent}# {label}, for {'; '.join(requirements)}")
        lines.append(f"{indent}{m.field}: {_value(m, regulation)}")
    return lines


def render(rows: Iterable[BundleRow], namespace: str, secret_name: str) -> str:
    """One YAML document per row (rows without anything missing still get bundleSid)."""
    documents: list[str] = []
    taken: set[str] = set()
    for row in rows:
        documents.append(_document(row, namespace, secret_name, taken))
    return "---\n".join(documents)


def _document(row: BundleRow, namespace: str, secret_name: str, taken: set[str]) -> str:
    bundle, regulation = row.bundle, row.regulation
    missing = row.missing or []
    regulation_name = regulation.friendly_name if regulation else bundle.regulation_sid
    lines = [
        f"# Bundle {bundle.sid} {json.dumps(bundle.friendly_name or '')} ({regulation_name}),"
        f" valid until {iso(bundle.valid_until)}"
        + (f" ({row.days_left} days left)" if row.days_left is not None else ""),
        f"apiVersion: {API_GROUP}/{API_VERSION}",
        f"kind: {KIND}",
        "metadata:",
        f"  name: {resource_name(row, taken)}",
        f"  namespace: {namespace}",
        "spec:",
        f"  bundleSid: {bundle.sid}",
        "  credentialsSecretRef:",
        f"    name: {secret_name}",
    ]
    if row.missing is None:
        lines.insert(1, "# Not evaluated: add what the regulation requires by hand.")
    end_user = [m for m in missing if m.end_user and m.field]
    if end_user:
        lines += ["  endUser:", "    attributes:"]
        lines += _attributes(end_user, regulation, "      ")
    documents: dict[str, list[Missing]] = {}
    for m in missing:
        if not m.end_user and m.object_type:
            documents.setdefault(m.object_type, []).append(m)
    if documents:
        lines.append("  supportingDocuments:")
    for doc_type, items in documents.items():
        lines.append(f"    - type: {doc_type}")
        whole = [m for m in items if m.whole_object]
        if whole:
            names = "; ".join(sorted({_requirement(m) for m in whole}))
            lines.append(f"      # Missing from the bundle, to be created, for {names}")
        attributes = _attributes(items, regulation, "        ")
        lines.append("      attributes:" if attributes else "      attributes: {}")
        lines += attributes
        if whole:
            lines += [
                "      file:",
                "        secretKeyRef:",
                f"          name: {json.dumps(placeholder('Secret holding the scan'))}",
                f"          key: {json.dumps(placeholder('key in that Secret'))}",
                "        contentType: application/pdf",
                f"        filename: {json.dumps(placeholder('file name, e.g. document.pdf'))}",
            ]
    return "\n".join(lines) + "\n"
