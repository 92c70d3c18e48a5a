"""The control plane's hard restart, which the chaos run uses: ``restart(hard=True)`` SIGKILLs
etcd and kube-apiserver (a crash, not the graceful stop tests/integration/test_control_plane.py
covers, which kube-apiserver 1.20 makes last 15 s while a client watches) and starts both again:
new processes on the same ports, the same kubeconfig works, what was stored is still there, and
during the outage the API server's port is closed, as clients of a real outage see it."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client

from devtools.controlplane import LocalControlPlane
from devtools.controlplane.processes import port_is_listening
from devtools.controlplane.testing import KubeCluster
from tests.measurements import report

pytestmark = pytest.mark.integration  # a control plane of its own (conftest.py)


def test_a_hard_restart_keeps_endpoints_and_data_and_is_an_outage(
    chaos_plane: LocalControlPlane, chaos_kube: KubeCluster
) -> None:
    with chaos_kube.api_client() as api:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name="before-restart"))
        )
    pids, ports, endpoints = chaos_plane.pids, list(chaos_plane.ports), chaos_plane.endpoints
    apiserver_port = ports[2]
    down: list[bool] = []
    stop = threading.Event()

    def watch() -> None:  # sees the API server's port closed at least once
        while not stop.is_set():
            down.append(not port_is_listening(apiserver_port))
            stop.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        seconds = chaos_plane.restart(down_seconds=0.5, hard=True)
    finally:
        stop.set()
        watcher.join()

    assert any(down), "the API server never stopped listening"
    assert port_is_listening(apiserver_port)
    assert (chaos_plane.ports, chaos_plane.endpoints) == (ports, endpoints)
    assert set(chaos_plane.pids) == {"etcd", "kube-apiserver"}
    assert all(chaos_plane.pids[name] != pid for name, pid in pids.items())
    with chaos_kube.api_client() as api:
        namespaces = client.CoreV1Api(api).list_namespace().items
    assert "before-restart" in [n.metadata and n.metadata.name for n in namespaces]
    report("chaos: control plane SIGKILLed, 0.5 s down, start to ready", f"{seconds:.2f} s")
