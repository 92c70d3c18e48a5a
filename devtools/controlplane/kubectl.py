"""Which kubectl to run against a given server version.

For the local kube-apiserver 1.20 the first choice is Debian's own client of the same version
(package ``kubernetes-client``, 1.20.5+really1.20.2): ``provision.sh`` extracts its binary into
the cache rather than installing the package, whose /usr/bin/kubectl would clash with the one
already there (on these machines the ``kubectl`` package's Google Cloud SDK version dispatcher).
So a fresh machine has a kubectl too, with no version skew at all.

Two kinds of command need a newer client: kustomize builds (``-k``, ``kustomize``; 1.20's
built-in kustomize v2.0.3 refuses today's kustomizations, ``labels`` and
``configMapGenerator.envs``: "json: unknown field") and ``create token`` (kubectl 1.24). They take
a versioned client beside the Google Cloud SDK dispatcher (kubectl.1.27 ... kubectl.1.33; the
closest to the server wins, every one was tried against 1.20 and works) or a ``kubectl`` on PATH
of at least 1.24. When the 1.20 client is not provisioned, the same newer clients serve every
command. Elsewhere (kind) this falls back to ``kubectl`` on PATH. ``BRO_KUBECTL`` overrides every
choice.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from devtools.controlplane.provision import PROVISION_SCRIPT

#: Server version of the local control plane.
LOCAL_SERVER_VERSION = (1, 20)
#: The oldest kubectl for the commands 1.20's cannot run: ``create token`` (1.24) and current
#: kustomizations (kustomize v4.2 in 1.22: ``labels``).
MIN_NEWER_MINOR = 24
_VERSIONED = re.compile(r"^kubectl\.1\.(\d+)$")
_KUSTOMIZE_ARGS = frozenset({"-k", "--kustomize", "kustomize"})


class KubectlNotFound(RuntimeError):
    """No kubectl can run the command."""


@functools.cache
def provisioned_kubectl() -> Path | None:
    """Debian's kubectl 1.20.2 as provision.sh extracted it into the cache, if it has."""
    out = subprocess.run(
        ["bash", str(PROVISION_SCRIPT), "--print-kubectl-path"],
        check=True,
        capture_output=True,
        text=True,
    )
    path = Path(out.stdout.strip())
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _versioned_clients() -> dict[int, Path]:
    """Versioned kubectl binaries (minor -> path) beside the kubectl on PATH."""
    found: dict[int, Path] = {}
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return found
    for directory in {Path(kubectl).parent, Path(kubectl).resolve().parent}:
        for entry in directory.glob("kubectl.1.*"):
            match = _VERSIONED.match(entry.name)
            if match and os.access(entry, os.X_OK):
                found.setdefault(int(match.group(1)), entry)
    return found


@functools.cache
def client_minor(*argv: str) -> int | None:
    """The client minor version the kubectl `argv` reports, or None if it does not run."""
    try:
        out = subprocess.run(
            [*argv, "version", "--client", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        minor = json.loads(out.stdout)["clientVersion"]["minor"]
        return int(re.sub(r"\D", "", str(minor)))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


def needs_newer_client(args: Sequence[str]) -> bool:
    """Whether kubectl 1.20 cannot run these arguments: a kustomization build (``-k DIR``,
    ``kustomize DIR``) or ``create token``."""
    words = [a for a in args if not a.startswith("-")]
    if words[:2] == ["create", "token"]:
        return True
    return any(arg in _KUSTOMIZE_ARGS or arg.startswith("--kustomize=") for arg in args)


def kubectl_command(
    server_version: tuple[int, int] | None = LOCAL_SERVER_VERSION, args: Sequence[str] = ()
) -> list[str]:
    """The argv prefix for ``kubectl *args`` against a server of ``server_version`` (None:
    unknown, e.g. kind). ``BRO_KUBECTL`` (e.g. ``/usr/local/bin/kubectl``) overrides the choice.
    """
    override = os.environ.get("BRO_KUBECTL")
    if override:
        return shlex.split(override)
    newer = needs_newer_client(args)
    if server_version is not None:
        exact = provisioned_kubectl()
        if exact is not None and not newer and server_version == LOCAL_SERVER_VERSION:
            return [str(exact)]
        clients = {
            minor: path
            for minor, path in _versioned_clients().items()
            if not newer or minor >= MIN_NEWER_MINOR
        }
        if clients:
            closest = min(clients, key=lambda minor: (abs(minor - server_version[1]), minor))
            return [str(clients[closest])]
    on_path = shutil.which("kubectl")
    if on_path is not None and (not newer or (client_minor(on_path) or 0) >= MIN_NEWER_MINOR):
        return [on_path]
    if newer:
        raise KubectlNotFound(
            f"kubectl {' '.join(args)} needs kubectl >= 1.{MIN_NEWER_MINOR}; none found "
            "(Debian ships 1.20 only). Install one, or name it with BRO_KUBECTL"
        )
    provisioned = provisioned_kubectl()
    return [str(provisioned)] if provisioned is not None else ["kubectl"]


def run_kubectl(
    argv: Sequence[str],
    kubeconfig: Path,
    args: Sequence[str],
    *,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv --kubeconfig=... *args`` and capture its output; the caller decides what a
    non-zero exit means (tests assert, the demo stops with a message)."""
    return subprocess.run(
        [*argv, f"--kubeconfig={kubeconfig}", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
