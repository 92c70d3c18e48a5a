"""The install manifests' RBAC, verified for real: the operator runs as their ServiceAccount.

manifests/ is applied to the cluster with server-side apply (`kubectl apply --server-side -k`),
a token for the ServiceAccount is minted with the TokenRequest API, and `python -m controller`
runs with a kubeconfig holding only that token (not admin), cluster-wide and peering through the
ClusterKopfPeering as the Deployment runs it. The seed's renewal completes (the operator created
the peering object and keeps its entry alive in it); with one needed permission taken away it
does not, with a clear 403 in the status or the log, and nothing is written to Twilio.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from operator_runner import REPO_ROOT, OperatorProcess

from tests.integration.operator_fixtures import KubeCluster, OperatorFactory, Renewals
from tests.integration.scenario import (
    assert_renewed,
    copies_created,
    renewal_spec,
    seed_due_bundle,
    successful_writes,
)
from tests.sim_fixtures import Sim

MANIFESTS = REPO_ROOT / "manifests"
CREDENTIALS_READER_BINDING = REPO_ROOT / "examples" / "rbac-credentials-reader.yaml"
OPERATOR_NAMESPACE = "bundle-renewal-system"
SERVICE_ACCOUNT = "bundle-renewal-operator"
OPERATOR_ROLE = "bundle-renewal-operator"
POD = "bundle-renewal-operator-rbac-test"


def apply_manifests(kube: KubeCluster) -> None:
    kube.kubectl("apply", "--server-side", "-k", str(MANIFESTS))


def deployment_peering() -> dict[str, str]:
    """The PEERING_* settings manifests/operator.env gives the Deployment's replicas."""
    settings = {}
    for line in (MANIFESTS / "operator.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.startswith("PEERING_"):
            settings[key] = value
    assert settings["PEERING_NAME"]
    return settings


@pytest.fixture(scope="module")
def installed(kube: KubeCluster, crd: str) -> None:
    """manifests/ applied for real (tests that edit the ClusterRole re-apply them after)."""
    apply_manifests(kube)


@pytest.fixture(autouse=True)
def no_peering_object(kube_api: client.ApiClient, installed: None) -> None:
    """Each test starts without the ClusterKopfPeering (nor the entries of earlier operators):
    the operator must create it."""
    try:
        client.CustomObjectsApi(kube_api).delete_cluster_custom_object(
            "kopf.dev", "v1", "clusterkopfpeerings", deployment_peering()["PEERING_NAME"]
        )
    except client.ApiException as exc:
        if exc.status != 404:
            raise


def peering_entries(kube_api: client.ApiClient) -> dict[str, Any]:
    peering = client.CustomObjectsApi(kube_api).get_cluster_custom_object(
        "kopf.dev", "v1", "clusterkopfpeerings", deployment_peering()["PEERING_NAME"]
    )
    return dict(peering.get("status") or {})


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


def start_as_service_account(factory: OperatorFactory, kubeconfig: Path) -> OperatorProcess:
    # WATCH_NAMESPACES empty: cluster-wide, as manifests/operator.env configures it; peering
    # and POD_NAME as the Deployment sets them.
    operator = factory(
        KUBECONFIG=str(kubeconfig), WATCH_NAMESPACES="", POD_NAME=POD, **deployment_peering()
    )
    operator.start()
    return operator


def lines_about(output: str, namespace: str, pattern: str) -> list[str]:
    return [line for line in output.splitlines() if namespace in line and re.search(pattern, line)]


def test_the_service_account_can_do_everything_the_renewal_needs(
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    service_account_kubeconfig: Path,
    kube_api: client.ApiClient,
) -> None:
    # The token is the ServiceAccount's, and it is not an admin.
    whoami = renewals.kubectl(
        f"--kubeconfig={service_account_kubeconfig}",
        "auth",
        "can-i",
        "create",
        "namespaces",
        check=False,
    )
    assert whoami.stdout.strip() == "no"

    bind_credentials_reader(renewals)
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("acme-fr-mobile", renewal_spec(case.bundle_sid))
    operator = start_as_service_account(operator_factory, service_account_kubeconfig)

    status = renewals.wait_for_phase("acme-fr-mobile", "Completed", timeout=90)
    assert status.get("copySid") is None
    assert_renewed(sim, case)
    # Events are created by the ServiceAccount (Kopf's event posting for our decisions).
    assert "Completed" in [e.reason for e in renewals.events("acme-fr-mobile")]
    output = operator.output()
    # No permission was missing for this namespace, nor for Kopf's cluster-wide watching.
    assert "Not enough permissions" not in output
    assert lines_about(output, renewals.namespace, r"403|[Ff]orbidden") == []
    # Peering: the operator created the ClusterKopfPeering and keeps its entry in it (patch).
    assert "Resuming operations after the pause" in output
    entries = peering_entries(kube_api)
    assert list(entries) == [POD]
    assert entries[POD]["lifetime"] == int(deployment_peering()["PEERING_LIFETIME_SECONDS"])
    assert lines_about(output, "peering", r"403|[Ff]orbidden") == []


def remove_status_patch(kube: KubeCluster) -> None:
    """Server-side apply of the operator's ClusterRole without `patch` on bundlerenewals/status."""
    role = next(
        doc
        for doc in yaml.safe_load_all((MANIFESTS / "rbac.yaml").read_text())
        if doc["kind"] == "ClusterRole" and doc["metadata"]["name"] == OPERATOR_ROLE
    )
    kept = [rule for rule in role["rules"] if "bundlerenewals/status" not in rule["resources"]]
    assert len(kept) == len(role["rules"]) - 1
    role["rules"] = kept
    kube.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(role))


@pytest.mark.parametrize("missing", ["status-patch", "secret-read"])
def test_without_a_needed_permission_the_renewal_fails_safely(
    missing: str,
    kube: KubeCluster,
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    service_account_kubeconfig: Path,
) -> None:
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("acme-fr-mobile", renewal_spec(case.bundle_sid))
    try:
        if missing == "status-patch":
            bind_credentials_reader(renewals)
            remove_status_patch(kube)
        operator = start_as_service_account(operator_factory, service_account_kubeconfig)

        if missing == "secret-read":
            # No RoleBinding in this namespace: Stalled, naming the Secret and the 403.
            stalled = renewals.wait_for(
                "acme-fr-mobile",
                lambda s: any(
                    c["type"] == "Stalled" and c["status"] == "True"
                    for c in s.get("conditions") or []
                ),
                "Stalled",
            )
            assert "twilio-credentials" in stalled["message"]
            assert "403" in stalled["message"]
        else:
            # The status cannot be written: the operator says so, and goes no further.
            pattern = rf"patching status of {renewals.namespace}/acme-fr-mobile: HTTP 403"
            wait_for_output(operator, pattern)
            assert renewals.status("acme-fr-mobile") == {}
        assert renewals.status("acme-fr-mobile").get("phase") != "Completed"
        # Fail-safe: nothing was written to Twilio without the permission.
        assert copies_created(sim, case.account.sid) == 0
        assert successful_writes(sim, case.account.sid) == 0
    finally:
        apply_manifests(kube)


def wait_for_output(operator: OperatorProcess, pattern: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, operator.output()):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no {pattern!r} in the operator's output:\n{operator.output()[-4000:]}"
            )
        time.sleep(0.2)
