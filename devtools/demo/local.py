"""The demo on one machine: the local control plane, the simulator and the operator as processes
(the default; `make demo`)."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from devtools.controlplane import LocalControlPlane
from devtools.demo.common import (
    EXAMPLES,
    MANIFESTS,
    NAMESPACE,
    OPERATOR_NAMESPACE,
    REPO_ROOT,
    SERVICE_ACCOUNT,
    Kubectl,
    interactive,
    operator_settings,
    say,
    wait_for_interrupt,
)
from devtools.demo.seeding import (
    credentials_secret,
    render_examples,
    seed,
)
from devtools.demo.watch import (
    look_around,
    report_settled,
    watch_until_settled,
)
from devtools.operator_runner import running_operator, stop_process
from twilio_sim.admin_client import AdminClient
from twilio_sim.server import free_port


@contextlib.contextmanager
def simulator(workdir: Path, account_sid: str, auth_token: str) -> Iterator[str]:
    """`python -m twilio_sim` on a free loopback port, the demo account preloaded; its URL."""
    port = free_port()
    log = (workdir / "twilio-sim.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twilio_sim",
            "--port",
            str(port),
            "--account",
            f"{account_sid}:{auth_token}",
            "--log-level",
            "WARNING",
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        AdminClient(url).wait_ready(timeout=30)
        yield url
    finally:
        stop_process(process)
        log.close()


def service_account_token(admin_kubeconfig: Path) -> str:
    """A 24-hour token of the manifests' ServiceAccount (the TokenRequest API, as admin)."""
    api: k8s.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(admin_kubeconfig)
    )
    with api:
        request = k8s.CoreV1Api(api).create_namespaced_service_account_token(
            SERVICE_ACCOUNT,
            OPERATOR_NAMESPACE,
            k8s.AuthenticationV1TokenRequest(
                spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=24 * 3600)
            ),
        )
    if request.status is None or not request.status.token:
        raise RuntimeError(f"the API server returned no token for {SERVICE_ACCOUNT}")
    return str(request.status.token)


def service_account_kubeconfig(admin_kubeconfig: Path, out: Path) -> Path:
    """A kubeconfig with a TokenRequest token of the manifests' ServiceAccount."""
    token = service_account_token(admin_kubeconfig)
    config: dict[str, Any] = yaml.safe_load(admin_kubeconfig.read_text())
    config["users"] = [{"name": SERVICE_ACCOUNT, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = SERVICE_ACCOUNT
    out.touch(mode=0o600)
    out.write_text(yaml.safe_dump(config))
    return out


def run_local(workdir: Path, timeout: float, started: float) -> bool:
    account_sid = "AC" + secrets.token_hex(16)
    auth_token = secrets.token_hex(16)
    say("starting the local control plane (etcd + kube-apiserver 1.20 on loopback)")
    with contextlib.ExitStack() as stack:
        plane = stack.enter_context(LocalControlPlane(workdir / "controlplane"))
        kubeconfig = plane.endpoints.kubeconfig_path
        kubectl = Kubectl(kubeconfig)
        say(f"control plane ready in {plane.startup_seconds:.1f} s at {plane.endpoints.server}")

        say("installing manifests/ (kubectl apply --server-side -k manifests/)")
        kubectl("apply", "--server-side", "-k", str(MANIFESTS))
        kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/bundlerenewals.twilio-compliance.io",
            "crd/complianceaccounts.twilio-compliance.io",
        )

        say("starting the Twilio simulator")
        twilio_url = stack.enter_context(simulator(workdir, account_sid, auth_token))
        admin = AdminClient(twilio_url)
        bundles = seed(admin, account_sid)
        say(f"seeded {len(bundles)} approved bundles at {twilio_url}")

        say(f"namespace {NAMESPACE}: credentials Secret and credentials-reader RoleBinding")
        kubectl("create", "namespace", NAMESPACE)
        kubectl("apply", "-f", "-", input=credentials_secret(account_sid, auth_token))
        kubectl("apply", "-n", NAMESPACE, "-f", str(EXAMPLES / "rbac-credentials-reader.yaml"))

        say("starting the operator as the ServiceAccount bundle-renewal-operator")
        sa_kubeconfig = service_account_kubeconfig(kubeconfig, workdir / "operator.kubeconfig")
        operator = stack.enter_context(
            running_operator(
                {
                    **operator_settings(),
                    "KUBECONFIG": str(sa_kubeconfig),
                    "TWILIO_BASE_URL": twilio_url,
                },
                workdir / "operator.log",
            )
        )

        say(f"applying examples/ to namespace {NAMESPACE} (kubectl apply --server-side)")
        rendered = render_examples(bundles, workdir)
        kubectl("apply", "--server-side", "-n", NAMESPACE, "-f", str(rendered))
        applied = time.monotonic()

        settled = watch_until_settled(kubectl, timeout)
        print()
        report_settled(settled, timeout, started, applied)
        if interactive():
            look_around(kubeconfig, twilio_url, operator.log_path, operator.metrics_url, workdir)
            wait_for_interrupt()
        say("stopping the operator, the simulator and the control plane")
    return settled
