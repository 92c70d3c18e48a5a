"""Crash recovery (acceptance 4): SIGKILL the operator right after each distinct Twilio write of a
renewal in turn, start it again, and the renewal still completes with exactly one copy ever
created, one submission, and nothing left behind.

The simulator answers every Twilio request after a fixed latency, and the test polls its request
counters (the admin API has no latency) every few milliseconds: the kill lands after the k-th
write has been answered, while the operator is persisting status or waiting on its next request
(which the simulator may still carry out after the kill: an ambiguous write, as in real life).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import (
    DOCUMENTS_SECRET,
    NEW_DOCUMENT_FILE,
    assert_new_document_renewed,
    assert_renewed,
    copies_created,
    new_document_spec,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
    seed_due_bundle_needing_new_document,
    successful_writes,
)
from tests.sim_fixtures import Sim

# The writes of an uninterrupted renewal of the scenario: create copy, update end-user, update
# document, evaluate, submit, replace items, delete copy.
WRITES = 7
LATENCY_MS = 200


def _wait_for_writes(sim: Sim, account_sid: str, count: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = successful_writes(sim, account_sid)
        if done >= count:
            return done
        time.sleep(0.005)
    raise AssertionError(f"fewer than {count} writes within {timeout}s")


def _kill_after_writes_then_complete(
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    account_sid: str,
    name: str,
    spec: dict[str, Any],
    kill_after: int,
) -> OperatorProcess:
    """Start the operator, create the renewal, SIGKILL the operator once `kill_after` writes were
    answered, start it again and wait for Completed. Returns the (stopped) operator."""
    operator = operator_factory()
    operator.start()
    try:
        renewals.create(name, spec)
        seen = _wait_for_writes(sim, account_sid, kill_after)
        operator.kill()
        assert seen == kill_after, f"the kill came late: {seen} writes had been answered"

        operator.start()
        renewals.wait_for_phase(name, "Completed", timeout=120)
    finally:
        operator.stop()
    return operator


@pytest.mark.parametrize("kill_after", range(1, WRITES + 1), ids=lambda k: f"write-{k}")
def test_killed_after_a_write_then_restarted_completes_once(
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    kill_after: int,
) -> None:
    sim.set_config(latency={"distribution": "constant", "mean_ms": LATENCY_MS})
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    operator = _kill_after_writes_then_complete(
        sim,
        renewals,
        operator_factory,
        case.account.sid,
        "crashy",
        renewal_spec(case.bundle_sid),
        kill_after,
    )

    assert_renewed(sim, case)
    assert copies_created(sim, case.account.sid) == 1
    calls = requests_by_route(sim, case.account.sid)
    submissions = calls["POST /v2/RegulatoryCompliance/Bundles/{Sid}"]
    assert submissions == 1, calls
    assert calls["POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/ReplaceItems"] == 1, calls
    assert operator.starts == 2


# The renewal that creates a document: create copy, update end-user, create document (upload),
# assign it, evaluate, submit, replace items, delete copy. Writes 3 and 4 are the ones the plain
# renewal has not: a kill between creating and assigning leaves a document the restarted
# operator must find and assign, not create again.
@pytest.mark.parametrize("kill_after", [3, 4], ids=["create-document", "assign-document"])
def test_killed_around_a_document_upload_then_restarted_creates_it_once(
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    kill_after: int,
) -> None:
    sim.set_config(latency={"distribution": "constant", "mean_ms": LATENCY_MS})
    case = seed_due_bundle_needing_new_document(sim)
    renewals.create_credentials(case.account)
    renewals.create_secret({"bill.pdf": NEW_DOCUMENT_FILE.decode()}, name=DOCUMENTS_SECRET)
    operator = _kill_after_writes_then_complete(
        sim,
        renewals,
        operator_factory,
        case.account.sid,
        "crashy-doc",
        new_document_spec(case.bundle_sid),
        kill_after,
    )
    assert operator.starts == 2

    assert_new_document_renewed(sim, case)
    calls = requests_by_route(sim, case.account.sid)
    assert calls["POST /v2/RegulatoryCompliance/SupportingDocuments"] == 1, calls
    assert calls["POST /v2/RegulatoryCompliance/Bundles/{Sid}"] == 1, calls
