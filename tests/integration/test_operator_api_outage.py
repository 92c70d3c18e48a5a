"""The operator across API-server outages: it serves BundleRenewals once the API server is back,
whatever the timing, and its liveness probe fails while it does not.

The defect (issue 11): an operator started while the API server was coming back got a first
discovery answer without `twilio-compliance.io`; Kopf logged "Unresolved resources cannot be
served", never watched the kind, and its liveness probe answered 200 forever. The moment a real
kube-apiserver answers discovery cold is too short to hit on cue, so a TLS proxy in front of the
session's API server (apiserver_proxy.py) stages it. Restarts are real: the session's own etcd
and kube-apiserver are stopped and started again (same data, same ports).

The first and third tests fail on the code before the fix (the renewal never starts; the probe
answers 200); the second, a restart under a running operator, passed before too and guards it.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.core.models import API_GROUP
from devtools.controlplane import LocalControlPlane
from devtools.operator_runner import OperatorProcess
from tests.integration.apiserver_proxy import ApiServerProxy
from tests.integration.operator_fixtures import KubeCluster, OperatorFactory, Renewals
from tests.integration.scenario import assert_renewed, renewal_spec, seed_due_bundle
from tests.measurements import report
from tests.sim_fixtures import Sim

pytestmark = pytest.mark.integration

UNRESOLVED = "Unresolved resources cannot be served"


@pytest.fixture
def plane(kube: KubeCluster) -> LocalControlPlane:
    if kube.plane is None:
        pytest.skip("restarts the API server: needs the session's own control plane")
    plane: LocalControlPlane = kube.plane
    return plane


@pytest.fixture
def proxy(plane: LocalControlPlane) -> Iterator[ApiServerProxy]:
    endpoints = plane.endpoints
    proxy = ApiServerProxy(
        endpoints.server, endpoints.ca_cert_path.parent, endpoints.ca_cert_path
    ).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def proxied_kubeconfig(kube: KubeCluster, proxy: ApiServerProxy, tmp_path: Path) -> Path:
    return proxy.kubeconfig(kube.kubeconfig_path, tmp_path / "proxied.kubeconfig")


def liveness(operator: OperatorProcess) -> int | None:
    """The HTTP status of the operator's liveness endpoint (None: nothing answers)."""
    url = f"http://127.0.0.1:{operator.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_until(what: str, condition: object, timeout: float) -> float:
    """Poll `condition()` until true; returns the seconds it took."""
    assert callable(condition)
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not {what} within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started


def test_started_while_the_api_server_is_down_it_serves_once_the_api_server_is_back(
    plane: LocalControlPlane,
    proxy: ApiServerProxy,
    proxied_kubeconfig: Path,
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
) -> None:
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("after-outage", renewal_spec(case.bundle_sid))
    operator = operator_factory(KUBECONFIG=str(proxied_kubeconfig))
    proxy.hidden = {API_GROUP}
    proxy.cold = proxy.cold_versions = True
    plane.stop_servers()
    try:
        operator.start(wait=False)
        time.sleep(3)  # the operator is up and finds no API server
        assert operator.running
    finally:
        plane.start_servers()
    back = time.monotonic()
    # The API server answers discovery cold until someone has asked (Kopf, or the start-up gate).
    wait_until("asked for discovery", lambda: proxy.cold_answers, timeout=60)
    time.sleep(1)
    proxy.cold = False

    operator.wait_ready(timeout=60)
    renewals.wait_for_phase("after-outage", "Completed", timeout=60)
    report(
        "API server back -> renewal Completed (started during the outage)",
        f"{time.monotonic() - back:.1f} s",
    )
    assert_renewed(sim, case)
    output = operator.output()
    assert UNRESOLVED not in output
    assert "waiting for the API server before watching" in output
    assert liveness(operator) == 200
    assert operator.starts == 1


def test_api_server_and_etcd_restarted_under_a_running_operator_it_carries_on(
    plane: LocalControlPlane,
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
) -> None:
    sim.set_config(review={"mode": "manual"})
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    operator = operator_factory()
    operator.start()
    renewals.create("across-restart", renewal_spec(case.bundle_sid))
    status = renewals.wait_for_phase("across-restart", "InReview", timeout=60)

    seconds = plane.restart(down_seconds=3)
    report("etcd + kube-apiserver restart, start to ready", f"{seconds:.1f} s")
    back = time.monotonic()
    sim.review(status["copySid"], "approve")
    renewals.wait_for_phase("across-restart", "Completed", timeout=90)
    report(
        "API server back -> renewal Completed (operator kept running)",
        f"{time.monotonic() - back:.1f} s",
    )
    assert_renewed(sim, case)
    assert liveness(operator) == 200
    assert operator.starts == 1
    assert UNRESOLVED not in operator.output()


def test_liveness_fails_while_the_kind_is_not_watched_and_a_restart_serves_it(
    proxy: ApiServerProxy,
    proxied_kubeconfig: Path,
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
) -> None:
    # A cold member behind the load balancer answers Kopf's group list (GET /apis); the start-up
    # gate, which reads the group's own discovery document, got a warm one: the API server went
    # away and came back between the gate and Kopf's scan.
    proxy.hidden = {API_GROUP}
    proxy.cold = True
    operator = operator_factory(KUBECONFIG=str(proxied_kubeconfig))
    operator.start(wait=False)
    wait_until("scanned by Kopf", lambda: proxy.cold_answers, timeout=60)
    proxy.cold = False  # warm again: Kopf does not scan again on its own

    wait_until("answering", lambda: liveness(operator) is not None, timeout=30)
    assert wait_until("failing", lambda: liveness(operator) == 500, timeout=15) < 15
    time.sleep(12)  # longer than Kopf caches a probe result: still failing, not recovered
    assert liveness(operator) == 500
    output = operator.output()
    assert UNRESOLVED in output
    assert "Kopf does not watch bundlerenewals.twilio-compliance.io/v1alpha1" in output

    # What the kubelet does on a failing liveness probe: restart the container.
    operator.stop()
    operator.start()
    assert liveness(operator) == 200
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("after-restart", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("after-restart", "Completed", timeout=60)
    assert_renewed(sim, case)
