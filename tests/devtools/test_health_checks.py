"""The Argo CD health check (manifests/argocd/health.lua, run in Lua 5.1) and the kstatus oracle
on the statuses the operator wrote in integration runs (tests/fixtures/health/, as Argo CD's
own resource_customizations/*/health_test.yaml fixtures), and on every status the decision
table produces."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controller.core.models import Phase
from controller.core.plan import Policy
from controller.core.workflow import decide
from devtools import health_checks
from devtools.health_checks import argocd, kstatus, load_cases
from tests.fakes.fake_twilio import T0
from tests.unit.core.test_workflow_table import ROWS

CASES = load_cases()
# What Argo CD says for each kstatus result (a Current suspended resource is Suspended).
CONSISTENT = {
    "Current": {"Healthy", "Suspended"},
    "InProgress": {"Progressing"},
    "Failed": {"Degraded"},
    "Terminating": {"Progressing"},
}


def as_object(status: dict[str, Any] | None, generation: int = 1, **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "twilio-compliance.io/v1alpha1",
        "kind": "BundleRenewal",
        "metadata": {"name": "r", "namespace": "n", "generation": generation},
        "spec": {"bundleSid": "BU" + "a" * 32, **spec},
    }
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_captured_statuses_read_as_the_table_says(case: health_checks.Case) -> None:
    assert kstatus(case.obj) == case.kstatus
    health = argocd(case.obj)
    assert health["status"] == case.argocd
    if case.message:
        assert case.message in health["message"]


def test_every_phase_is_captured() -> None:
    assert {c.phase for c in CASES} >= {p.value for p in Phase}


def test_the_script_runs_in_lua_5_1() -> None:
    assert argocd(as_object(None), script="return {status = _VERSION, message = ''}") == {
        "status": "Lua 5.1",
        "message": "",
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, "Progressing"),
        ({"conditions": []}, "Progressing"),
        ({"conditions": [{"type": "Ready"}]}, "Progressing"),
        ({"conditions": [{"type": "Stalled", "status": "True"}]}, "Degraded"),
        ({"observedGeneration": 1, "conditions": [{"status": "True"}]}, "Progressing"),
        # A status written before Renewing existed: a renewal in flight was Ready False.
        (
            {
                "observedGeneration": 1,
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "InReview"},
                    {"type": "Reconciling", "status": "True", "reason": "InReview"},
                    {"type": "Stalled", "status": "False", "reason": "InReview"},
                ],
            },
            "Progressing",
        ),
    ],
)
def test_odd_or_old_statuses_do_not_break_the_script(status: dict[str, Any], expected: str) -> None:
    assert argocd(as_object(status))["status"] == expected


def test_kstatus_oracle_follows_cli_utils_order() -> None:
    """Deletion first, then observedGeneration, then Reconciling/Stalled in list order, then
    (with the Ready rule) Ready False; no known condition is Current."""
    stalled = {"type": "Stalled", "status": "True"}
    reconciling = {"type": "Reconciling", "status": "True"}
    not_ready = {"type": "Ready", "status": "False"}
    deleted = as_object({"observedGeneration": 1, "conditions": [stalled]})
    deleted["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert kstatus(deleted) == "Terminating"
    assert kstatus(as_object({"observedGeneration": 1, "conditions": [stalled]}, 2)) == (
        "InProgress"
    )
    assert kstatus(as_object({"conditions": [stalled, reconciling]})) == "Failed"
    assert kstatus(as_object({"conditions": [reconciling, stalled]})) == "InProgress"
    assert kstatus(as_object({"conditions": [not_ready]})) == "InProgress"
    assert kstatus(as_object({"conditions": [not_ready]}), with_ready=False) == "Current"
    assert kstatus(as_object({"conditions": []})) == "Current"
    assert kstatus(as_object(None)) == "Current"


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_every_decided_status_reads_the_same_in_flux_and_argo_cd(row: Any) -> None:
    """kstatus with and without the Ready rule agree, and Argo CD's health matches kstatus',
    for the status of every decision-table row, also once its valid_until has passed."""
    for now in (T0, T0 + timedelta(days=60)):
        decision = decide(row.resource, row.observation, now, Policy())
        if not decision.status.conditions:
            continue
        obj = as_object(
            decision.status.model_dump(mode="json", by_alias=True, exclude_none=True),
            row.resource.generation,
            suspend=row.resource.spec.suspend,
        )
        result = kstatus(obj)
        assert kstatus(obj, with_ready=False) == result, decision.status.message
        assert argocd(obj)["status"] in CONSISTENT[result], decision.status.message
        if decision.status.phase in (Phase.NEEDS_INPUT, Phase.REJECTED, Phase.FAILED):
            assert (result, argocd(obj)["status"]) == ("Failed", "Degraded")


def test_the_readme_snippet_is_the_shipped_script() -> None:
    snippet = health_checks.argocd_cm_snippet()
    assert health_checks.ARGOCD_KEY in snippet
    lua = health_checks.HEALTH_LUA.read_text()
    body = [line.removeprefix("    ") for line in snippet.splitlines()[6:-1]]
    assert "\n".join(body).strip() == lua.strip()
