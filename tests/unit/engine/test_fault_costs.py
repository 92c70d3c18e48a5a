"""What a fault or a crash costs in Twilio requests: the seed's renewal with one fault planned at
each of its requests in turn (each kind), or a crash after each of its writes, against the
fault-free renewal, all through the simulation test's machine. A fault must cost what the
re-observation after it needs (the reconcile after it starts from an empty observation), never
a second renewal's worth; the figures are reported at the end of the run."""

from __future__ import annotations

from statistics import mean

import pytest

from controller.core.models import Phase
from tests.measurements import report
from tests.unit.engine.renewal_machine import TWILIO_FAULTS, FaultPlan, RenewalMachine

MAX_EXTRA = 12
"""Requests one fault may add: about half the renewal's own (25), a re-observation."""


def renewal_requests(plan: FaultPlan) -> int:
    """Twilio requests, answered or not, of the seed's renewal whose first reconcile runs with
    `plan` (then fault-free reconciles, with Twilio approving, until Completed)."""
    machine = RenewalMachine()
    machine.first_renewal()
    renewal = next(iter(machine.renewals.values()))
    machine._reconcile(renewal, plan, early=False)
    for _ in range(8):
        if renewal.status.phase == Phase.COMPLETED:
            break
        machine.twilio.review(approve=True)
        machine._reconcile(renewal, FaultPlan(), early=False)
    requests = machine.requests
    assert renewal.status.phase == Phase.COMPLETED, renewal.status.message
    assert len(machine.twilio.live_copies()) == 0
    machine.teardown()  # the invariants, and at rest
    return requests


@pytest.fixture(scope="module")
def fault_free() -> int:
    return renewal_requests(FaultPlan())


@pytest.mark.parametrize("kind", TWILIO_FAULTS)
def test_a_twilio_fault_costs_a_re_observation_at_most(fault_free: int, kind: str) -> None:
    extra = [
        renewal_requests(FaultPlan(twilio={index: kind})) - fault_free
        for index in range(fault_free)
    ]
    assert min(extra) >= 0
    assert max(extra) <= MAX_EXTRA, extra
    report(
        f"simulation: requests one '{kind}' adds to a {fault_free}-request renewal",
        f"mean {mean(extra):.1f}, max {max(extra)} (at each of its requests)",
    )


def test_a_crash_costs_a_re_observation_at_most(fault_free: int) -> None:
    extra = [renewal_requests(FaultPlan(crash_after=writes)) - fault_free for writes in range(12)]
    assert max(extra) <= MAX_EXTRA, extra
    report(
        f"simulation: requests a crash adds to a {fault_free}-request renewal",
        f"mean {mean(extra):.1f}, max {max(extra)} (after each of its writes)",
    )


def test_a_failed_status_write_costs_a_re_observation_at_most(fault_free: int) -> None:
    extra = [renewal_requests(FaultPlan(status_write=n)) - fault_free for n in range(4)]
    assert max(extra) <= MAX_EXTRA, extra
