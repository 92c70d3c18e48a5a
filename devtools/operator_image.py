"""The operator from its container image, run with podman as the Deployment runs it.

`make image` (scripts/image/build.sh) builds the image; tests/integration/test_image.py builds it
through :func:`build_image` and runs it through :class:`ImageOperator`, which is an
:class:`operator_runner.OperatorProcess` whose process is `podman run`: the same start, readiness
(Kopf's liveness endpoint), graceful stop and log file as the local operator's, so the tests that
drive one drive the other.

The container gets the Deployment's security settings, read from manifests/deployment.yaml
rather than restated (:func:`deployment_run_flags`), the settings of manifests/operator.env (the
Deployment's ConfigMap) with the run's own on top, and the kubeconfig mounted read-only. It shares
the host's network (`--network host`), since the API server and the simulator listen on loopback.
Setting values are never on podman's command line (`-e NAME` takes the value from podman's own
environment), so a `ps` listing shows no secret.

Import it as ``devtools.operator_image`` from the repository root.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devtools.operator_runner import REPO_ROOT, OperatorProcess

BUILD_SCRIPT = REPO_ROOT / "scripts" / "image" / "build.sh"
DEPLOYMENT = REPO_ROOT / "manifests" / "deployment.yaml"
SETTINGS_FILE = REPO_ROOT / "manifests" / "operator.env"
TEST_TAG = "localhost/bundle-renewal-operator:test"
#: Where the kubeconfig is mounted in the container.
CONTAINER_KUBECONFIG = "/var/run/bundle-renewal-operator/kubeconfig"
#: This machine's constraints, the same as scripts/image/build.sh's: crun refuses the hybrid
#: cgroups here, and podman's default raises RLIMIT_NOFILE/NPROC, which is not permitted here.
PODMAN_RUNTIME_FLAGS: tuple[str, ...] = (
    *("--runtime", "runc"),
    *("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"),
)
#: The programs the image needs here; `make image-tools` installs them (Debian packages).
REQUIRED_PROGRAMS = ("podman", "runc", "debootstrap")


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    image_id: str
    seconds: float
    size_bytes: int
    #: What the build script printed on stderr (timings, whether the base was cached).
    log: str


def build_image(tag: str = TEST_TAG) -> BuiltImage:
    """Build ./Dockerfile with scripts/image/build.sh (the base from the cache when there)."""
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), tag], capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} {tag} failed ({result.returncode}):\n{result.stderr}")
    inspected = inspect_image(tag)
    return BuiltImage(
        tag=tag,
        image_id=str(inspected["Id"]),
        seconds=seconds,
        size_bytes=int(inspected["Size"]),
        log=result.stderr,
    )


def inspect_image(ref: str) -> dict[str, Any]:
    out = subprocess.run(
        ["podman", "image", "inspect", ref], capture_output=True, text=True, check=True
    )
    inspected: list[dict[str, Any]] = json.loads(out.stdout)
    return inspected[0]


def operator_container(deployment: Path = DEPLOYMENT) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Deployment's pod spec and its `operator` container."""
    doc: dict[str, Any] = yaml.safe_load(deployment.read_text())
    pod: dict[str, Any] = doc["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "operator")
    return pod, container


def _podman_size(quantity: str) -> str:
    """A Kubernetes binary quantity (16Mi, 256Mi, 1Gi) as podman writes it (16m, 256m, 1g)."""
    units = {"Ki": "k", "Mi": "m", "Gi": "g"}
    for suffix, unit in units.items():
        if quantity.endswith(suffix):
            return quantity[: -len(suffix)] + unit
    raise ValueError(f"unsupported quantity {quantity!r}")


def deployment_run_flags(deployment: Path = DEPLOYMENT) -> list[str]:
    """podman flags for the Deployment's user, filesystem, capabilities, privileges, memory limit
    and `/tmp` emptyDir. Anything in its security contexts that has no flag here is an error, so
    that a new setting there cannot go untested."""
    pod, container = operator_container(deployment)
    pod_context = dict(pod["securityContext"])
    context = dict(container["securityContext"])
    flags: list[str] = []

    user = pod_context.pop("runAsUser")
    group = pod_context.pop("runAsGroup")
    flags += ["--user", f"{user}:{group}"]
    # runAsNonRoot is a check that the user is not 0, which the user above already is not.
    if pod_context.pop("runAsNonRoot", True) is not True:
        raise ValueError("runAsNonRoot is not true")
    if context.pop("runAsNonRoot", True) is not True:
        raise ValueError("runAsNonRoot is not true")
    for seccomp in (pod_context.pop("seccompProfile", None), context.pop("seccompProfile", None)):
        # podman's default seccomp profile is the runtime default; no flag.
        if seccomp not in (None, {"type": "RuntimeDefault"}):
            raise ValueError(f"unsupported seccompProfile {seccomp}")
    if context.pop("readOnlyRootFilesystem") is True:
        # Kubernetes mounts nothing writable but the volumes; podman would add tmpfs mounts.
        flags += ["--read-only", "--read-only-tmpfs=false"]
    if context.pop("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    capabilities = context.pop("capabilities")
    for cap in capabilities.get("drop", []):
        flags += ["--cap-drop", cap]
    if capabilities.get("add"):
        raise ValueError(f"unsupported added capabilities {capabilities['add']}")
    if pod_context or context:
        raise ValueError(f"security settings with no podman flag: {pod_context} {context}")

    memory = container["resources"]["limits"]["memory"]
    flags += ["--memory", _podman_size(memory)]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        empty_dir = volumes[mount["name"]].get("emptyDir")
        if empty_dir is None:
            raise ValueError(f"volume {mount['name']} is not an emptyDir")
        size = _podman_size(empty_dir["sizeLimit"])
        # An emptyDir is world-writable (0777); the sticky bit as /tmp has it.
        flags += ["--tmpfs", f"{mount['mountPath']}:rw,size={size},mode=1777"]
    return flags


class ImageOperator(OperatorProcess):
    """The operator as `podman run IMAGE`, configured like the Deployment (module docstring).

    `kubeconfig` must be readable by the container's user (10001): the caller makes it so."""

    def __init__(
        self,
        image: str,
        env: Mapping[str, str],
        log_path: Path,
        *,
        kubeconfig: Path,
        settings_file: Path = SETTINGS_FILE,
        deployment: Path = DEPLOYMENT,
    ):
        super().__init__({k: v for k, v in env.items() if k != "KUBECONFIG"}, log_path)
        self.image = image
        self.kubeconfig = kubeconfig
        self.settings_file = settings_file
        self.deployment = deployment
        self.name = f"bro-operator-{secrets.token_hex(4)}"

    def command(self) -> list[str]:
        env_flags = [flag for name in sorted(self.settings) for flag in ("-e", name)]
        return [
            "podman",
            "run",
            "--rm",
            "--name",
            self.name,
            *PODMAN_RUNTIME_FLAGS,
            "--network",
            "host",
            *deployment_run_flags(self.deployment),
            "--env-file",
            str(self.settings_file),
            "-v",
            f"{self.kubeconfig}:{CONTAINER_KUBECONFIG}:ro",
            "-e",
            f"KUBECONFIG={CONTAINER_KUBECONFIG}",
            *env_flags,
            self.image,
        ]

    def exec(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """`podman exec` in the running container, as its user."""
        return subprocess.run(
            ["podman", "exec", self.name, *argv], capture_output=True, text=True, check=False
        )

    def inspect(self) -> dict[str, Any]:
        out = subprocess.run(
            ["podman", "container", "inspect", self.name],
            capture_output=True,
            text=True,
            check=True,
        )
        inspected: list[dict[str, Any]] = json.loads(out.stdout)
        return inspected[0]

    def kill(self) -> None:
        """SIGKILL to the container's process (killing `podman run` would leave it running)."""
        if self.running:
            subprocess.run(
                ["podman", "kill", "--signal", "KILL", self.name], capture_output=True, check=False
            )
        super().kill()
        self._remove()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, which `podman run` passes to the container, as Kubernetes stops a pod."""
        if self.running:
            assert self._process is not None
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                subprocess.run(
                    ["podman", "kill", "--signal", "KILL", self.name],
                    capture_output=True,
                    check=False,
                )
        super().stop(timeout=10)
        self._remove()

    def _remove(self) -> None:
        subprocess.run(
            ["podman", "rm", "--force", "--ignore", self.name], capture_output=True, check=False
        )


def missing_programs() -> list[str]:
    """Which of the programs the image needs are not installed (debootstrap is in /usr/sbin,
    which a non-login PATH may lack)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [program for program in REQUIRED_PROGRAMS if shutil.which(program, path=path) is None]
