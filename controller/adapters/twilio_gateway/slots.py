"""One account's request slots: at most the adaptive limit in flight, waiters served by priority.

Before, an asyncio.Semaphore of 4 per account served waiters first come, first served: at fleet
scale every renewal queued for every one of its requests behind every other renewal's, so all of
them advanced in lockstep and none finished early (1,000 renewals: the first Ready after 361 s).
Here a waiter carries a priority, lower first, and equal priorities keep their arrival order. The
gateway factory passes the priority its caller chose (the time the resource's renewal began, and
ahead of all those a renewal already submitted: `reconcile.queue_priority`), so that the
renewals begun first finish first and the rest follow, instead of all finishing at the end; a
request without one gets the current time, which keeps plain first-come order among such
requests and places them fairly among prioritised ones (after renewals begun earlier).

The number of slots is the account's AimdLimit, fed by every released slot with what the request
said about the load (answered and how fast, overloaded, or nothing). The clocks are injectable:
`clock` (monotonic) times requests, and `wall_clock` anchors it to Unix time once, so default
priorities are Unix times that never step backwards.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.adapters.twilio_gateway.aimd import AimdLimit, AimdPolicy, Signal

Clock = Callable[[], float]

_log = logging.getLogger("controller.adapters.twilio_gateway")


@dataclass(frozen=True)
class SlotCounts:
    """Slots summed over accounts, for /metrics: the limits, the requests in flight, and the
    requests waiting for a slot (a queue that stays long: Twilio's limit, or a slow loop, sets
    the pace)."""

    limit: int = 0
    in_flight: int = 0
    waiting: int = 0

    def __add__(self, other: SlotCounts) -> SlotCounts:
        return SlotCounts(
            self.limit + other.limit,
            self.in_flight + other.in_flight,
            self.waiting + other.waiting,
        )


@dataclass(frozen=True)
class Slot:
    """A held slot: the limit's generation when it was granted, and when (monotonic clock)."""

    generation: int
    started: float


class AccountSlots:
    """The slots of one account SID, shared by every gateway the factory hands out for it."""

    def __init__(
        self,
        policy: AimdPolicy,
        *,
        name: str = "",
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self._aimd = AimdLimit(policy)
        self._name = name
        self._clock = clock
        self._wall_offset = wall_clock() - clock()
        self._in_flight = 0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    def __repr__(self) -> str:
        return (
            f"AccountSlots({self._name!r}, limit={self.limit}, in_flight={self._in_flight}, "
            f"waiting={self.waiting})"
        )

    @property
    def limit(self) -> int:
        return self._aimd.limit

    @property
    def generation(self) -> int:
        """How many times the limit was cut (429s, latency): for tests and metrics."""
        return self._aimd.generation

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return sum(1 for *_, waiter in self._waiters if not waiter.done())

    def counts(self) -> SlotCounts:
        return SlotCounts(self.limit, self._in_flight, self.waiting)

    def now(self) -> float:
        """Unix time in seconds, on the monotonic clock: the priority of a request without one."""
        return self._clock() + self._wall_offset

    async def acquire(self, priority: float | None = None) -> Slot:
        """Waits for a slot; lower `priority` first, equal ones in arrival order.

        A waiter cancelled before its turn leaves the queue; one cancelled just after being
        granted its slot (before it could run) hands the slot on, so cancellation never leaks a
        slot. The caller must `release` the slot it gets.
        """
        key = self.now() if priority is None else priority
        if math.isnan(key):
            raise ValueError("a priority must be a number, not NaN")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (key, next(self._arrivals), waiter))
        self._grant()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1
                self._grant()
            raise
        return Slot(self._aimd.generation, self._clock())

    def release(self, slot: Slot, signal: Signal, operation: str | None = None) -> None:
        """Gives the slot back with what its request said; `operation` names an answer whose
        latency is worth sampling (None: not sampled)."""
        before = self._aimd.limit
        self._aimd.on_sample(
            signal,
            generation=slot.generation,
            in_flight=self._in_flight,
            latency=None if operation is None else self._clock() - slot.started,
            operation=operation,
        )
        self._in_flight -= 1
        after = self._aimd.limit
        if after < before:
            _log.debug(
                "twilio %s: concurrency limit %d -> %d (%s, latency ratio %.2f)",
                self._name,
                before,
                after,
                signal.value,
                self._aimd.latency_ratio,
            )
        self._grant()

    def _grant(self) -> None:
        """Hands free slots to the first waiters in priority order."""
        while self._waiters and self._in_flight < self._aimd.limit:
            _, _, waiter = heapq.heappop(self._waiters)
            if waiter.done():
                continue  # cancelled while waiting
            self._in_flight += 1
            waiter.set_result(None)
