"""`make bench-fleet-short` as a smoke test: the harness produces every figure, and every renewal
it runs (operator and guide script alike) completes with exactly one copy.

No figure is compared with a speed: this shared machine is too noisy for timed tests, and the
benchmark exists to measure, not to gate. What is asserted is what a broken harness would get
wrong: a missing figure, a scenario not run, a renewal that did not finish, a count at zero
where every renewal must have made one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.fleet_kube import KINDS
from bench.fleet_sim import COPIES_ROUTE
from devtools.operator_runner import REPO_ROOT

N = 10  # --short
IDLE = 100
STARTUP = 50


def bench_fleet(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench.fleet", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def run_short(tmp_path: Path) -> tuple[dict[str, Any], str]:
    """The make target's command (without make's install step), its JSON and its report."""
    out = tmp_path / "fleet.json"
    result = bench_fleet("--short", "--json", str(out), "--workdir", str(tmp_path / "logs"))
    # The JSON holds every figure of the report: --render prints the very same report from it.
    assert bench_fleet("--render", str(out), timeout=60).stdout == result.stdout
    return json.loads(out.read_text()), result.stdout


def assert_per_renewal_calls(run: dict[str, Any]) -> None:
    calls = run["calls_per_renewal"]
    assert calls[COPIES_ROUTE] == 1.0, calls  # exactly one copy per renewal
    assert run["calls_total_per_renewal"] >= 8  # the necessary calls at least
    assert run["calls_total_per_renewal"] == pytest.approx(sum(calls.values()))
    assert run["polls_per_renewal"] >= 1  # every renewal reads its decision once at least


def test_bench_fleet_short_produces_every_figure(tmp_path: Path) -> None:
    results, report = run_short(tmp_path)

    operator = {r["mode"]: r for r in results["operator"]}
    assert sorted(operator) == ["polling", "webhook"]
    for run in operator.values():
        assert run["renewals"] == N
        assert run["problems"] == []
        assert run["seconds"] > run["bound_seconds"] > 0
        assert run["time_over_bound"] == pytest.approx(run["seconds"] / run["bound_seconds"])
        assert_per_renewal_calls(run)
        to_completed = run["decision_to_completed_seconds"]
        assert to_completed["renewals"] == N  # every renewal's history has both times
        assert -1 < to_completed["median"] <= to_completed["p90"] < run["seconds"]
        writes = run["kube_writes_per_renewal"]
        assert list(writes) == list(KINDS)
        assert writes["status patches"] > 0
        assert writes["events"] > 0
        assert set(run["cpu_seconds_per_renewal"]) == {
            "operator", "kube-apiserver", "etcd", "twilio-sim"
        }  # fmt: skip
        assert all(v > 0 for v in run["cpu_seconds_per_renewal"].values())
        for mem in (run["memory_start"], run["memory_end"]):
            assert 0 < mem["rss_mib"] <= mem["peak_mib"]
        deletion = run["deletion"]
        assert (deletion["deleted"], deletion["left"]) == (N, 0)
        assert deletion["calls_per_resource"] >= 0
        assert deletion["seconds"] > 0

    guides = {g["threads"]: g for g in results["guide"]}
    assert sorted(guides) == [1, 10]
    for guide in guides.values():
        assert guide["renewals"] == N
        assert 0 < guide["sampled"] <= N
        assert guide["problems"] == []
        assert guide["seconds"] == guide["sample_seconds"] * N / guide["sampled"]
        assert_per_renewal_calls(guide)

    startup = results["startup"]
    assert (startup["resources"], startup["settled"], startup["problems"]) == (STARTUP, STARTUP, [])
    assert 0 < startup["ready_seconds"] <= startup["seconds"]

    idle = results["idle"]
    assert (idle["resources"], idle["settled"], idle["problems"]) == (IDLE, IDLE, [])
    assert idle["memory_end"]["rss_mib"] > 0
    assert idle["cpu_seconds_per_resource"]["operator"] > 0

    for heading in (
        "Time",
        "bound(N) = N x 8 calls x 0.1 s / 100 concurrent + 2 s review",
        "guide (10 threads) / operator (webhook)",
        "decision to Completed, median, s (webhook)",
        "Twilio calls per renewal",
        "Kubernetes writes per renewal",
        "CPU seconds per renewal",
        "Operator memory, MiB",
        "Deletion",
        f"start-up: {STARTUP} suspended resources in place before the operator started",
        "problems: none",
    ):
        assert heading in report, heading
