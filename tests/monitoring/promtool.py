"""Runs Debian's promtool for the monitoring tests (`make prometheus` installs it; CI does).

A missing promtool fails the test that needs it, with the command that installs it: the alert
rules are only proven by the real tool, never skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_HINT = "promtool is missing: `make prometheus` installs Debian's prometheus package"


def binary(name: str) -> str:
    """The path of `prometheus` or `promtool`; fails the test when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(INSTALL_HINT)
    return path


def run_promtool(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> tuple[int, str]:
    """`promtool args...`: its exit code and combined output."""
    result = subprocess.run(
        [binary("promtool"), *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")


def promtool(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> str:
    """`promtool args...`; its combined output, the test failing on a non-zero exit."""
    code, output = run_promtool(*args, stdin=stdin, cwd=cwd)
    assert code == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output
