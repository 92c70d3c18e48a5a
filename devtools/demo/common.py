"""What every part of the demo shares: where things are, how it talks, what it needs."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.controlplane import kubectl_command
from devtools.controlplane.kubectl import (
    LOCAL_SERVER_VERSION,
    MIN_NEWER_MINOR,
    KubectlNotFound,
    client_minor,
    run_kubectl,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


NAMESPACE = "telecom"


OPERATOR_NAMESPACE = "bundle-renewal-system"


SERVICE_ACCOUNT = "bundle-renewal-operator"


EXAMPLES = REPO_ROOT / "examples"


MANIFESTS = REPO_ROOT / "manifests"


TIMEOUT_SECONDS = 300.0


# Faster than production (manifests/operator.env) so the demo takes a minute, not an hour.
DEMO_SETTINGS = {
    "POLL_INTERVAL_SECONDS": "1",
    "POLL_INTERVAL_MAX_SECONDS": "5",
    "BACKOFF_BASE_SECONDS": "1",
    "BACKOFF_MAX_SECONDS": "10",
    "LOG_FORMAT": "plain",
}


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def interactive() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return not ci and sys.stdin.isatty()


class Kubectl:
    """kubectl against one cluster: the local control plane (server 1.20, the default) or, with
    `server_version=None`, a cluster of unknown version such as kind (plain `kubectl`)."""

    def __init__(
        self, kubeconfig: Path, server_version: tuple[int, int] | None = LOCAL_SERVER_VERSION
    ):
        self.kubeconfig = kubeconfig
        self.server_version = server_version

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = kubectl_command(self.server_version, args)
        result = run_kubectl(argv, self.kubeconfig, args, input=input, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result


KUBECTL_HINT = (
    f"kubectl >= 1.{MIN_NEWER_MINOR}, for `kubectl apply -k manifests/` (kustomize `labels` and"
    " `configMapGenerator.envs`; Debian bookworm ships kubectl 1.20 only). Install one, e.g. from"
    " the Kubernetes apt repository (https://pkgs.k8s.io) or as a binary"
    " (https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubectl), then put it on PATH or name it"
    " with BRO_KUBECTL=/path/to/kubectl"
)


def missing_prerequisites(kind: bool) -> list[str]:
    """What the demo needs and this machine lacks, each with how to get it."""
    missing = []
    server_version = None if kind else LOCAL_SERVER_VERSION
    try:
        argv = kubectl_command(server_version, ("apply", "-k", str(MANIFESTS)))
    except KubectlNotFound:
        argv = None
    minor = client_minor(*argv) if argv is not None else None
    if minor is None or minor < MIN_NEWER_MINOR:
        found = "" if argv is None else f" (found {' '.join(argv)}: {minor_text(minor)})"
        missing.append(KUBECTL_HINT + found)
    if kind:
        if shutil.which("kind") is None:
            missing.append("kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
        if (
            shutil.which("docker") is None
            or subprocess.run(["docker", "info"], capture_output=True, check=False).returncode
        ):
            missing.append("a running Docker engine (kind runs its nodes as containers)")
    return missing


def minor_text(minor: int | None) -> str:
    return "does not run" if minor is None else f"version 1.{minor}"


def operator_settings() -> dict[str, str]:
    settings = {}
    for line in (MANIFESTS / "operator.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return {**settings, **DEMO_SETTINGS}


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"


def wait_for_interrupt() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()
