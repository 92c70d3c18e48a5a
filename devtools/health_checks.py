"""How GitOps tools read a BundleRenewal: a kstatus oracle and the shipped Argo CD health check.

- `kstatus(obj)` applies the rules of sigs.k8s.io/cli-utils `pkg/kstatus/status` (generic.go,
  `checkGenericProperties`, then status.go, `Compute`), which Flux's health checks use: a
  deletionTimestamp is Terminating; a status.observedGeneration that differs from
  metadata.generation is InProgress; then, condition by condition in list order, Reconciling
  True is InProgress and Stalled True is Failed; a kind with no built-in rules is Current
  otherwise. `with_ready=True` adds the reading the issue asks for (and Flux's own kinds
  follow): a Ready condition that is False is InProgress. The operator's statuses are written
  so that both readings agree (Ready False without Stalled means Reconciling True).
- `argocd(obj)` runs manifests/argocd/health.lua in Lua 5.1 (lupa's `lupa.lua51`; Argo CD runs
  gopher-lua, a Lua 5.1) with `obj` as a global, as Argo CD does, and returns its
  {status, message}.
- `load_cases()` reads the statuses captured from integration runs (tests/fixtures/health/),
  with the results the documentation's Health table shows; `health_table()` renders that table.

Used by devtools/docs_reference.py (the documentation's table) and by the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
HEALTH_LUA = REPO_ROOT / "manifests" / "argocd" / "health.lua"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "health"
EXPECTATIONS = FIXTURES / "health_test.yaml"
ARGOCD_KEY = "resource.customizations.health.twilio-compliance.io_BundleRenewal"
CONDITIONS = ("Ready", "Reconciling", "Stalled", "Renewing")


def kstatus(obj: dict[str, Any], *, with_ready: bool = True) -> str:
    """kstatus' status of `obj`: Terminating, InProgress, Failed or Current."""
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if metadata.get("deletionTimestamp"):
        return "Terminating"
    generation = metadata.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and observed != generation:
        return "InProgress"
    conditions = status.get("conditions") or []
    for condition in conditions:
        if condition.get("type") == "Reconciling" and condition.get("status") == "True":
            return "InProgress"
        if condition.get("type") == "Stalled" and condition.get("status") == "True":
            return "Failed"
    if with_ready:
        for condition in conditions:
            if condition.get("type") == "Ready" and condition.get("status") == "False":
                return "InProgress"
    return "Current"


@lru_cache(maxsize=1)
def _lua() -> Any:
    import lupa.lua51 as lua51  # type: ignore[import-untyped]

    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    version = runtime.eval("_VERSION")
    if version != "Lua 5.1":
        raise RuntimeError(f"expected Lua 5.1 (Argo CD's gopher-lua), got {version}")
    return runtime


def argocd(obj: dict[str, Any], script: str | None = None) -> dict[str, str]:
    """Argo CD's health of `obj` by the shipped health.lua (or `script`)."""
    runtime = _lua()
    # Argo CD hands the script the object decoded from JSON: plain tables, numbers, strings.
    plain = json.loads(json.dumps(obj, default=str))
    runtime.globals().obj = runtime.table_from(plain, recursive=True)
    source = script if script is not None else HEALTH_LUA.read_text()
    result = runtime.execute(source)
    return {"status": str(result["status"]), "message": str(result["message"] or "")}


@dataclass(frozen=True)
class Case:
    """One captured resource (what the operator wrote in an integration run) and what the
    checks are expected to say of it."""

    name: str
    description: str
    obj: dict[str, Any]
    kstatus: str
    argocd: str
    message: str | None = None
    """A substring of Argo CD's message, if the expectation names one."""

    @property
    def phase(self) -> str:
        return str((self.obj.get("status") or {}).get("phase") or "(no status)")

    def condition(self, type_: str) -> str:
        for condition in (self.obj.get("status") or {}).get("conditions") or []:
            if condition.get("type") == type_:
                return f"{condition.get('status')}"
        return "-"

    def reason(self) -> str:
        for condition in (self.obj.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready":
                return str(condition.get("reason"))
        return "-"


def load_cases() -> list[Case]:
    """The fixtures, in the order tests/fixtures/health/health_test.yaml lists them (as Argo
    CD's resource_customizations/*/health_test.yaml: an expected healthStatus per inputPath)."""
    spec = yaml.safe_load(EXPECTATIONS.read_text())
    cases = []
    for test in spec["tests"]:
        path = FIXTURES / test["inputPath"]
        cases.append(
            Case(
                name=path.stem,
                description=test["description"],
                obj=yaml.safe_load(path.read_text()),
                kstatus=test["kstatus"],
                argocd=test["healthStatus"]["status"],
                message=test["healthStatus"].get("message"),
            )
        )
    return cases


def health_table() -> str:
    """The documentation's Health table: one captured status per row, its conditions, and what
    kstatus (Flux) and Argo CD make of it, computed now by the oracle and the Lua script."""
    header = ("Situation", "Phase", *CONDITIONS, "kstatus (Flux)", "Argo CD")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case in load_cases():
        row = (
            case.description,
            f"`{case.phase}`",
            *(case.condition(t) for t in CONDITIONS),
            kstatus(case.obj),
            argocd(case.obj)["status"],
        )
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def argocd_cm_snippet() -> str:
    """The argocd-cm entry that installs the health check (a YAML block for the documentation)."""
    body = "".join(
        f"    {line}\n" if line else "\n" for line in HEALTH_LUA.read_text().splitlines()
    )
    return (
        "```yaml\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata: {name: argocd-cm, namespace: argocd}\n"
        "data:\n"
        f"  {ARGOCD_KEY}: |\n"
        f"{body}"
        "```\n"
    )
