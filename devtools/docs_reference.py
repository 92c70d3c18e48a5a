"""The README's reference tables, generated from the code so they cannot drift.

    .venv/bin/python devtools/docs_reference.py          # rewrite README.md's generated blocks
    .venv/bin/python devtools/docs_reference.py --check  # exit 1 if README.md is stale

Spec and status fields come from controller/core/models/ (their docstrings, the same text
`kubectl explain` shows), phases and condition types from the enum members' docstrings, condition
reasons from `REASONS` below (a unit test requires one entry per `Reason` member), the
configuration from controller/core/settings.py's field descriptions and defaults, the metrics from
what OperatorMetrics serves (devtools/metrics_size.py), the runbooks from the alert rules'
source (devtools/alert_rules.py), and the Health table and the Argo CD snippet from the statuses
captured in integration runs and manifests/argocd/health.lua (devtools/health_checks.py).
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import types
import typing
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from controller.core import models  # noqa: E402
from controller.core.models import BundleRenewalSpec, BundleRenewalStatus, Reason  # noqa: E402
from controller.core.settings import OperatorSettings  # noqa: E402
from devtools import (  # noqa: E402
    alert_rules,
    health_checks,
    metrics_size,
)

README = REPO_ROOT / "README.md"

# What each condition/event reason means for the user; every Reason member needs one.
REASONS: dict[Reason, str] = {
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

_GENERATED = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) .*?-->\n)(?P<body>.*?)(<!-- END GENERATED -->)",
    re.DOTALL,
)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "map"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "string"
    names = {str: "string", int: "integer", bool: "boolean", float: "number"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation)).replace("datetime", "timestamp")


def field_rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str]]:
    """(path, type, description) for every field of model, nested objects included."""
    rows = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{info.alias or name}"
        required = info.is_required()
        type_name = _type_name(info.annotation) + (", required" if required else "")
        rows.append((path, type_name, _one_line(info.description)))
        for nested in _models_in(info.annotation):
            list_suffix = "[]" if typing.get_origin(info.annotation) is list else ""
            rows.extend(field_rows(nested, path + list_suffix))
    return rows


def member_docstrings(enum: type[Enum]) -> dict[str, str]:
    """The docstrings written under enum members (not kept at run time, so read from source)."""
    tree = ast.parse(inspect.getsource(enum))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if (
            isinstance(node, ast.Assign)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
        ):
            target = node.targets[0]
            assert isinstance(target, ast.Name)
            docs[enum[target.id].value] = _one_line(str(after.value.value))
    return docs


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def spec_reference() -> str:
    rows = [(f"`{p}`", t, d) for p, t, d in field_rows(BundleRenewalSpec, "spec")]
    return _table(("Field", "Type", "Meaning"), rows)


def status_reference() -> str:
    rows = [(f"`{p}`", t, d) for p, t, d in field_rows(BundleRenewalStatus, "status")]
    return _table(("Field", "Type", "Meaning"), rows)


def phase_reference() -> str:
    phases = member_docstrings(models.Phase)
    conditions = member_docstrings(models.ConditionType)
    return (
        _table(("Phase", "Meaning"), [(f"`{k}`", v) for k, v in phases.items()])
        + "\n"
        + _table(("Condition", "True when"), [(f"`{k}`", v) for k, v in conditions.items()])
    )


def reason_reference() -> str:
    return _table(("Reason", "Meaning"), [(f"`{r.value}`", REASONS[r]) for r in Reason])


def settings_reference() -> str:
    rows = []
    for name, info in OperatorSettings.model_fields.items():
        default = info.default
        if isinstance(default, Enum):
            default = default.value
        shown = "(unset)" if default in (None, (), "") else f"`{default}`"
        rows.append((f"`{name.upper()}`", shown, _one_line(info.description)))
    return _table(("Variable", "Default", "Meaning"), rows)


def metrics_reference() -> str:
    """Every family /metrics serves: name (as PromQL sees it), type, labels, HELP text."""
    rows = []
    for family in metrics_size.every_family().collect():
        name = f"{family.name}_total" if family.type == "counter" else family.name
        labels = sorted({k for s in family.samples for k in s.labels} - {"le"})
        shown = ", ".join(f"`{label}`" for label in labels) or "-"
        rows.append((f"`{name}`", family.type, shown, _one_line(family.documentation)))
    return _table(("Metric", "Type", "Labels", "What"), rows)


def metrics_size_reference() -> str:
    size = metrics_size.measure(1000)
    per_resource = size.series / size.resources
    return (
        f"Measured by `make bench-metrics` (`devtools/metrics_size.py`: 1,000 statuses fed into"
        f" `OperatorMetrics`, 80% Completed, 10% InReview, 5% NeedsInput, 5% Failed): "
        f"**{size.bytes:,} bytes** ({size.gzip_bytes:,} gzipped), {size.series:,} series"
        f" ({per_resource:.1f} per resource with the operator-wide ones).\n"
    )


def alerts_reference() -> str:
    rows = [
        (f"[`{a.name}`](#{a.anchor})", a.severity, _one_line(a.fires_when))
        for a in alert_rules.ALERTS
    ]
    return _table(("Alert", "Severity", "Fires when"), rows)


def runbooks_reference() -> str:
    parts = []
    for alert in alert_rules.ALERTS:
        parts.append(
            f"### {alert.name}\n\n"
            f"Severity `{alert.severity}`. {alert.fires_when}\n\n"
            f"```promql\n{alert.expr}\n```\n\n"
            f"{alert.runbook}\n"
        )
    return "\n".join(parts)


SECTIONS = {
    "spec": spec_reference,
    "status": status_reference,
    "phases": phase_reference,
    "reasons": reason_reference,
    "settings": settings_reference,
    "metrics": metrics_reference,
    "metrics-size": metrics_size_reference,
    "alerts": alerts_reference,
    "runbooks": runbooks_reference,
    "health": health_checks.health_table,
    "argocd-health": health_checks.argocd_cm_snippet,
}


def render(readme: str) -> str:
    """README text with every generated block replaced by its current content."""

    def replace(match: re.Match[str]) -> str:
        body = SECTIONS[match.group("name")]()
        return match.group(1) + body + match.group(4)

    return _GENERATED.sub(replace, readme)


def main(argv: list[str]) -> int:
    current = README.read_text()
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print("README.md reference tables are stale: run devtools/docs_reference.py")
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
