"""An account's slots (slots.py): the limit in flight, waiters by priority, no leaked slot."""

from __future__ import annotations

import asyncio

import pytest

from controller.adapters.twilio_gateway.aimd import AimdPolicy, Signal
from controller.adapters.twilio_gateway.slots import AccountSlots, Slot, SlotCounts


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def slots(limit: int = 1, clock: FakeClock | None = None, **policy: float) -> AccountSlots:
    ticking = clock or FakeClock()
    return AccountSlots(
        AimdPolicy(initial=limit, ceiling=policy.pop("ceiling", limit), **policy),  # type: ignore[arg-type]
        name="AC-test",
        clock=ticking,
        wall_clock=lambda: 1.7e9,
    )


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def waiter(
    account: AccountSlots, served: list[str], name: str, priority: float | None
) -> Slot:
    slot = await account.acquire(priority)
    served.append(name)
    return slot


async def queue_up(
    account: AccountSlots, served: list[str], *entries: tuple[str, float | None]
) -> list[asyncio.Task[Slot]]:
    """Starts one waiter per (name, priority) in this order, each queued before the next."""
    tasks = []
    for name, priority in entries:
        tasks.append(asyncio.create_task(waiter(account, served, name, priority)))
        await settle()
    return tasks


async def test_up_to_the_limit_get_a_slot_at_once_the_rest_wait() -> None:
    account = slots(limit=3)
    held = [await account.acquire() for _ in range(3)]
    assert (account.in_flight, account.waiting) == (3, 0)
    served: list[str] = []
    (fourth,) = await queue_up(account, served, ("fourth", None))
    assert served == []
    assert account.waiting == 1
    account.release(held[0], Signal.NEUTRAL)
    await fourth
    assert served == ["fourth"]
    assert (account.in_flight, account.waiting) == (3, 0)


async def test_a_higher_priority_waiter_goes_before_earlier_lower_priority_ones() -> None:
    account = slots(limit=1)
    held = await account.acquire()
    served: list[str] = []
    tasks = await queue_up(
        account, served, ("late renewal", 300.0), ("later renewal", 400.0), ("early renewal", 100.0)
    )
    for _ in tasks:
        account.release(held, Signal.NEUTRAL)
        await settle()
        held = tasks[["late renewal", "later renewal", "early renewal"].index(served[-1])].result()
    assert served == ["early renewal", "late renewal", "later renewal"]


async def test_equal_priorities_are_served_first_come_first_served() -> None:
    account = slots(limit=1)
    held = await account.acquire()
    served: list[str] = []
    names = [f"request {n}" for n in range(6)]
    tasks = await queue_up(account, served, *((name, 42.0) for name in names))
    for _ in tasks:
        account.release(held, Signal.NEUTRAL)
        await settle()
        held = tasks[names.index(served[-1])].result()
    assert served == names


async def test_without_a_priority_a_request_queues_by_its_own_time() -> None:
    """FIFO among requests without one; after renewals begun before, before those begun later."""
    clock = FakeClock(1000.0)
    account = slots(limit=1, clock=clock)
    assert account.now() == 1.7e9  # Unix time, anchored once
    held = await account.acquire()
    served: list[str] = []
    clock.now += 10
    tasks = await queue_up(account, served, ("light check", None))
    clock.now += 10
    tasks += await queue_up(
        account,
        served,
        ("renewal begun later", 1.7e9 + 15),
        ("clean-up", None),
        ("renewal begun earlier", 1.7e9 - 3600),
    )
    order = ["light check", "renewal begun later", "clean-up", "renewal begun earlier"]
    for _ in tasks:
        account.release(held, Signal.NEUTRAL)
        await settle()
        held = tasks[order.index(served[-1])].result()
    assert served == ["renewal begun earlier", "light check", "renewal begun later", "clean-up"]


async def test_a_cancelled_waiter_leaves_the_queue_without_taking_a_slot() -> None:
    account = slots(limit=1)
    held = await account.acquire()
    served: list[str] = []
    first, second = await queue_up(account, served, ("first", 1.0), ("second", 2.0))
    first.cancel()
    await settle()
    assert first.cancelled()
    assert account.waiting == 1
    account.release(held, Signal.NEUTRAL)
    await second
    assert served == ["second"]
    assert account.in_flight == 1
    account.release(second.result(), Signal.NEUTRAL)
    assert (account.in_flight, account.waiting) == (0, 0)
    assert account.limit == 1
    await asyncio.wait_for(account.acquire(), timeout=1)  # the slot is free, not leaked


async def test_a_waiter_cancelled_just_after_its_turn_came_hands_the_slot_on() -> None:
    account = slots(limit=1)
    held = await account.acquire()
    served: list[str] = []
    first, second = await queue_up(account, served, ("first", 1.0), ("second", 2.0))
    account.release(held, Signal.NEUTRAL)  # granted to `first`, which has not run yet
    first.cancel()
    await settle()
    assert first.cancelled()
    assert second.done()
    assert served == ["second"]
    assert account.in_flight == 1


async def test_cancelling_every_waiter_leaves_the_account_usable() -> None:
    account = slots(limit=2)
    held = [await account.acquire(), await account.acquire()]
    tasks = await queue_up(account, [], *((str(n), float(n)) for n in range(5)))
    for task in tasks:
        task.cancel()
    await settle()
    for slot in held:
        account.release(slot, Signal.NEUTRAL)
    assert (account.in_flight, account.waiting) == (0, 0)
    again = [await asyncio.wait_for(account.acquire(), timeout=1) for _ in range(2)]
    assert len(again) == 2


async def test_a_429_cuts_the_limit_and_the_queue_waits_until_in_flight_drains() -> None:
    account = slots(limit=4, ceiling=8)
    held = [await account.acquire() for _ in range(4)]
    served: list[str] = []
    tasks = await queue_up(account, served, ("a", 1.0), ("b", 2.0))
    account.release(held[0], Signal.OVERLOAD)  # 4 -> 2, with 3 still in flight
    await settle()
    assert account.limit == 2
    assert served == []
    account.release(held[1], Signal.OVERLOAD)  # same generation: no second cut
    await settle()
    assert account.limit == 2
    assert served == []
    account.release(held[2], Signal.NEUTRAL)  # 1 in flight: one slot under the limit of 2
    await settle()
    assert served == ["a"]
    assert not tasks[1].done()
    tasks[1].cancel()


async def test_growth_lets_more_waiters_in() -> None:
    account = slots(limit=2, ceiling=10)
    held = [await account.acquire() for _ in range(2)]
    served: list[str] = []
    await queue_up(account, served, ("a", 1.0), ("b", 2.0), ("c", 3.0))
    account.release(held[0], Signal.ANSWERED)  # slow start: 2 -> 3, and this slot is free
    await settle()
    assert account.limit == 3
    assert served == ["a", "b"]


async def test_latency_is_measured_on_the_injected_clock() -> None:
    clock = FakeClock()
    account = slots(limit=10, clock=clock, ceiling=100)
    for _ in range(20):
        slot = await account.acquire()
        clock.now += 0.1
        account.release(slot, Signal.ANSWERED, "fetch_bundle")
    assert account.generation == 0
    for _ in range(3):
        slot = await account.acquire()
        clock.now += 1.0  # ten times slower
        account.release(slot, Signal.ANSWERED, "fetch_bundle")
    assert account.generation > 0
    slow_uploads = slots(limit=10, clock=clock, ceiling=100)
    for seconds in (0.1, 5.0, 5.0, 5.0):
        slot = await slow_uploads.acquire()
        clock.now += seconds
        slow_uploads.release(slot, Signal.ANSWERED, None)  # not sampled
    assert slow_uploads.generation == 0


async def test_a_nan_priority_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        await slots().acquire(float("nan"))


async def test_counts_are_the_limit_the_requests_in_flight_and_those_waiting() -> None:
    account = slots(limit=2)
    held = [await account.acquire() for _ in range(2)]
    served: list[str] = []
    (third,) = await queue_up(account, served, ("third", None))
    assert account.counts() == SlotCounts(limit=2, in_flight=2, waiting=1)
    account.release(held[0], Signal.NEUTRAL)
    await third
    assert account.counts() == SlotCounts(limit=2, in_flight=2, waiting=0)
    assert SlotCounts(1, 2, 3) + SlotCounts(10, 20, 30) == SlotCounts(11, 22, 33)
