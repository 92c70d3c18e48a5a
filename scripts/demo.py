"""`make demo`: the whole product on one machine, from a fresh clone to Completed renewals.

What it does, in order (each step prints a line):
1. starts a local Kubernetes control plane (etcd + kube-apiserver 1.20 on loopback; `make
   envtest` built it) and installs manifests/ into it with server-side apply;
2. starts the Twilio simulator (`python -m twilio_sim`) with a demo account preloaded, seeds one
   approved bundle per example and publishes regulation changes, so that Twilio (simulated)
   asks for renewals;
3. creates namespace `telecom` with the credentials Secret and the credentials-reader binding;
4. runs the operator (`python -m controller`) as the manifests' ServiceAccount (a TokenRequest
   token, not admin) with the settings of manifests/operator.env, pointed at the simulator;
   the local control plane has no nodes, so the Deployment itself stays at 0/1;
5. applies examples/ (server-side, so that kubectl keeps no copy of a spec in an annotation)
   with each bundleSid replaced by its seeded bundle, and shows `kubectl get bundlerenewals`
   until every example is in its intended state. The individuals' examples read their personal
   data from Secrets (valueFrom, attributesFrom).
It prints how long the examples took to settle, then how to look around, and waits for Ctrl-C,
stopping everything it started.

Non-interactive (CI=true, or stdin is not a terminal): it stops everything right away and exits
0 only if every example reached its intended state. `CLUSTER=kind` uses a kind cluster and the
operator image instead (needs Docker: not available on the project's build machines); a kind
cluster the demo created is deleted at the end when non-interactive.

Before anything starts it checks its prerequisites (a kubectl >= 1.24 for `apply -k`; for kind,
kind and a Docker engine) and, if one is missing, says what and how to get it, and exits 2.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(REPO_ROOT))

from controlplane import LocalControlPlane, kubectl_command  # noqa: E402
from controlplane.kubectl import (  # noqa: E402
    LOCAL_SERVER_VERSION,
    MIN_NEWER_MINOR,
    KubectlNotFound,
    client_minor,
    run_kubectl,
)
from operator_runner import running_operator, stop_process  # noqa: E402

from twilio_sim import sids  # noqa: E402
from twilio_sim.admin_client import AdminClient  # noqa: E402
from twilio_sim.server import free_port  # noqa: E402

NAMESPACE = "telecom"
OPERATOR_NAMESPACE = "bundle-renewal-system"
SERVICE_ACCOUNT = "bundle-renewal-operator"
EXAMPLES = REPO_ROOT / "examples"
MANIFESTS = REPO_ROOT / "manifests"
TIMEOUT_SECONDS = 300.0

FR_MOBILE_BUSINESS = sids.stable_sid(sids.REGULATION, "FR/mobile/business")
GB_MOBILE_INDIVIDUAL = sids.stable_sid(sids.REGULATION, "GB/mobile/individual")
DE_LOCAL_BUSINESS = sids.stable_sid(sids.REGULATION, "DE/local/business")
AU_LOCAL_INDIVIDUAL = sids.stable_sid(sids.REGULATION, "AU/local/individual")


@dataclass(frozen=True)
class Example:
    """A BundleRenewal of examples/, the bundle the demo seeds for it, and where it must end."""

    name: str
    regulation_sid: str
    expected_phase: str
    end_user: dict[str, str]


EXAMPLE_RENEWALS = [
    Example("acme-fr-mobile", FR_MOBILE_BUSINESS, "Completed", {}),
    Example("jane-doe-gb-mobile", GB_MOBILE_INDIVIDUAL, "Completed", {}),
    Example(
        "jane-doe-gb-national-id",
        GB_MOBILE_INDIVIDUAL,
        "Completed",
        {"first_name": "Jane", "last_name": "Doe"},
    ),
    Example("acme-de-local", DE_LOCAL_BUSINESS, "Completed", {}),
    Example("sam-lee-au-local", AU_LOCAL_INDIVIDUAL, "Completed", {}),
    Example("acme-fr-landline-paused", FR_MOBILE_BUSINESS, "Suspended", {}),
]

# Regulation changes published after seeding: Twilio sets valid_until on the bundles they affect.
REGULATION_CHANGES: dict[str, dict[str, Any]] = {
    FR_MOBILE_BUSINESS: {},  # the default change: a new end-user field and document field
    GB_MOBILE_INDIVIDUAL: {},
    DE_LOCAL_BUSINESS: {
        "new_requirements": [
            {
                "requirement_name": "power_of_attorney_info",
                "requirement_friendly_name": "Power of Attorney",
                "accepted_types": ["power_of_attorney"],
            }
        ]
    },
    # AU: no change; its example asks for a renewal explicitly (spec.renewalRequest).
}

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


# -- prerequisites ----------------------------------------------------------------------------

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


# -- the simulated Twilio --------------------------------------------------------------------


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


#: A bundle no example renews, with a deadline: the ComplianceAccount example shows it uncovered.
UNCOVERED = "uncovered"
ACCOUNT_EXAMPLE = "acme-account"


def seed(admin: AdminClient, account_sid: str) -> dict[str, str]:
    """One approved bundle per example, then the regulation changes, then one dated bundle no
    example renews; example name (or UNCOVERED) -> bundle SID."""
    bundles = {}
    for example in EXAMPLE_RENEWALS:
        seeded = admin.seed_approved_bundle(
            account_sid,
            regulation_sid=example.regulation_sid,
            phone_numbers=2,
            friendly_name=f"{example.name} bundle",
            end_user_attributes=example.end_user,
        )
        bundles[example.name] = seeded["bundle_sid"]
    for regulation_sid, change in REGULATION_CHANGES.items():
        result = admin.change_regulation(regulation_sid, **change)
        say(
            f"regulation change on {regulation_sid}: valid_until set on"
            f" {len(result['affected_bundle_sids'])} bundle(s)"
        )
    deadline = datetime.now(UTC) + timedelta(days=45)
    bundles[UNCOVERED] = admin.seed_approved_bundle(
        account_sid,
        regulation_sid=AU_LOCAL_INDIVIDUAL,
        phone_numbers=1,
        friendly_name="bundle nobody renews",
        valid_until=deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )["bundle_sid"]
    return bundles


# -- examples/ --------------------------------------------------------------------------------


def example_documents() -> list[dict[str, Any]]:
    """Every object in examples/ except the credentials template (the demo makes the real one)."""
    documents: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if path.name == "credentials-secret.yaml":
            continue
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def render_examples(bundles: dict[str, str], out_dir: Path) -> Path:
    """examples/ with each BundleRenewal's bundleSid replaced by its seeded bundle's SID."""
    documents = example_documents()
    names = set()
    for doc in documents:
        if doc["kind"] == "BundleRenewal":
            name = doc["metadata"]["name"]
            doc["spec"]["bundleSid"] = bundles[name]
            names.add(name)
    missing = {e.name for e in EXAMPLE_RENEWALS} ^ names
    if missing:
        raise RuntimeError(f"examples/ and the demo's seeding disagree on: {sorted(missing)}")
    # Secrets, ConfigMaps and the RoleBinding first, so that no renewal looks for them too early;
    # the ComplianceAccount last, so that its first scan finds the renewals.
    order = {"BundleRenewal": 1, "ComplianceAccount": 2}
    documents.sort(key=lambda doc: order.get(doc["kind"], 0))
    path = out_dir / "examples.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def credentials_secret(account_sid: str, auth_token: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "twilio-credentials", "namespace": NAMESPACE},
            "type": "Opaque",
            "data": {
                "accountSid": base64.b64encode(account_sid.encode()).decode(),
                "authToken": base64.b64encode(auth_token.encode()).decode(),
            },
        }
    )


def phases(kubectl: Kubectl) -> dict[str, str]:
    listing = kubectl("get", "bundlerenewals", "-n", NAMESPACE, "-o", "yaml")
    items = yaml.safe_load(listing.stdout)["items"]
    return {
        item["metadata"]["name"]: (item.get("status") or {}).get("phase") or "" for item in items
    }


def watch_until_settled(kubectl: Kubectl, timeout: float) -> bool:
    """Show `kubectl get bundlerenewals` as it changes; True when every example is as expected."""
    expected = {e.name: e.expected_phase for e in EXAMPLE_RENEWALS}
    deadline = time.monotonic() + timeout
    last = ""

    def show_table() -> None:
        nonlocal last
        table = kubectl("get", "bundlerenewals", "-n", NAMESPACE).stdout
        if table != last:
            print(f"\n$ kubectl get bundlerenewals -n {NAMESPACE}\n{table}", end="", flush=True)
            last = table

    while True:
        show_table()
        current = phases(kubectl)
        account = account_status(kubectl)
        if (
            all(current.get(name) == phase for name, phase in expected.items())
            and account.get("uncovered") == 1
        ):
            show_table()  # the phases may have settled after the table above was read
            print(
                f"\n$ kubectl get complianceaccounts -n {NAMESPACE}\n"
                + kubectl("get", "complianceaccounts", "-n", NAMESPACE).stdout,
                end="",
                flush=True,
            )
            return True
        if time.monotonic() > deadline:
            for name, phase in expected.items():
                if current.get(name) != phase:
                    say(f"{name}: expected {phase}, is {current.get(name) or 'no phase'}")
            if account.get("uncovered") != 1:
                say(f"{ACCOUNT_EXAMPLE}: expected 1 uncovered bundle, status {account}")
            return False
        time.sleep(1.0)


def account_status(kubectl: Kubectl) -> dict[str, Any]:
    """The example ComplianceAccount's status ({} before its first scan)."""
    listing = kubectl("get", "complianceaccounts", "-n", NAMESPACE, "-o", "yaml")
    for item in yaml.safe_load(listing.stdout)["items"]:
        if item["metadata"]["name"] == ACCOUNT_EXAMPLE:
            return dict(item.get("status") or {})
    return {}


# -- processes --------------------------------------------------------------------------------


def operator_settings() -> dict[str, str]:
    settings = {}
    for line in (MANIFESTS / "operator.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return {**settings, **DEMO_SETTINGS}


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


# -- the two ways to run it -------------------------------------------------------------------


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"


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


def report_settled(settled: bool, timeout: float, started: float, applied: float) -> None:
    if settled:
        say(
            f"every example reached its intended state {elapsed(started)} after the demo started"
            f" ({elapsed(applied)} after examples/ were applied)"
        )
    else:
        say(f"not every example settled within {timeout:.0f} s")


def look_around(
    kubeconfig: Path, twilio_url: str, operator_log: Path, metrics_url: str, workdir: Path
) -> None:
    kubectl = " ".join(kubectl_command())
    print(
        f"""
Look around (in another terminal):
  export KUBECONFIG={kubeconfig}
  {kubectl} get br -n {NAMESPACE} -o wide
  {kubectl} get ca -n {NAMESPACE} {ACCOUNT_EXAMPLE} -o yaml     # every deadline of the account
  {kubectl} describe br -n {NAMESPACE} acme-fr-mobile      # events for every step
  {kubectl} get br -n {NAMESPACE} acme-fr-mobile -o jsonpath='{{.status}}'
  {kubectl} get br -n {NAMESPACE} jane-doe-gb-mobile -o yaml   # personal data: Secret refs only
  {kubectl} patch br -n {NAMESPACE} acme-fr-landline-paused --type=merge \\
      -p '{{"spec":{{"suspend":false}}}}'                      # resume the suspended one
  curl -s {twilio_url}/_sim/state | python3 -m json.tool     # the simulated Twilio
  curl -s {metrics_url} | grep -v '^#'                  # the operator's metrics
  tail -f {operator_log}
Files: {workdir}
Stop: Ctrl-C here (stops everything the demo started).
""",
        flush=True,
    )


def wait_for_interrupt() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ["DEMO_WORKDIR"]) if os.environ.get("DEMO_WORKDIR") else None,
        help="where logs and kubeconfigs go (default: a temporary directory; env DEMO_WORKDIR)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    kind = os.environ.get("CLUSTER", "local") == "kind"
    missing = missing_prerequisites(kind)
    if missing:
        say("cannot start: this machine lacks\n  - " + "\n  - ".join(missing))
        return 2
    if kind:
        code = 0 if run_kind(args.timeout, started) else 1
        say(f"done in {elapsed(started)}")
        return code
    # SIGTERM (e.g. from CI) stops the demo like Ctrl-C does, through the same clean-up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-")))
            if interactive():
                stack.pop_all()  # keep the logs for people to read afterwards
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        try:
            code = 0 if run_local(workdir, args.timeout, started) else 1
        except KeyboardInterrupt:
            say("interrupted; everything the demo started has been stopped")
            return 130
    say(f"done in {elapsed(started)} (everything it started is stopped)")
    return code


if __name__ == "__main__":
    sys.exit(main())
