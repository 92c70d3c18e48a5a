"""The adaptive limit against the simulator's per-account cap (429 / 20429 beyond N in flight)."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from controller.adapters.twilio_gateway.port import TwilioCredentials
from tests.gateway.conftest import FactoryMaker
from tests.gateway.test_gateway_sim import sim_count
from tests.sim_fixtures import Sim

TWILIO_CAP = 6
RENEWALS = 24
REQUESTS_EACH = 8


async def test_the_limit_converges_below_twilios_cap_and_every_renewal_completes(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    """Starting above the cap (8 > 6), the limit comes down on the first 429s, then saws
    between half the cap and just above it (the probe a 429 answers; the limit counts a request
    until its answer is parsed, Twilio only until it is sent, so the probe may go one further),
    averaging at most the cap. Every 429 is absorbed by the retries (4 attempts): none reaches a
    renewal, and they stay few."""
    sim.admin.set_config(
        latency={"distribution": "constant", "mean_ms": 20},
        max_concurrent_requests_per_account=TWILIO_CAP,
    )
    factory = make_factory()  # defaults: initial 8, ceiling 100, adaptive
    slots = factory.limiter_for(token_credentials.account_sid)
    assert slots.limit == 8
    limits_after_first_cut: list[int] = []

    async def renewal(started: float) -> int:
        gateway = factory.for_credentials(token_credentials, priority=started)
        for _ in range(REQUESTS_EACH):
            await gateway.fetch_bundle(seeded["bundle_sid"])
            if slots.generation > 0:
                limits_after_first_cut.append(slots.limit)
        return REQUESTS_EACH

    done = await asyncio.gather(*(renewal(float(n)) for n in range(RENEWALS)))

    assert sum(done) == RENEWALS * REQUESTS_EACH
    too_many = sim_count(sim, "GET", "/Bundles/{Sid}", 429)
    assert too_many > 0  # the cap was found the only way Twilio tells it
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 200) == RENEWALS * REQUESTS_EACH
    assert factory.counter.failures() == {("fetch_bundle", "TwilioTransientError"): too_many}
    assert too_many < RENEWALS * REQUESTS_EACH * 0.1
    assert limits_after_first_cut
    assert max(limits_after_first_cut) <= TWILIO_CAP + 2
    assert slots.limit <= TWILIO_CAP + 2
    assert statistics.mean(limits_after_first_cut) <= TWILIO_CAP
    assert (slots.in_flight, slots.waiting) == (0, 0)


async def test_waiting_requests_reach_twilio_in_priority_order(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(latency={"distribution": "constant", "mean_ms": 30})
    factory = make_factory(max_concurrent_requests_per_account=1, adaptive_concurrency=False)
    slots = factory.limiter_for(token_credentials.account_sid)
    answered: list[str] = []

    async def fetch(name: str, priority: float | None) -> None:
        gateway = factory.for_credentials(token_credentials, priority=priority)
        await gateway.fetch_bundle(seeded["bundle_sid"])
        answered.append(name)

    tasks = [asyncio.create_task(fetch("first come", None))]
    await asyncio.sleep(0.01)  # it holds the only slot; the rest queue in this order
    for name, priority in [("begun last", 30.0), ("no priority", None), ("begun first", 10.0)]:
        tasks.append(asyncio.create_task(fetch(name, priority)))
        await asyncio.sleep(0)
    assert slots.waiting == 3
    await asyncio.gather(*tasks)
    assert answered == ["first come", "begun first", "begun last", "no priority"]


async def test_cancelled_requests_give_their_slots_back(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(latency={"distribution": "constant", "mean_ms": 500})
    factory = make_factory(max_concurrent_requests_per_account=3, adaptive_concurrency=False)
    slots = factory.limiter_for(token_credentials.account_sid)
    gateway = factory.for_credentials(token_credentials)
    tasks = [asyncio.create_task(gateway.fetch_bundle(seeded["bundle_sid"])) for _ in range(5)]
    await asyncio.sleep(0.1)
    assert (slots.in_flight, slots.waiting) == (3, 2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert (slots.in_flight, slots.waiting) == (0, 0)
    sim.admin.set_config(latency={"distribution": "none"})
    bundles = await asyncio.wait_for(
        asyncio.gather(*(gateway.fetch_bundle(seeded["bundle_sid"]) for _ in range(3))), 5
    )
    assert len(bundles) == 3
