"""`make bench-accounts` at a small size as a smoke test: every scenario runs and reports its
figures, and the counts are the seeded ones. No figure is compared with a speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devtools.operator_runner import REPO_ROOT


def test_bench_accounts_runs_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "accounts.json"
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    args = ["--bundles", "60", "--dated", "10", "--covered", "4", "--json", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", "bench.accounts", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    keep, register, rescan = json.loads(out.read_text())
    assert [r["scenario"] for r in (keep, register, rescan)] == ["keep", "register", "rescan"]
    for run in (keep, register, rescan):
        assert run["counts"] == [10, 4, 6]
        assert run["operator_rss_mib"] > 0
    # The first scan: one list page and one regulation; nothing per bundle.
    assert keep["twilio_requests"] == 2, keep["by_route"]
    # Registering: a fresh read and a write per bundle, besides the lists.
    assert register["callbacks_registered"] == 60
    assert register["by_route"]["POST /v2/RegulatoryCompliance/Bundles/{Sid}"] == 60
    # A rescan once every bundle calls the operator: lists only, no write.
    assert not any(route.startswith("POST") for route in rescan["by_route"]), rescan["by_route"]
