"""`make demo`, the README's first command, in its non-interactive mode (CI=true).

It provisions its own control plane and simulator, runs the operator and applies examples/;
it must exit 0 (every example in its intended state) and leave nothing running behind it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devtools.operator_runner import REPO_ROOT


def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def test_make_demo_runs_to_the_end_non_interactively(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    env = {**os.environ, "CI": "true", "DEMO_WORKDIR": str(workdir)}
    env.pop("KUBECONFIG", None)
    result = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "every example reached its intended state" in output
    for phase in ("Completed", "Suspended"):
        assert phase in output
    # Everything it started is stopped: no process uses its files, its control plane is gone.
    assert processes_mentioning(str(workdir)) == []
    assert not (workdir / "controlplane").exists()
    assert (workdir / "operator.log").read_text().count("Twilio: replace items") == 5
