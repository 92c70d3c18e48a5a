"""The event-loop lag probe (loop_lag.py): how much later than asked the loop woke it."""

from __future__ import annotations

import asyncio
import time

import pytest

from controller.telemetry.loop_lag import LoopLagProbe


def bucket(probe: LoopLagProbe, le: float) -> int:
    """Samples at most `le` seconds late (cumulative)."""
    ((_, snapshot),) = probe.snapshot().items()
    return dict(snapshot.buckets)[le]


def count(probe: LoopLagProbe) -> int:
    ((_, snapshot),) = probe.snapshot().items()
    return snapshot.count


async def test_each_wake_up_records_how_late_it_was() -> None:
    now = [100.0]
    lateness = iter([0.0, 0.02, 0.3])
    done = asyncio.Event()

    async def sleep(seconds: float) -> None:
        try:
            now[0] += seconds + next(lateness)
        except StopIteration:
            done.set()
            await asyncio.Event().wait()  # the probe stays asleep until stopped

    probe = LoopLagProbe(0.25, clock=lambda: now[0], sleep=sleep)
    assert count(probe) == 0  # the series shows before the first sample
    probe.start()
    await asyncio.wait_for(done.wait(), timeout=5)
    await probe.stop()

    assert count(probe) == 3
    assert (bucket(probe, 0.001), bucket(probe, 0.025), bucket(probe, 0.25)) == (1, 2, 2)
    ((_, snapshot),) = probe.snapshot().items()
    assert snapshot.sum == pytest.approx(0.32)


async def test_a_blocked_loop_shows_as_lag() -> None:
    """On the real loop: a callback that holds it for 0.2 s makes the probe wake that late."""
    probe = LoopLagProbe(0.01)
    probe.start()
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # blocks the loop, as a long synchronous step would
    await asyncio.sleep(0.05)
    await probe.stop()
    assert count(probe) >= 2
    assert count(probe) - bucket(probe, 0.1) >= 1  # at least one wake-up over 0.1 s late


async def test_stop_ends_the_probe_and_start_resumes_it() -> None:
    probe = LoopLagProbe(0.01)
    probe.start()
    probe.start()  # already running: no second task
    await asyncio.sleep(0.05)
    await probe.stop()
    stopped_at = count(probe)
    assert stopped_at >= 1
    await asyncio.sleep(0.05)
    assert count(probe) == stopped_at
    probe.start()
    await asyncio.sleep(0.05)
    await probe.stop()
    assert count(probe) > stopped_at


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopLagProbe(0)
