"""The preflight: refuse a spec whose names the regulation does not accept, before any copy exists.

A typo in an attribute name (`busines_name`) or a document type the regulation does not take
would otherwise surface only after a copy was made and edited, as a noncompliant evaluation (the
typo'd field is simply one more attribute, the real one still missing), or as a rejection days
later. The names are checked against what the original's regulation accepts (`RegulationTerms`:
its requirements with IncludeConstraints, merged with the end-user and document types' fields,
so an optional field is not refused). Only names are compared, never values; a null value (which
removes a field) and an entry with `remove: true` are not checked, since removing is always
possible.

A refusal stalls the resource (SpecNotAccepted) naming each refused spec path and the accepted
names, and is never made from the cache alone: the regulation is read afresh first. Without a
regulation to check against (the original names none, Twilio does not know it, or the gateway
cannot read it) everything passes: Twilio's evaluation of the copy remains the authority.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from controller.core.models import BundleRenewalSpec, BundleRenewalStatus, Reason
from controller.core.plan import Decision, ObservationPart, RegulationTerms
from controller.core.workflow.context import Context
from controller.core.workflow.status import failed

Part = ObservationPart

# Accepted names listed in a message at most (a regulation accepting more is cut with "...").
_LISTED = 30


@dataclass(frozen=True)
class Refusal:
    """One spec name the regulation does not accept."""

    path: str
    """Where in the spec: spec.endUser.attributes.<name>, spec.supportingDocuments[i].type, or
    spec.supportingDocuments[i].attributes.<name>."""
    name: str
    what: str
    """What the name was taken for, e.g. "business end-user field"."""
    accepted: frozenset[str]

    def describe(self, terms: RegulationTerms) -> str:
        close = difflib.get_close_matches(self.name, sorted(self.accepted), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        names = sorted(self.accepted)
        listed = ", ".join(names[:_LISTED]) + (", ..." if len(names) > _LISTED else "")
        return (
            f"{self.path}: {terms.describe()} accepts no {self.what} named {self.name}{hint}; "
            f"accepted: {listed or 'none'}"
        )


def refusals(spec: BundleRenewalSpec, terms: RegulationTerms) -> list[Refusal]:
    """Every name in `spec` that `terms` does not accept, in spec order. A part of the regulation
    that names nothing (no end-user fields, no document types) is not checked: nothing is known
    to refuse with."""
    found: list[Refusal] = []
    if spec.end_user is not None and terms.end_user_fields:
        who = f"{terms.end_user_type} end-user field" if terms.end_user_type else "end-user field"
        found += _unknown(
            "spec.endUser.attributes", spec.end_user.attributes, terms.end_user_fields, who
        )
    if not terms.document_fields:
        return found
    types = frozenset(terms.document_fields)
    for index, entry in enumerate(spec.supporting_documents):
        if entry.remove:
            continue
        at = f"spec.supportingDocuments[{index}]"
        if entry.type not in types:
            found.append(Refusal(f"{at}.type", entry.type, "document type", types))
            continue
        what = f"{entry.type} document field"
        fields = terms.document_fields[entry.type]
        found += _unknown(f"{at}.attributes", entry.attributes, fields, what)
    return found


def _unknown(
    at: str, attributes: dict[str, object], accepted: frozenset[str], what: str
) -> Iterable[Refusal]:
    return [
        Refusal(f"{at}.{name}", name, what, accepted)
        for name, value in attributes.items()
        if value is not None and name not in accepted
    ]


def not_accepted(ctx: Context, status: BundleRenewalStatus) -> list[Refusal] | Decision:
    """The spec's names the original's regulation refuses (empty: all accepted, or nothing to
    check against); a Decision to read the regulation first (afresh before any refusal)."""
    if (observe := ctx.need(Part.REGULATION, status=status)) is not None:
        return observe
    terms = ctx.obs.regulation
    if terms is None:
        return []
    found = refusals(ctx.spec, terms)
    if found and (observe := ctx.need(Part.REGULATION_REFRESHED, status=status)) is not None:
        return observe
    return found


def refusal_message(terms: RegulationTerms | None, found: list[Refusal]) -> str:
    if terms is None:
        return ""
    return (
        "the spec names what the bundle's regulation does not accept, so no copy was made: "
        + "; ".join(r.describe(terms) for r in found)
    )


def preflight(ctx: Context, status: BundleRenewalStatus) -> Decision | None:
    """Before the copy is made: Stalled (SpecNotAccepted) if the regulation refuses a name in the
    spec. None: go ahead."""
    found = not_accepted(ctx, status)
    if isinstance(found, Decision):
        return found
    if not found:
        return None
    message = refusal_message(ctx.obs.regulation, found)
    return failed(ctx, status, Reason.SPEC_NOT_ACCEPTED, message)
