"""Which kubectl to run against a given server version.

On these machines /usr/bin/kubectl is Google Cloud SDK's version dispatcher, with versioned
clients beside it (kubectl.1.27 ... kubectl.1.33). For the local kube-apiserver 1.20 none is
within the +/-1 minor skew kubectl supports; the dispatcher then runs its own built-in client
(v1.32) and prints a skew warning. Every command the project uses (apply, get, patch incl.
--subresource=status, delete, wait, explain, describe, server-side apply) was tried with each
client against 1.20 and works, so we pick the one closest to the server: kubectl.1.27 for 1.20.
Elsewhere (plain kubectl, kind) this falls back to ``kubectl`` on PATH.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

#: Server version of the local control plane.
LOCAL_SERVER_VERSION = (1, 20)
_VERSIONED = re.compile(r"^kubectl\.1\.(\d+)$")


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


def kubectl_command(server_version: tuple[int, int] | None = LOCAL_SERVER_VERSION) -> list[str]:
    """The argv prefix for kubectl against a server of ``server_version`` (None: unknown).

    ``BRO_KUBECTL`` (e.g. ``/usr/local/bin/kubectl``) overrides the choice.
    """
    override = os.environ.get("BRO_KUBECTL")
    if override:
        return shlex.split(override)
    if server_version is not None:
        clients = _versioned_clients()
        if clients:
            closest = min(clients, key=lambda minor: (abs(minor - server_version[1]), minor))
            return [str(clients[closest])]
    return ["kubectl"]
