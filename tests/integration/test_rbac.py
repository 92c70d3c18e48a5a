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

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import (
    MANIFESTS,
    OPERATOR_ROLE,
    KubeCluster,
    OperatorFactory,
    Renewals,
    apply_manifests,
    bind_credentials_reader,
)
from tests.integration.scenario import (
    assert_renewed,
    copies_created,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
    successful_writes,
    value_secrets,
    values_spec,
)
from tests.sim_fixtures import Sim

POD = "bundle-renewal-operator-rbac-test"


def deployment_peering() -> dict[str, str]:
    """The PEERING_* settings manifests/operator.env gives the Deployment's replicas."""
    settings = {}
    for line in (MANIFESTS / "operator.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.startswith("PEERING_"):
            settings[key] = value
    assert settings["PEERING_NAME"]
    return settings


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
    renewals.wait_for_event("acme-fr-mobile", "Completed")
    output = operator.output()
    # No permission was missing for this namespace, nor for Kopf's cluster-wide watching.
    assert "Not enough permissions" not in output
    assert lines_about(output, renewals.namespace, r"\b403\b|[Ff]orbidden") == []
    # Peering: the operator created the ClusterKopfPeering and keeps its entry in it (patch).
    assert "Resuming operations after the pause" in output
    entries = peering_entries(kube_api)
    assert list(entries) == [POD]
    assert entries[POD]["lifetime"] == int(deployment_peering()["PEERING_LIFETIME_SECONDS"])
    assert lines_about(output, "peering", r"\b403\b|[Ff]orbidden") == []


def test_values_from_secrets_are_read_with_the_credentials_reader_binding(
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    service_account_kubeconfig: Path,
) -> None:
    # The same per-namespace binding as the credentials: without it the value Secrets (read
    # first) are refused, the resource stalls untouched; bound, it resumes by itself.
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    for name, data in value_secrets().items():
        renewals.create_secret(data, name)
    renewals.create("from-secrets", values_spec(case.bundle_sid))
    start_as_service_account(operator_factory, service_account_kubeconfig)

    stalled = renewals.wait_for(
        "from-secrets",
        lambda s: any(
            c["type"] == "Stalled" and c["status"] == "True" and c["reason"] == "ValueSecretMissing"
            for c in s.get("conditions") or []
        ),
        "Stalled on its value Secrets",
    )
    assert "HTTP 403" in stalled["message"]
    assert "may not read Secret acme-end-user" in stalled["message"]
    assert sum(requests_by_route(sim, case.account.sid).values()) == 0

    bind_credentials_reader(renewals)
    renewals.wait_for_phase("from-secrets", "Completed", timeout=90)
    assert_renewed(sim, case)


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
