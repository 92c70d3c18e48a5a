"""The demo on a kind cluster with the operator image (`make demo CLUSTER=kind`; needs Docker)."""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from devtools.controlplane import kubectl_command
from devtools.demo.common import (
    DEMO_SETTINGS,
    EXAMPLES,
    MANIFESTS,
    NAMESPACE,
    OPERATOR_NAMESPACE,
    REPO_ROOT,
    Kubectl,
    interactive,
    say,
)
from devtools.demo.seeding import (
    credentials_secret,
    render_examples,
    seed,
)
from devtools.demo.watch import (
    report_settled,
    watch_until_settled,
)
from devtools.operator_runner import stop_process
from twilio_sim.admin_client import AdminClient
from twilio_sim.server import free_port


def kind_clusters() -> set[str]:
    out = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=False)
    return set(out.stdout.split())


def run_kind(timeout: float, started: float) -> bool:
    """The same demo on kind, with the operator image (needs Docker; untested on the build
    machines, which have no Docker engine). Non-interactive, a cluster it created is deleted."""
    cluster = os.environ.get("KIND_CLUSTER", "bundle-renewal-operator")
    created = cluster not in kind_clusters()
    try:
        return run_on_kind(timeout, started)
    finally:
        if created and not interactive():
            say(f"deleting the kind cluster {cluster}")
            subprocess.run(["kind", "delete", "cluster", "--name", cluster], check=False)
        else:
            say(
                f"kind cluster {cluster} left running; delete it with"
                f" `kind delete cluster --name {cluster}`"
            )


def run_on_kind(timeout: float, started: float) -> bool:
    account_sid = "AC" + secrets.token_hex(16)
    auth_token = secrets.token_hex(16)
    kind_up = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts/controlplane/kind-up.sh")],
        check=True,
        capture_output=True,
        text=True,
    )
    kubeconfig = Path(kind_up.stdout.strip().splitlines()[-1])
    kubectl = Kubectl(kubeconfig, server_version=None)
    kubectl("apply", "--server-side", "-k", str(MANIFESTS))
    # The simulator runs in the cluster from the same image, next to the operator.
    kubectl(
        "apply",
        "-n",
        OPERATOR_NAMESPACE,
        "-f",
        "-",
        input=kind_simulator_manifest(account_sid, auth_token),
    )
    kubectl("rollout", "status", "-n", OPERATOR_NAMESPACE, "deploy/twilio-sim", "--timeout=120s")
    kubectl(
        "set",
        "env",
        "-n",
        OPERATOR_NAMESPACE,
        "deploy/bundle-renewal-operator",
        f"TWILIO_BASE_URL=http://twilio-sim.{OPERATOR_NAMESPACE}.svc:8089",
        *(f"{k}={v}" for k, v in DEMO_SETTINGS.items()),
    )
    kubectl(
        "rollout",
        "status",
        "-n",
        OPERATOR_NAMESPACE,
        "deploy/bundle-renewal-operator",
        "--timeout=120s",
    )
    port = free_port()
    forward = subprocess.Popen(
        [
            *kubectl_command(None),
            f"--kubeconfig={kubeconfig}",
            "port-forward",
            "-n",
            OPERATOR_NAMESPACE,
            "svc/twilio-sim",
            f"{port}:8089",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        admin = AdminClient(f"http://127.0.0.1:{port}")
        admin.wait_ready(timeout=30)
        bundles = seed(admin, account_sid)
        kubectl("create", "namespace", NAMESPACE)
        kubectl("apply", "-f", "-", input=credentials_secret(account_sid, auth_token))
        kubectl("apply", "-n", NAMESPACE, "-f", str(EXAMPLES / "rbac-credentials-reader.yaml"))
        with tempfile.TemporaryDirectory() as tmp:
            rendered = render_examples(bundles, Path(tmp))
            kubectl("apply", "--server-side", "-n", NAMESPACE, "-f", str(rendered))
        applied = time.monotonic()
        settled = watch_until_settled(kubectl, timeout)
        print()
        report_settled(settled, timeout, started, applied)
    finally:
        stop_process(forward)
    if interactive():
        print(f"\nLook around (in another terminal):\n  export KUBECONFIG={kubeconfig}\n")
    return settled


def kind_simulator_manifest(account_sid: str, auth_token: str) -> str:
    labels = {"app.kubernetes.io/name": "twilio-sim"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "twilio-sim"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "twilio-sim",
                            "image": os.environ.get("IMAGE", "bundle-renewal-operator:dev"),
                            "command": ["python", "-m", "twilio_sim"],
                            "args": [
                                "--host=0.0.0.0",
                                "--port=8089",
                                f"--account={account_sid}:{auth_token}",
                            ],
                            "ports": [{"containerPort": 8089}],
                        }
                    ]
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "twilio-sim"},
        "spec": {"selector": labels, "ports": [{"port": 8089, "targetPort": 8089}]},
    }
    return yaml.safe_dump_all([deployment, service])
