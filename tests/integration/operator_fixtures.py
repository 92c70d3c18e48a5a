"""Fixtures and helpers for the operator's integration tests (the real API server + simulator).

A pytest plugin (listed in tests/conftest.py); the fixtures build on the control plane's `kube`
and `namespace` fixtures (tests/integration/conftest.py) and on the simulator's `sim`. The operator
runs as a `python -m controller` subprocess watching the
test's namespace, configured through environment variables as in production, with short polling
intervals; its output goes to `<tmp_path>/operator.log`. For the operator as the install
manifests run it: `installed` applies manifests/, `service_account_kubeconfig` authenticates as
their ServiceAccount, `bind_credentials_reader` grants it a namespace's credentials Secret.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from kubernetes import client

from controller.core.models import API_GROUP, API_VERSION, PLURAL
from devtools.operator_runner import REPO_ROOT, OperatorProcess
from tests.integration.scenario import CREDENTIALS_SECRET
from tests.sim_fixtures import Sim, SimAccount

# tests/integration/conftest.py's KubeCluster (not importable as a module: it is a conftest).
KubeCluster = Any

CRD_PATH = REPO_ROOT / "crds" / "bundlerenewals.yaml"
ACCOUNT_CRD_PATH = REPO_ROOT / "crds" / "complianceaccounts.yaml"
MANIFESTS = REPO_ROOT / "manifests"
CREDENTIALS_READER_BINDING = REPO_ROOT / "examples" / "rbac-credentials-reader.yaml"
OPERATOR_NAMESPACE = "bundle-renewal-system"
SERVICE_ACCOUNT = "bundle-renewal-operator"
OPERATOR_ROLE = "bundle-renewal-operator"
PEERING_CRDS_PATH = REPO_ROOT / "crds" / "kopfpeerings.yaml"

FAST_SETTINGS = {
    "POLL_INTERVAL_SECONDS": "0.2",
    "POLL_INTERVAL_MAX_SECONDS": "1",
    "LIGHT_CHECK_INTERVAL_SECONDS": "30",
    "BACKOFF_BASE_SECONDS": "0.2",
    "BACKOFF_MAX_SECONDS": "2",
    "TWILIO_TIMEOUT_SECONDS": "10",
    "LOG_LEVEL": "INFO",
}


@pytest.fixture(scope="session")
def crd(kube: KubeCluster) -> str:
    """The BundleRenewal CRD (and the ComplianceAccount one, which the operator also serves),
    applied once per session and established."""
    kube.kubectl("apply", "-f", str(CRD_PATH), "-f", str(ACCOUNT_CRD_PATH))
    kube.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        f"crd/{PLURAL}.{API_GROUP}",
        f"crd/complianceaccounts.{API_GROUP}",
    )
    # Established is not published: kubectl's client-side validation (unknown fields) reads the
    # OpenAPI document, which gains the kind a moment later. A test run first would race it.
    definition = f"{'.'.join(reversed(API_GROUP.split('.')))}.{API_VERSION}.BundleRenewal"
    deadline = time.monotonic() + 60
    while definition not in kube.kubectl("get", "--raw", "/openapi/v2").stdout:
        assert time.monotonic() < deadline, f"{definition} never appeared in /openapi/v2"
        time.sleep(0.5)
    return f"{PLURAL}.{API_GROUP}"


@pytest.fixture(scope="session")
def peering_crds(kube: KubeCluster) -> None:
    """Kopf's peering CRDs (ClusterKopfPeering, KopfPeering), applied once per session."""
    kube.kubectl("apply", "-f", str(PEERING_CRDS_PATH))
    kube.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/clusterkopfpeerings.kopf.dev",
        "crd/kopfpeerings.kopf.dev",
    )


class Renewals:
    """BundleRenewal objects, Secrets and events in one namespace, through the API server."""

    def __init__(self, kube: KubeCluster, api: client.ApiClient, namespace: str):
        self.kube = kube
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> Any:
        """kubectl against the test cluster (the control plane fixture picks a working binary)."""
        return self.kube.kubectl(*args, input=input, check=check)

    def create_secret(self, data: dict[str, str], name: str = CREDENTIALS_SECRET) -> None:
        self.core.create_namespaced_secret(
            self.namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name=name),
                data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            ),
        )

    def create_credentials(self, account: SimAccount, name: str = CREDENTIALS_SECRET) -> None:
        self.create_secret({"accountSid": account.sid, "authToken": account.auth_token}, name)

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "BundleRenewal",
            "metadata": {"name": name},
            "spec": spec,
        }
        return cast(
            dict[str, Any],
            self.custom.create_namespaced_custom_object(
                API_GROUP, API_VERSION, self.namespace, PLURAL, body
            ),
        )

    def get(self, name: str) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self.custom.get_namespaced_custom_object(
                API_GROUP, API_VERSION, self.namespace, PLURAL, name
            ),
        )

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            API_GROUP,
            API_VERSION,
            self.namespace,
            PLURAL,
            name,
            {"spec": spec},
            _content_type="application/merge-patch+json",
        )

    def replace_spec(self, name: str, spec: dict[str, Any]) -> None:
        current = self.get(name)
        current["spec"] = spec
        self.custom.replace_namespaced_custom_object(
            API_GROUP, API_VERSION, self.namespace, PLURAL, name, current
        )

    def delete(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            API_GROUP, API_VERSION, self.namespace, PLURAL, name
        )

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.get(name).get("status") or {})

    def condition(self, name: str, type_: str) -> dict[str, Any] | None:
        for condition in self.status(name).get("conditions") or []:
            if condition.get("type") == type_:
                return dict(condition)
        return None

    def wait_for(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Until predicate(status) holds; the last status in the failure message otherwise."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.status(name)
            if predicate(status):
                return status
            time.sleep(0.1)
        raise AssertionError(f"{name}: not {what} within {timeout}s; status: {status}")

    def wait_for_phase(self, name: str, phase: str, timeout: float = 60.0) -> dict[str, Any]:
        return self.wait_for(name, lambda s: s.get("phase") == phase, f"in {phase}", timeout)

    def wait_gone(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.exists(name):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still exists after {timeout}s: {self.get(name)}")
            time.sleep(0.1)

    def wait_for_event(self, name: str, reason: str, timeout: float = 10.0) -> list[str]:
        """The reasons of the object's events once one has `reason` (Kopf posts events in the
        background, so the last one may trail the status it goes with by a moment)."""
        deadline = time.monotonic() + timeout
        while True:
            reasons = [e.reason for e in self.events(name)]
            if reason in reasons:
                return reasons
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: no {reason} event within {timeout}s: {reasons}")
            time.sleep(0.1)

    def events(self, name: str) -> list[client.CoreV1Event]:
        events = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name}"
        )
        return list(events.items)


@pytest.fixture
def renewals(kube: KubeCluster, crd: str, namespace: str) -> Iterator[Renewals]:
    with kube.api_client() as api:
        yield Renewals(kube, api, namespace)


def operator_env(kube: KubeCluster, sim: Sim, namespace: str, **extra: str) -> dict[str, str]:
    return {
        **FAST_SETTINGS,
        "KUBECONFIG": str(kube.kubeconfig_path),
        "WATCH_NAMESPACES": namespace,
        "TWILIO_BASE_URL": sim.base_url,
        **extra,
    }


@pytest.fixture
def operator_log(tmp_path: Path) -> Path:
    return tmp_path / "operator.log"


OperatorFactory = Callable[..., OperatorProcess]


@pytest.fixture
def operator_factory(
    kube: KubeCluster, crd: str, sim: Sim, namespace: str, operator_log: Path
) -> Iterator[OperatorFactory]:
    """Makes (unstarted) operator processes for the test's namespace and simulator, with extra
    environment settings (and a log file of their own if given); every one is stopped after the
    test."""
    made: list[OperatorProcess] = []

    def make(log_path: Path | None = None, **extra_env: str) -> OperatorProcess:
        env = operator_env(kube, sim, namespace, **extra_env)
        process = OperatorProcess(env, log_path or operator_log)
        made.append(process)
        return process

    try:
        yield make
    finally:
        for process in made:
            process.stop()


@pytest.fixture
def operator(operator_factory: OperatorFactory) -> OperatorProcess:
    """A running operator watching the test's namespace; stopped (SIGTERM) after the test."""
    process = operator_factory()
    process.start()
    return process


def apply_manifests(kube: KubeCluster) -> None:
    kube.kubectl("apply", "--server-side", "-k", str(MANIFESTS))


@pytest.fixture(scope="module")
def installed(kube: KubeCluster, crd: str) -> None:
    """manifests/ applied for real (tests that edit the ClusterRole re-apply them after)."""
    apply_manifests(kube)


@pytest.fixture
def service_account_kubeconfig(
    kube: KubeCluster, kube_api: client.ApiClient, installed: None, tmp_path: Path
) -> Path:
    """A kubeconfig for the cluster that authenticates as the manifests' ServiceAccount."""
    request = client.CoreV1Api(kube_api).create_namespaced_service_account_token(
        SERVICE_ACCOUNT,
        OPERATOR_NAMESPACE,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
        ),
    )
    assert request.status is not None
    token = request.status.token
    admin: dict[str, Any] = yaml.safe_load(Path(kube.kubeconfig_path).read_text())
    current = admin["current-context"]
    context = next(c["context"] for c in admin["contexts"] if c["name"] == current)
    cluster = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": SERVICE_ACCOUNT, "user": {"token": token}}],
        "contexts": [
            {
                "name": SERVICE_ACCOUNT,
                "context": {"cluster": cluster["name"], "user": SERVICE_ACCOUNT},
            }
        ],
        "current-context": SERVICE_ACCOUNT,
    }
    path = tmp_path / "service-account.kubeconfig"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config))
    return path


def bind_credentials_reader(renewals: Renewals) -> None:
    renewals.kubectl("apply", "-n", renewals.namespace, "-f", str(CREDENTIALS_READER_BINDING))
