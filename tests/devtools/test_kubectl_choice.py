"""Which kubectl runs a command: Debian's exact 1.20.2 client for the local server, a client
new enough (>= 1.24) for kustomize builds and `create token`, and a clear error when none is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.controlplane import kubectl
from devtools.controlplane.kubectl import KubectlNotFound, kubectl_command, needs_newer_client


def fake_kubectl(path: Path, minor: int) -> Path:
    version = {"clientVersion": {"major": "1", "minor": str(minor)}}
    path.write_text(f"#!/bin/sh\necho '{json.dumps(version)}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.delenv("BRO_KUBECTL", raising=False)
    return directory


@pytest.fixture
def debian_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    client = fake_kubectl(tmp_path / "kubectl-1.20.2", 20)
    monkeypatch.setattr(kubectl, "provisioned_kubectl", lambda: client)
    return client


def test_the_exact_debian_client_serves_the_local_server(
    bin_dir: Path, debian_client: Path
) -> None:
    fake_kubectl(bin_dir / "kubectl", 32)
    fake_kubectl(bin_dir / "kubectl.1.27", 27)
    assert kubectl_command() == [str(debian_client)]
    assert kubectl_command(args=["get", "pods"]) == [str(debian_client)]


def test_newer_commands_take_the_closest_new_enough_client(
    bin_dir: Path, debian_client: Path
) -> None:
    fake_kubectl(bin_dir / "kubectl", 32)
    for minor in (22, 27, 30):
        fake_kubectl(bin_dir / f"kubectl.1.{minor}", minor)
    assert kubectl_command(args=["apply", "--server-side", "-k", "manifests"]) == [
        str(bin_dir / "kubectl.1.27")
    ]


def test_a_fresh_machine_without_versioned_clients(bin_dir: Path, debian_client: Path) -> None:
    assert kubectl_command() == [str(debian_client)]
    assert kubectl_command(None) == [str(debian_client)]
    with pytest.raises(KubectlNotFound, match=r"needs kubectl >= 1\.24"):
        kubectl_command(args=["kustomize", "manifests"])
    fake_kubectl(bin_dir / "kubectl", 29)
    assert kubectl_command(args=["kustomize", "manifests"]) == [str(bin_dir / "kubectl")]


def test_an_old_kubectl_on_path_is_not_used_for_kustomize(
    bin_dir: Path, debian_client: Path
) -> None:
    fake_kubectl(bin_dir / "kubectl", 20)
    with pytest.raises(KubectlNotFound):
        kubectl_command(None, ["apply", "-k", "manifests"])


def test_the_override_wins(
    bin_dir: Path, debian_client: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRO_KUBECTL", "/opt/k/kubectl --v=0")
    assert kubectl_command(args=["apply", "-k", "m"]) == ["/opt/k/kubectl", "--v=0"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["apply", "-k", "m"], True),
        (["apply", "--kustomize=m"], True),
        (["kustomize", "m"], True),
        (["apply", "-f", "-"], False),
        (["get", "pods", "-o", "name"], False),
        (["create", "token", "sa", "--duration=1h"], True),
        (["create", "namespace", "token"], False),
    ],
)
def test_commands_1_20_cannot_run_are_recognised(args: list[str], expected: bool) -> None:
    assert needs_newer_client(args) is expected
