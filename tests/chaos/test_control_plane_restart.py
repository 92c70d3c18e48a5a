"""The control plane's restart helper, which the chaos run relies on: after
``LocalControlPlane.restart()`` both servers are new processes on the same ports, the same
kubeconfig (token, CA) still works, and what was stored before is still there, while during the
outage the API server refuses connections, as clients of a real outage see it."""

from __future__ import annotations

import threading

import pytest
from controlplane import LocalControlPlane
from controlplane.cluster import port_is_listening
from controlplane.testing import KubeCluster
from kubernetes import client

from tests.measurements import report


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_restart_keeps_endpoints_and_data_and_is_an_outage(
    chaos_plane: LocalControlPlane, chaos_kube: KubeCluster, hard: bool
) -> None:
    namespace = f"before-restart-{'hard' if hard else 'soft'}"
    with chaos_kube.api_client() as api:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
        )
    pids, ports = chaos_plane.pids, list(chaos_plane.ports)
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
        outage = chaos_plane.restart(down_seconds=0.5, hard=hard)
    finally:
        stop.set()
        watcher.join()

    assert any(down), "the API server never stopped listening"
    assert port_is_listening(apiserver_port)
    assert chaos_plane.ports == ports
    assert set(chaos_plane.pids) == {"etcd", "kube-apiserver"}
    assert all(chaos_plane.pids[name] != pid for name, pid in pids.items())
    with chaos_kube.api_client() as api:
        names = [
            n.metadata and n.metadata.name for n in client.CoreV1Api(api).list_namespace().items
        ]
    assert namespace in names
    how = "SIGKILL" if hard else "SIGTERM"
    report(f"chaos: control plane restart ({how}, 0.5 s down, start to ready)", f"{outage:.2f} s")
