"""The README's reference tables, generated from the code so they cannot drift.

    .venv/bin/python devtools/docs_reference.py          # rewrite README.md's generated blocks
    .venv/bin/python devtools/docs_reference.py --check  # exit 1 if README.md is stale

Spec and status fields come from controller/core/models/ (their docstrings, the same text
`kubectl explain` shows), phases and condition types from the enum members' docstrings, condition
reasons from `REASON_TEXTS` (controller/core/models/reasons.py, one text per `Reason`), the
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
from controller.core.models import (  # noqa: E402
    REASON_TEXTS,
    BundleRenewalSpec,
    BundleRenewalStatus,
    Reason,
)
from controller.core.settings import OperatorSettings  # noqa: E402
from devtools import (  # noqa: E402
    alert_rules,
    health_checks,
    metrics_size,
)

README = REPO_ROOT / "README.md"


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
    return _table(("Reason", "Meaning"), [(f"`{r.value}`", REASON_TEXTS[r]) for r in Reason])


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
