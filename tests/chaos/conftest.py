"""Fixtures of the chaos suite: a control plane of its own, and a simulator of its own.

The suite restarts the API server on purpose, so it never shares the integration tests' control
plane (nor runs against a cluster named with ``--kubeconfig``: an external API server cannot be
restarted from here); each module starts its own (about 4 s). The simulator is a fresh one too,
so fault settings and request counts belong to the chaos run alone.

``chaos_plane`` (module) -> :class:`controlplane.LocalControlPlane`, started (``.restart()``).
``chaos_kube`` (module) -> :class:`controlplane.testing.KubeCluster` for it, the CRD applied.
``chaos_sim`` (function) -> :class:`tests.sim_fixtures.Sim` on a simulator of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.core.models import API_GROUP, PLURAL
from devtools.controlplane import LocalControlPlane
from devtools.controlplane.testing import KubeCluster
from tests.integration.operator_fixtures import CRD_PATH
from tests.measurements import report
from tests.sim_fixtures import Sim
from twilio_sim.server import SimServer


@pytest.fixture(scope="module")
def chaos_plane() -> Iterator[LocalControlPlane]:
    with LocalControlPlane() as plane:
        assert plane.startup_seconds is not None
        report("chaos: local control plane start-to-ready", f"{plane.startup_seconds:.2f} s")
        yield plane


@pytest.fixture(scope="module")
def chaos_kube(chaos_plane: LocalControlPlane) -> KubeCluster:
    endpoints = chaos_plane.endpoints
    kube = KubeCluster(
        kubeconfig_path=endpoints.kubeconfig_path,
        server=endpoints.server,
        admin_token=endpoints.admin_token,
        local=True,
        startup_seconds=chaos_plane.startup_seconds,
    )
    kube.kubectl("apply", "-f", str(CRD_PATH))
    kube.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", f"crd/{PLURAL}.{API_GROUP}"
    )
    return kube


@pytest.fixture
def chaos_sim() -> Iterator[Sim]:
    server = SimServer().start()
    try:
        yield Sim(server)
    finally:
        server.stop()
