"""Which cluster the integration tests use: only one named explicitly (--kubeconfig or
BRO_TEST_KUBECONFIG), never the ambient KUBECONFIG, which may point at a real cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devtools.controlplane.testing import TEST_KUBECONFIG_ENV, external_kubeconfig

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_ambient_kubeconfig_is_ignored() -> None:
    assert external_kubeconfig(None, {"KUBECONFIG": "/home/me/.kube/prod"}) is None


def test_an_explicit_kubeconfig_is_used() -> None:
    environ = {"KUBECONFIG": "/prod", TEST_KUBECONFIG_ENV: "/tmp/kind/kubeconfig"}
    assert external_kubeconfig(None, environ) == Path("/tmp/kind/kubeconfig")
    assert external_kubeconfig("/tmp/other", environ) == Path("/tmp/other")
    assert external_kubeconfig("~/kc", {}) == Path.home() / "kc"


def test_the_kubeconfig_option_works_from_the_repository_root() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--kubeconfig=/nonexistent/kubeconfig",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/unit/telemetry/test_redaction.py",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test_redaction.py" in result.stdout
