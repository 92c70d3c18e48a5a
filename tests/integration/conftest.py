"""A real Kubernetes API server for the integration tests, shared by the whole session.

By default the session starts its own control plane (etcd + kube-apiserver 1.20 on free loopback
ports, see ``devtools/controlplane``), building kube-apiserver first if it is not cached yet
(`make envtest` does the same ahead of time). To run the same tests against another cluster,
e.g. kind, name it explicitly: ``pytest --kubeconfig=...`` or ``BRO_TEST_KUBECONFIG=...``. The
ambient KUBECONFIG is ignored on purpose: the tests create and delete namespaces, CRDs and
cluster roles, and must not land on whatever cluster a developer's shell points at.

Fixture API, for every integration test:

``kube`` (session) -> :class:`controlplane.testing.KubeCluster`
    ``.kubeconfig_path`` (Path), ``.server`` (URL), ``.admin_token`` (str, or None for an
    external cluster; a secret, never log it), ``.local`` (bool: our own control plane),
    ``.startup_seconds`` (float | None), ``.api_client(as_user=None)`` (a new
    ``kubernetes.client.ApiClient``; close it, or use it in a ``with``), ``.kubectl(*args)``
    (runs a kubectl that works with the server, raises on failure), ``.env()`` (``os.environ``
    plus ``KUBECONFIG``, for subprocesses such as the operator).

``kube_api`` (session) -> ``kubernetes.client.ApiClient``
    One shared admin client.

``namespace`` (function) -> str
    A fresh namespace named after the test, deleted afterwards. Without kube-controller-manager
    the local control plane never finishes deleting namespaces (they stay ``Terminating``),
    which is harmless: the whole data directory goes away with the session.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator

import pytest
from kubernetes import client

from devtools.controlplane import LocalControlPlane
from devtools.controlplane.testing import KubeCluster, external_kubeconfig, server_of
from tests.measurements import report


@pytest.fixture(scope="session")
def kube(pytestconfig: pytest.Config) -> Iterator[KubeCluster]:
    """The session's cluster: a local control plane unless one is named (module docstring)."""
    external = external_kubeconfig(pytestconfig.getoption("--kubeconfig"), os.environ)
    if external is not None:
        if not external.is_file():
            pytest.fail(f"kubeconfig {external} does not exist")
        yield KubeCluster(
            kubeconfig_path=external, server=server_of(external), admin_token=None, local=False
        )
        return
    # Builds kube-apiserver first when it is not cached (about 3-10 minutes, once).
    with LocalControlPlane() as plane:
        endpoints = plane.endpoints
        assert plane.startup_seconds is not None
        report(
            "local control plane start-to-ready (session fixture)", f"{plane.startup_seconds:.2f} s"
        )
        yield KubeCluster(
            kubeconfig_path=endpoints.kubeconfig_path,
            server=endpoints.server,
            admin_token=endpoints.admin_token,
            local=True,
            startup_seconds=plane.startup_seconds,
            plane=plane,
        )


@pytest.fixture(scope="session")
def kube_api(kube: KubeCluster) -> Iterator[client.ApiClient]:
    """One admin ApiClient shared by the session."""
    with kube.api_client() as api:
        yield api


def _namespace_name(test_name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{slug}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(kube_api: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted (without waiting) after it."""
    core = client.CoreV1Api(kube_api)
    name = _namespace_name(request.node.name)
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(
                name=name, labels={"bundle-renewal-operator.test/namespace": "true"}
            )
        )
    )
    yield name
    try:
        core.delete_namespace(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
