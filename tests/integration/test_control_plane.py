"""The API-server behaviours an operator depends on, checked against a real server.

The first group runs against whatever cluster the ``kube`` fixture provides (the local control
plane, or kind via --kubeconfig) with a small test CRD of its own (``Widget``), not the product's:
CRD schema validation, the status subresource, merge and JSON patches with a resourceVersion
precondition, optimistic-concurrency conflicts, watches, finalizers and RBAC. The last group
starts a second local control plane to check its own contract: the reported version, start-to-
ready time (printed, not asserted), a restart that keeps its data and endpoints, and a
teardown that leaves no process, port or directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch

from devtools.controlplane import LocalControlPlane
from devtools.controlplane.kubectl import provisioned_kubectl
from devtools.controlplane.processes import pid_is_running, port_is_listening
from devtools.controlplane.testing import KubeCluster
from tests.measurements import report

pytestmark = pytest.mark.integration

GROUP = "controlplane-test.bundle-renewal-operator.example.com"
VERSION = "v1"
PLURAL = "widgets"
CRD_NAME = f"{PLURAL}.{GROUP}"
FINALIZER = f"{GROUP}/hold"
REPO_ROOT = Path(__file__).resolve().parents[2]
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                    "color": {"type": "string", "enum": ["red", "green", "blue"]},
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "observedGeneration": {"type": "integer"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


def _widget(name: str, *, size: Any = 3, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": size, **spec},
    }


def _api_error(exc: pytest.ExceptionInfo[client.ApiException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.value.body)
    return body


@pytest.fixture(scope="module")
def widget_crd(kube_api: client.ApiClient) -> Iterator[None]:
    """The Widget CRD, applied (create or replace) and established; deleted after the module."""
    ext = client.ApiextensionsV1Api(kube_api)
    try:
        ext.create_custom_resource_definition(WIDGET_CRD)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        current = ext.read_custom_resource_definition(CRD_NAME)
        body = {
            **WIDGET_CRD,
            "metadata": {
                **WIDGET_CRD["metadata"],
                "resourceVersion": current.metadata.resource_version,
            },
        }
        ext.replace_custom_resource_definition(CRD_NAME, body)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conditions = ext.read_custom_resource_definition(CRD_NAME).status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"CRD {CRD_NAME} was not established within 30 s")
    yield
    ext.delete_custom_resource_definition(CRD_NAME)


@pytest.fixture
def widgets(kube_api: client.ApiClient, widget_crd: None) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube_api)


def test_crd_is_served_after_apply(widgets: client.CustomObjectsApi) -> None:
    discovery = client.ApisApi(widgets.api_client).get_api_versions()
    group = next(g for g in discovery.groups if g.name == GROUP)
    assert [v.version for v in group.versions] == [VERSION]


def test_create_merge_patch_and_json_patch_with_resource_version_test(
    widgets: client.CustomObjectsApi, namespace: str
) -> None:
    created = widgets.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _widget("w1", color="red")
    )
    assert created["metadata"]["generation"] == 1

    merged = widgets.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "w1",
        {"spec": {"color": "green"}},
        _content_type=MERGE_PATCH,
    )
    assert merged["spec"] == {"size": 3, "color": "green"}
    assert merged["metadata"]["generation"] == 2

    rv = merged["metadata"]["resourceVersion"]
    guarded = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/size", "value": 7},
    ]
    patched = widgets.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "w1", guarded, _content_type=JSON_PATCH
    )
    assert patched["spec"]["size"] == 7
    assert patched["metadata"]["resourceVersion"] != rv

    # The same patch again: its resourceVersion test now fails and nothing changes.
    with pytest.raises(client.ApiException) as stale:
        widgets.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            "w1",
            [guarded[0], {"op": "replace", "path": "/spec/size", "value": 9}],
            _content_type=JSON_PATCH,
        )
    assert stale.value.status == 422, stale.value.body
    current = widgets.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w1")
    assert current["spec"]["size"] == 7


def test_update_with_stale_resource_version_conflicts(
    widgets: client.CustomObjectsApi, namespace: str
) -> None:
    first = widgets.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _widget("w2")
    )
    widgets.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "w2", {"spec": {"size": 4}}, _content_type=MERGE_PATCH
    )
    stale = {**first, "spec": {"size": 5}}  # still carries the first resourceVersion
    with pytest.raises(client.ApiException) as conflict:
        widgets.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w2", stale)
    assert conflict.value.status == 409
    assert _api_error(conflict)["reason"] == "Conflict"


def test_status_subresource_is_separate_from_spec(
    widgets: client.CustomObjectsApi, namespace: str
) -> None:
    widgets.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("w3"))

    with_status = widgets.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "w3",
        {"status": {"phase": "Ready", "observedGeneration": 1}, "spec": {"size": 9}},
        _content_type=MERGE_PATCH,
    )
    assert with_status["status"] == {"phase": "Ready", "observedGeneration": 1}
    assert with_status["spec"]["size"] == 3  # the status endpoint ignores spec changes
    assert with_status["metadata"]["generation"] == 1  # status writes do not bump generation

    main = widgets.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "w3",
        {"spec": {"size": 4}, "status": {"phase": "Hacked"}},
        _content_type=MERGE_PATCH,
    )
    assert main["status"]["phase"] == "Ready"  # the main endpoint ignores status changes
    assert main["spec"]["size"] == 4
    assert main["metadata"]["generation"] == 2


def test_watch_reports_added_modified_deleted_in_order(
    widgets: client.CustomObjectsApi, namespace: str
) -> None:
    listed = widgets.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    since = listed["metadata"]["resourceVersion"]

    widgets.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("w4"))
    widgets.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "w4", {"spec": {"size": 5}}, _content_type=MERGE_PATCH
    )
    widgets.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w4")

    seen: list[tuple[str, int]] = []
    stream = watch.Watch()
    for event in stream.stream(
        widgets.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        resource_version=since,
        timeout_seconds=10,
    ):
        seen.append((event["type"], event["object"]["spec"]["size"]))
        if event["type"] == "DELETED":
            stream.stop()
    assert seen == [("ADDED", 3), ("MODIFIED", 5), ("DELETED", 5)]


def test_finalizer_holds_deletion_until_removed(
    widgets: client.CustomObjectsApi, namespace: str
) -> None:
    body = _widget("w5")
    body["metadata"]["finalizers"] = [FINALIZER]
    widgets.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    widgets.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w5")
    held = widgets.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w5")
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == [FINALIZER]

    # Still there a moment later: only removing the finalizer lets the deletion finish.
    time.sleep(1)
    widgets.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w5")

    widgets.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "w5",
        [
            {"op": "test", "path": "/metadata/finalizers", "value": [FINALIZER]},
            {"op": "remove", "path": "/metadata/finalizers"},
        ],
        _content_type=JSON_PATCH,
    )
    with pytest.raises(client.ApiException) as gone:
        widgets.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w5")
    assert gone.value.status == 404


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"size": 0}, "spec.size"),  # below minimum
        ({"size": 11}, "spec.size"),  # above maximum
        ({"size": "three"}, "spec.size"),  # wrong type
        ({"size": 2, "color": "purple"}, "spec.color"),  # not in the enum
        ({"color": "red"}, "spec.size"),  # required field missing
    ],
)
def test_schema_violations_are_rejected(
    widgets: client.CustomObjectsApi, namespace: str, spec: dict[str, Any], field: str
) -> None:
    body = _widget("bad")
    body["spec"] = spec
    with pytest.raises(client.ApiException) as rejected:
        widgets.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert rejected.value.status == 422
    error = _api_error(rejected)
    assert error["reason"] == "Invalid"
    assert field in [cause["field"] for cause in error["details"]["causes"]]
    listed = widgets.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    assert listed["items"] == []


def test_unknown_fields_are_pruned(widgets: client.CustomObjectsApi, namespace: str) -> None:
    created = widgets.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _widget("w6", shape="round")
    )
    assert created["spec"] == {"size": 3}


def test_rbac_denies_a_service_account_until_a_role_grants_access(
    kube: KubeCluster, kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="reader"))
    )
    user = f"system:serviceaccount:{namespace}:reader"
    with kube.api_client(as_user=user) as as_reader:
        reader_core = client.CoreV1Api(as_reader)
        with pytest.raises(client.ApiException) as denied:
            reader_core.list_namespaced_config_map(namespace)
        assert denied.value.status == 403

        rbac = client.RbacAuthorizationV1Api(kube_api)
        rbac.create_namespaced_role(
            namespace,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "configmap-reader"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}],
            },
        )
        rbac.create_namespaced_role_binding(
            namespace,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "reader"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "configmap-reader",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
            },
        )
        reader_core.list_namespaced_config_map(namespace)  # allowed now
        with pytest.raises(client.ApiException) as still_denied:
            reader_core.list_namespaced_secret(namespace)
        assert still_denied.value.status == 403


def test_service_account_token_request_authenticates(
    kube: KubeCluster, kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="robot"))
    )
    issued = core.create_namespaced_service_account_token(
        "robot",
        namespace,
        client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[])),
    )
    token = issued.status.token
    review = client.AuthenticationV1Api(kube_api).create_token_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    )
    assert review.status.authenticated is True
    assert review.status.user.username == f"system:serviceaccount:{namespace}:robot"


def test_kubectl_works_against_the_cluster(
    kube: KubeCluster, namespace: str, widget_crd: None
) -> None:
    manifest = json.dumps(_widget("from-kubectl", color="blue"))
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)
    got = json.loads(kube.kubectl("get", "-n", namespace, f"{PLURAL}.{GROUP}", "-o", "json").stdout)
    assert [(i["metadata"]["name"], i["spec"]["color"]) for i in got["items"]] == [
        ("from-kubectl", "blue")
    ]
    rejected = kube.kubectl(
        "apply", "-n", namespace, "-f", "-", input=json.dumps(_widget("bad", size=0)), check=False
    )
    assert rejected.returncode != 0
    assert "spec.size" in rejected.stderr


def test_debian_s_kubectl_of_the_server_s_version_is_provisioned_and_preferred(
    kube: KubeCluster,
) -> None:
    """`make envtest` caches Debian's kubectl 1.20.2, so a fresh machine has a kubectl with no
    version skew; the fixtures use it for the local server."""
    debian_client = provisioned_kubectl()
    assert debian_client is not None, "run `make envtest`: it extracts Debian's kubectl"
    result = subprocess.run(
        [str(debian_client), f"--kubeconfig={kube.kubeconfig_path}", "version", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    versions = json.loads(result.stdout)
    assert versions["clientVersion"]["gitVersion"] == "v1.20.2"
    if kube.local:
        assert versions["serverVersion"]["gitVersion"] == "v1.20.2"
        assert kube.kubectl_argv == [str(debian_client)]


# --- the local control plane's own contract -------------------------------------------------


def test_local_control_plane_starts_with_the_real_version_and_stops_cleanly(
    record_property: Any,
) -> None:
    plane = LocalControlPlane()
    endpoints = plane.start()
    try:
        seconds = plane.startup_seconds
        assert seconds is not None
        report("local control plane start-to-ready (lifecycle test)", f"{seconds:.2f} s")
        record_property("startup_seconds", seconds)
        root, pids, ports = plane.root_dir, dict(plane.pids), list(plane.ports)
        assert all(pid_is_running(pid) for pid in pids.values())
        assert all(port_is_listening(port) for port in ports)
        with config.new_client_from_config(config_file=str(endpoints.kubeconfig_path)) as api:
            version = client.VersionApi(api).get_code()
        assert (version.git_version, version.major, version.minor) == ("v1.20.2", "1", "20")
    finally:
        plane.stop()

    assert not any(pid_is_running(pid) for pid in pids.values())
    assert not any(port_is_listening(port) for port in ports)
    assert not Path(root).exists()


def test_a_restarted_control_plane_keeps_its_data_and_endpoints() -> None:
    """What the outage tests rely on: stop etcd and kube-apiserver, start them again, and the
    same server URL and kubeconfig reach the same objects (new processes, same data)."""
    plane = LocalControlPlane()
    endpoints = plane.start()
    try:
        with config.new_client_from_config(config_file=str(endpoints.kubeconfig_path)) as api:
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name="survivor"))
            )
        before = dict(plane.pids)
        plane.stop_servers()
        assert not any(pid_is_running(pid) for pid in before.values())
        assert not port_is_listening(plane.ports[2])
        seconds = plane.start_servers()
        report(
            "etcd + kube-apiserver start to ready, data kept (lifecycle test)", f"{seconds:.2f} s"
        )
        assert plane.endpoints == endpoints
        assert set(plane.pids.values()).isdisjoint(before.values())
        with config.new_client_from_config(config_file=str(endpoints.kubeconfig_path)) as api:
            names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
        assert "survivor" in names
        assert plane.restart(etcd=False) > 0  # kube-apiserver alone
        assert plane.pids["etcd"] != before["etcd"]
    finally:
        plane.stop()


def _controlplane_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "devtools.controlplane", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cluster_up_and_down_commands_leave_nothing_behind(tmp_path: Path) -> None:
    """The path `make cluster-up` / `make cluster-down` take, in a private state directory."""
    state_dir = tmp_path / "controlplane"
    up = _controlplane_cli("up", "--dir", str(state_dir))
    assert up.returncode == 0, up.stderr
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    state = json.loads((state_dir / "state.json").read_text())
    pids, ports = [state["etcd_pid"], state["apiserver_pid"]], state["ports"]
    try:
        assert kubeconfig == state_dir / "kubeconfig"
        assert all(pid_is_running(pid) for pid in pids)
        with config.new_client_from_config(config_file=str(kubeconfig)) as api:
            assert client.VersionApi(api).get_code().git_version == "v1.20.2"
        again = _controlplane_cli("up", "--dir", str(state_dir))
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().splitlines()[-1] == str(kubeconfig)
        assert json.loads((state_dir / "state.json").read_text())["apiserver_pid"] == pids[1]
    finally:
        down = _controlplane_cli("down", "--dir", str(state_dir))
    assert down.returncode == 0, down.stderr
    assert not any(pid_is_running(pid) for pid in pids)
    assert not any(port_is_listening(port) for port in ports)
    assert not state_dir.exists()
    assert _controlplane_cli("status", "--dir", str(state_dir)).returncode == 1


def test_servers_die_with_a_killed_parent(tmp_path: Path) -> None:
    """Even a test run killed with SIGKILL (no teardown) leaves no server process behind.

    etcd is frozen (SIGSTOP) first, the worst case of a server that cannot shut down gracefully
    (on a loaded machine kube-apiserver's graceful shutdown waits 20-35 s on the etcd that died
    with it): the parent-death signal must end them regardless.
    """
    root = tmp_path / "controlplane"
    starter = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from devtools.controlplane import LocalControlPlane\n"
        "plane = LocalControlPlane(Path(sys.argv[1]))\n"
        "plane.start()\n"
        "print(json.dumps(plane.pids), flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", starter, str(root)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    pids: dict[str, int] = {}
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        assert sorted(pids) == ["etcd", "kube-apiserver"]
        assert all(pid_is_running(pid) for pid in pids.values())
        os.kill(pids["etcd"], signal.SIGSTOP)
    finally:
        parent.kill()
        parent.communicate(timeout=10)
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline and any(pid_is_running(p) for p in pids.values()):
            time.sleep(0.1)
        assert not [name for name, pid in pids.items() if pid_is_running(pid)]
    finally:
        for pid in pids.values():
            if pid_is_running(pid):
                os.kill(pid, signal.SIGKILL)
