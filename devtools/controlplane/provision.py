"""Locate the control-plane binaries, building them through provision.sh when they are missing.

The build recipe lives in one place, ``provision.sh``; this module only asks it where the cached
kube-apiserver lives and runs it when that file is absent, so Python and shell never disagree
about cache paths or versions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The shell half of the harness stays with the other shell scripts, in scripts/controlplane/.
PROVISION_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "controlplane" / "provision.sh"


class ProvisioningError(RuntimeError):
    """The binaries are missing and could not be provisioned."""


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of the two server binaries."""

    kube_apiserver: Path
    etcd: Path


def cached_apiserver_path() -> Path:
    """Where provision.sh caches kube-apiserver (the file may not exist yet)."""
    out = subprocess.run(
        ["bash", str(PROVISION_SCRIPT), "--print-path"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def _find_etcd() -> Path | None:
    found = shutil.which("etcd") or (
        "/usr/bin/etcd" if os.access("/usr/bin/etcd", os.X_OK) else None
    )
    return Path(found) if found else None


def ensure_binaries(*, build_if_missing: bool = True) -> Binaries:
    """Return the binaries, running provision.sh first if either is missing.

    A clean kube-apiserver build takes 3-10 minutes on 2 cores; later calls take
    milliseconds. Raises ProvisioningError with the command to run when provisioning fails or
    is not allowed.
    """
    apiserver = cached_apiserver_path()
    etcd = _find_etcd()
    if apiserver.is_file() and os.access(apiserver, os.X_OK) and etcd is not None:
        return Binaries(kube_apiserver=apiserver, etcd=etcd)
    if not build_if_missing:
        raise ProvisioningError(
            f"kube-apiserver ({apiserver}) or etcd is missing: run `make envtest` first"
        )
    result = subprocess.run(["bash", str(PROVISION_SCRIPT)], check=False)
    etcd = _find_etcd()
    if result.returncode != 0 or not apiserver.is_file() or etcd is None:
        raise ProvisioningError(
            f"provisioning the control plane failed (exit {result.returncode}); "
            "run `make envtest` and read its output"
        )
    return Binaries(kube_apiserver=apiserver, etcd=etcd)
