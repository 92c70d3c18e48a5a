"""How late the operator's event loop runs what is due: its CPU saturation signal.

Every reconcile, watch event, status callback and Twilio answer of the process shares one asyncio
event loop. When the loop is busy (a whole fleet renewing at once on too little CPU), each of
them waits its turn, and a Twilio request holds its account's slot that much longer, so fewer
requests get through the same slots. Probed at 1,000 renewals on 2 shared cores
(docs/development/fleet-benchmark.md): the median lag of each second was 11-78 ms (mostly 20-40)
for the whole run, and every slot was taken all along.

The probe sleeps `interval` seconds again and again and records how much later than asked it
woke up (`bundle_renewal_event_loop_lag_seconds`). A lag that stays high asks for more CPU for
the operator, or for sharding the fleet over several Deployments (docs/operations/sharding.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from controller.telemetry.histogram import Histogram, Snapshot

#: Seconds: a loop at ease answers within a millisecond; a saturated one in tens or hundreds.
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

#: How often the loop is probed, seconds: four samples a second, a negligible cost.
PROBE_INTERVAL_SECONDS = 0.25

_NO_LABELS: tuple[()] = ()


class LoopLagProbe:
    """A task on the running loop that measures its lag into a histogram."""

    def __init__(
        self,
        interval: float = PROBE_INTERVAL_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if interval <= 0:
            raise ValueError("the probe interval must be positive")
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._histogram: Histogram[tuple[()]] = Histogram(LAG_BUCKETS)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts probing the running loop (once; again after `stop`)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._probe(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def snapshot(self) -> dict[tuple[()], Snapshot]:
        """The lag histogram (zeros before the first sample: the series shows from the start)."""
        return self._histogram.snapshot(always=[_NO_LABELS])

    async def _probe(self) -> None:
        while True:
            asked = self._clock()
            await self._sleep(self.interval)
            self._histogram.observe(_NO_LABELS, self._clock() - asked - self.interval)
