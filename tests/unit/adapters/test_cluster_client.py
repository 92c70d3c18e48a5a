"""ClusterClient's Secret/ConfigMap reads and status patches when the API server gives no answer
at all: a ClusterAccessError without a status (retried as transient; the webhook answers 503),
never an unexpected exception."""

from __future__ import annotations

import socket

import kubernetes.client
import pytest

from controller.adapters.cluster import ClusterAccessError, ClusterClient
from controller.core.plan import ErrorKind
from controller.engine.actions import cluster_error_kind


def unreachable_api_server() -> kubernetes.client.Configuration:
    """A configuration naming a loopback port nobody listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configuration = kubernetes.client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    return configuration


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
async def test_a_connection_error_becomes_a_cluster_access_error_without_status(
    kind: str,
) -> None:
    cluster = ClusterClient(unreachable_api_server())
    read = cluster.read_secret if kind == "Secret" else cluster.read_config_map
    try:
        with pytest.raises(ClusterAccessError) as raised:
            await read("telecom", "twilio-credentials")
    finally:
        cluster.close()
    assert raised.value.status is None
    assert str(raised.value).startswith(f"reading {kind} telecom/twilio-credentials: no answer")
    assert raised.value.__cause__ is None  # `from None`: no request details in tracebacks
    assert raised.value.__suppress_context__
    assert cluster_error_kind(raised.value) is ErrorKind.TRANSIENT


async def test_a_status_patch_without_an_api_server_says_so_in_one_line() -> None:
    cluster = ClusterClient(unreachable_api_server())
    try:
        with pytest.raises(ClusterAccessError) as raised:
            await cluster.patch_status("telecom", "acme", {"phase": "InReview"})
    finally:
        cluster.close()
    assert raised.value.status is None
    assert str(raised.value) == (
        "patching status of telecom/acme: no answer from the API server MaxRetryError"
    )
    assert raised.value.__suppress_context__
