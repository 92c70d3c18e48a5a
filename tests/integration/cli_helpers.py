"""Running the `bundle-renewal` CLI in the integration tests: in-process (fast, its stdout,
stderr and exit code captured) against the test's control plane and simulator."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

import pytest

from controller.cli.app import main
from tests.sim_fixtures import Sim, SimAccount

KubeCluster = Any


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


class Cli:
    """`cli("scan", "-n", ns)`: the CLI with this test's kubeconfig and Twilio environment."""

    def __init__(self, kube: KubeCluster, monkeypatch: pytest.MonkeyPatch):
        self.kube = kube
        self.monkeypatch = monkeypatch

    def twilio(self, sim: Sim, account: SimAccount | None, base_url: str | None = None) -> None:
        """Point the CLI at the simulator (or a proxy in front of it), with env credentials."""
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY",
                     "TWILIO_API_SECRET", "TWILIO_API_BASE_URL"):  # fmt: skip
            self.monkeypatch.delenv(name, raising=False)
        self.monkeypatch.setenv("TWILIO_BASE_URL", base_url or sim.base_url)
        if base_url is not None:
            # A proxy that knows the numbers API only: API v2010 goes to the simulator itself.
            self.monkeypatch.setenv("TWILIO_API_BASE_URL", sim.base_url)
        if account is not None:
            self.monkeypatch.setenv("TWILIO_ACCOUNT_SID", account.sid)
            self.monkeypatch.setenv("TWILIO_AUTH_TOKEN", account.auth_token)

    def __call__(self, *args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main([*args, "--kubeconfig", str(self.kube.kubeconfig_path)], out=out)
        return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(kube: KubeCluster, crd: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return Cli(kube, monkeypatch)
