"""What the integration-test fixtures hand to tests: a handle on the cluster under test.

Kept out of conftest.py so that test modules can import the type like any other module. Works
for the local control plane and for any cluster a kubeconfig names (e.g. kind).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from devtools.controlplane.cluster import LocalControlPlane
from devtools.controlplane.kubectl import (
    LOCAL_SERVER_VERSION,
    kubectl_command,
    needs_newer_client,
    run_kubectl,
)

#: Names the cluster for the integration tests, like ``pytest --kubeconfig``.
TEST_KUBECONFIG_ENV = "BRO_TEST_KUBECONFIG"


@dataclass
class KubeCluster:
    """The cluster the integration tests talk to.

    ``admin_token`` is None for external clusters and a secret otherwise: never log it.
    """

    kubeconfig_path: Path
    server: str
    admin_token: str | None
    local: bool
    startup_seconds: float | None = None
    #: The session's own control plane (None for an external cluster): tests restart it.
    plane: LocalControlPlane | None = None
    #: kubectl argv prefix: Debian's 1.20.2 client locally (if provisioned), plain ``kubectl``
    #: elsewhere; commands 1.20 cannot run pick a newer one (``controlplane.kubectl``).
    kubectl_argv: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.kubectl_argv:
            self.kubectl_argv = kubectl_command(self._server_version)

    @property
    def _server_version(self) -> tuple[int, int] | None:
        return LOCAL_SERVER_VERSION if self.local else None

    def api_client(self, *, as_user: str | None = None) -> client.ApiClient:
        """A new admin ApiClient (close it, or use ``with``). With ``as_user`` every request
        impersonates that user; ``system:serviceaccount:<ns>:<name>`` also gets the service
        account's groups, so RBAC can be tested without minting tokens."""
        path = str(self.kubeconfig_path)
        api: client.ApiClient = config.new_client_from_config(config_file=path)  # type: ignore[no-untyped-call]
        if as_user is not None:
            api.set_default_header("Impersonate-User", as_user)  # type: ignore[no-untyped-call]
        return api

    def env(self) -> dict[str, str]:
        """``os.environ`` plus KUBECONFIG, for subprocesses such as the operator."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig_path)}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; with ``check`` a failure raises with its stderr."""
        argv = kubectl_command(self._server_version, args) if needs_newer_client(args) else None
        result = run_kubectl(argv or self.kubectl_argv, self.kubeconfig_path, args, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result


def server_of(kubeconfig: Path) -> str:
    """The API server URL of the kubeconfig's current context."""
    data: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    current = data.get("current-context")
    context = next(c["context"] for c in data["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in data["clusters"] if c["name"] == context["cluster"])
    return str(cluster["server"])


def external_kubeconfig(option: str | None, environ: Mapping[str, str]) -> Path | None:
    """The cluster named for the tests (``--kubeconfig``, else ``BRO_TEST_KUBECONFIG``), or None
    for a local control plane. KUBECONFIG is deliberately not consulted: the tests create and
    delete namespaces, CRDs and cluster roles, and must not land on whatever cluster a
    developer's shell points at."""
    named = option or environ.get(TEST_KUBECONFIG_ENV)
    return Path(named).expanduser() if named else None
