"""Command line for the demo and for people: start, inspect and stop a detached control plane.

    python3 -m devtools.controlplane up       # last line of output: kubeconfig path
    python3 -m devtools.controlplane status
    python3 -m devtools.controlplane down

``make cluster-up`` / ``make cluster-down`` wrap these. State lives in ``.tmp/controlplane/`` of
the repository (override with --dir); ``down`` removes that directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devtools.controlplane.cluster import KUBECONFIG_FILE, ControlPlaneError, LocalControlPlane
from devtools.controlplane.kubectl import kubectl_command
from devtools.controlplane.provision import ProvisioningError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT / ".tmp" / "controlplane"


def _up(root: Path) -> int:
    if LocalControlPlane.is_running(root):
        print(f"already running (state in {root})", file=sys.stderr)
        print(root / KUBECONFIG_FILE)
        return 0
    if root.exists():
        LocalControlPlane.stop_from_state(root)  # leftovers of a crashed run
    plane = LocalControlPlane(root, detach=True)
    endpoints = plane.start()
    pids = ", ".join(f"{name} {pid}" for name, pid in plane.pids.items())
    print(f"control plane ready in {plane.startup_seconds:.2f} s at {endpoints.server} ({pids})")
    kubectl = " ".join(kubectl_command())
    print(f"kubectl: KUBECONFIG={endpoints.kubeconfig_path} {kubectl} get namespaces")
    print(endpoints.kubeconfig_path)
    return 0


def _down(root: Path) -> int:
    stopped = LocalControlPlane.stop_from_state(root)
    print(f"stopped {len(stopped)} process(es); removed {root}")
    return 0


def _status(root: Path) -> int:
    state = LocalControlPlane.read_state(root)
    if state is None or not LocalControlPlane.is_running(root):
        print("not running")
        return 1
    print(f"running at {state['server']}; kubeconfig {state['kubeconfig_path']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m devtools.controlplane",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="state directory")
    args = parser.parse_args(argv)
    root: Path = args.dir.resolve()
    try:
        if args.command == "up":
            return _up(root)
        if args.command == "down":
            return _down(root)
        return _status(root)
    except (ControlPlaneError, ProvisioningError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
