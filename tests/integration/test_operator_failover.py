"""Two replicas, one working: SIGKILL the working operator mid-renewal, the standby finishes it.

Two operator processes peer through a KopfPeering in the test's namespace (PEERING_NAME, as the
Deployment's two replicas do through a ClusterKopfPeering; the operator creates the object),
each with its own POD_NAME as the Deployment sets it, and the shortest lifetime the settings
allow (10 s) to keep the test short. The first one started has the higher priority and works;
the second waits paused and writes nothing to Twilio. The working one is killed right after the
renewal's second Twilio write (copy created, end-user updated; the simulator answers after
200 ms, as in test_operator_crash.py). Invariants: one copy ever created, one submission, one
ReplaceItems, the original renewed; the fail-over time is measured from the kill to the
standby's first Twilio call.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import (
    assert_renewed,
    copies_created,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
    successful_writes,
)
from tests.measurements import report
from tests.sim_fixtures import Sim

pytestmark = pytest.mark.integration

PEERING = "bundle-renewal-operator"
LIFETIME = 10
LATENCY_MS = 200
KILL_AFTER_WRITES = 2  # copy bundle, update end-user
SUBMIT = "POST /v2/RegulatoryCompliance/Bundles/{Sid}"
REPLACE = "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/ReplaceItems"
RESUMED = "Resuming operations after the pause"


def peers(renewals: Renewals) -> dict[str, Any]:
    """The KopfPeering's status: one keep-alive entry per live replica, by identity."""
    try:
        peering = renewals.custom.get_namespaced_custom_object(
            "kopf.dev", "v1", renewals.namespace, "kopfpeerings", PEERING
        )
    except client.ApiException as exc:
        if exc.status == 404:
            return {}
        raise
    return dict(peering.get("status") or {})


def twilio_calls(output: str) -> list[str]:
    """The operator's log lines for its Twilio writes ("[ns/name] Twilio: copy bundle ...")."""
    return re.findall(r"\] Twilio: ([a-z]+(?: [a-z-]+)*)", output)


def since_last_start(operator: OperatorProcess) -> str:
    return operator.output().rsplit("=== operator start #", 1)[-1]


def wait_for(what: str, condition: Any, timeout: float, step: float = 0.05) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not {what} within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


def start_pair(
    operator_factory: OperatorFactory, renewals: Renewals, tmp_path: Path
) -> tuple[OperatorProcess, OperatorProcess]:
    """The two replicas, started one after the other; the first works, the second waits."""
    env = {"PEERING_NAME": PEERING, "PEERING_LIFETIME_SECONDS": str(LIFETIME)}
    first = operator_factory(log_path=tmp_path / "first.log", POD_NAME="replica-a", **env)
    first.start()
    wait_for("working", lambda: RESUMED in first.output(), timeout=30)
    second = operator_factory(log_path=tmp_path / "second.log", POD_NAME="replica-b", **env)
    second.start()
    wait_for("peering", lambda: set(peers(renewals)) == {"replica-a", "replica-b"}, timeout=30)
    entries = peers(renewals)
    assert entries["replica-a"]["priority"] > entries["replica-b"]["priority"]
    assert entries["replica-a"]["lifetime"] == LIFETIME
    return first, second


def kill_mid_renewal(sim: Sim, account_sid: str, working: OperatorProcess) -> float:
    """SIGKILL `working` once the renewal's second write was answered; the moment of the kill."""
    wait_for(
        "written to Twilio",
        lambda: successful_writes(sim, account_sid) >= KILL_AFTER_WRITES,
        timeout=60,
        step=0.005,
    )
    working.kill()
    killed = time.monotonic()
    assert successful_writes(sim, account_sid) == KILL_AFTER_WRITES, "the kill came late"
    return killed


def renew_and_kill_the_worker(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, tmp_path: Path
) -> tuple[Any, OperatorProcess, OperatorProcess, float]:
    """A due bundle, two replicas, a renewal; the working replica SIGKILLed mid-renewal: the
    case, the first (killed) and second replicas, and when the kill came (monotonic)."""
    sim.set_config(latency={"distribution": "constant", "mean_ms": LATENCY_MS})
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    first, second = start_pair(operator_factory, renewals, tmp_path)
    renewals.create("failover", renewal_spec(case.bundle_sid))
    return case, first, second, kill_mid_renewal(sim, case.account.sid, first)


def assert_renewed_once(sim: Sim, case: Any) -> None:
    assert_renewed(sim, case)
    assert copies_created(sim, case.account.sid) == 1
    calls = requests_by_route(sim, case.account.sid)
    assert calls[SUBMIT] == 1, calls
    assert calls[REPLACE] == 1, calls


@pytest.mark.usefixtures("peering_crds")
def test_the_standby_finishes_the_renewal_within_the_lifetime_when_the_worker_is_killed(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, tmp_path: Path
) -> None:
    case, first, second, killed = renew_and_kill_the_worker(
        sim, renewals, operator_factory, tmp_path
    )
    # Its two writes answered; a third may have been logged and sent, unanswered, at the kill.
    written = twilio_calls(first.output())
    assert written[:2] == ["copy bundle", "update end-user"]
    assert len(written) <= 3, written
    assert twilio_calls(second.output()) == []  # the standby did nothing while the first lived

    # The pod is gone for good (e.g. its node): the standby resumes when the keep-alive expires.
    wait_for("resumed", lambda: RESUMED in second.output(), timeout=LIFETIME + 10)
    resumed = time.monotonic() - killed
    wait_for("working", lambda: twilio_calls(second.output()), timeout=10)
    took_over = time.monotonic() - killed
    renewals.wait_for_phase("failover", "Completed", timeout=60)
    report(
        f"fail-over (lifetime {LIFETIME} s): SIGKILL -> standby's first Twilio write",
        f"{took_over:.1f} s (resumed after {resumed:.1f} s)",
    )
    assert took_over <= LIFETIME + 5
    assert_renewed_once(sim, case)
    assert "submit" in twilio_calls(second.output())
    assert set(peers(renewals)) == {"replica-b"}  # the dead replica's entry was cleaned up


@pytest.mark.usefixtures("peering_crds")
def test_a_restarted_worker_hands_over_at_once_and_does_not_preempt_the_standby(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, tmp_path: Path
) -> None:
    case, first, second, killed = renew_and_kill_the_worker(
        sim, renewals, operator_factory, tmp_path
    )
    # The kubelet restarts the container in its pod: same POD_NAME, a later start.
    first.start()
    wait_for("working", lambda: twilio_calls(second.output()), timeout=LIFETIME)
    took_over = time.monotonic() - killed
    renewals.wait_for_phase("failover", "Completed", timeout=60)
    report(
        "fail-over, killed container restarted in its pod: SIGKILL -> standby's first write",
        f"{took_over:.1f} s",
    )
    assert took_over < LIFETIME  # no waiting for the old keep-alive to expire
    assert_renewed_once(sim, case)
    # The restarted replica is the younger one now: it waits, and wrote nothing.
    entries = peers(renewals)
    assert entries["replica-b"]["priority"] > entries["replica-a"]["priority"]
    assert twilio_calls(since_last_start(first)) == []
    assert RESUMED not in since_last_start(first)
