"""How many requests one Twilio account may have in flight: an adaptive limit (AIMD).

Twilio caps the concurrent requests of an account and answers 429 / 20429 beyond the cap, but
never says where the cap is: its `Twilio-Concurrent-Requests` response header reports how many
requests the account has in flight right now, not its limit, and the limit itself is per account
and undocumented. A fixed small cap (4, before) leaves most of it unused at fleet scale; a fixed
large one turns bursts into 429s. So the limit is found the way TCP finds a path's capacity (and
Netflix's concurrency-limits AIMD limiter a server's):

- slow start: from `initial`, +1 per answered request while the limit is in use (about doubling
  per round trip), until the first sign of congestion;
- then congestion avoidance: +1/limit per answered request (about +1 per round trip);
- on overload (429 / 20429, 503, no answer in time) the limit is multiplied by `overload_factor`;
  on rising latency (the ratio of each answer's latency to its operation's smoothed minimum,
  averaged over about one round trip of answers, above `latency_tolerance`: requests queueing
  at Twilio) by `latency_factor`; halfway there, growth pauses (as in TCP Vegas);
- at most one decrease per generation: a signal from a request that got its slot before the last
  decrease describes the old limit, already acted on (TCP's once per window), so a burst of 429s
  halves the limit once instead of sending it to the floor;
- always within [floor, ceiling]; growth only while the limit binds (as many in flight as it
  allows, others waiting): an answer while the account is used below its limit says nothing
  about a larger one, and an idle account must not drift to the ceiling without evidence (the
  idea of TCP's congestion window validation, RFC 7661).

Pure: no clock, no asyncio. Latencies come in with the samples (slots.py measures them on an
injectable clock), so every rule here is tested deterministically.

Why adaptive rather than a fixed limit: docs/design/adaptive-concurrency.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Signal(enum.Enum):
    """What one finished request says about the account's load."""

    ANSWERED = "answered"  # Twilio answered (a 4xx too): grow, sample the latency
    OVERLOAD = "overload"  # 429 / 20429, 503, time-out: decrease
    NEUTRAL = "neutral"  # cancelled, no answer, a 500, a bug: says nothing, changes nothing


@dataclass(frozen=True)
class AimdPolicy:
    """Bounds and gains of the limit. `fixed(n)`: a limit that never moves (the old semaphore)."""

    initial: int = 8
    floor: int = 1
    ceiling: int = 100
    overload_factor: float = 0.5
    latency_factor: float = 0.9
    latency_tolerance: float = 2.0
    # Weight of a new sample in the smoothed latency ratio (an EWMA), at most; 1/limit when
    # more is in flight, so that the ratio spans about one round trip of answers: a few slow
    # answers together (a GC pause, a stalled event loop, a big page) are not congestion.
    latency_smoothing: float = 0.2
    # How far an operation's minimum latency moves towards slower answers per round trip of
    # answers (this/limit per answer): lets it follow a lasting change (another region, a slower
    # network) over many round trips, much slower than the ratio reacts to queueing (one).
    baseline_drift: float = 0.01

    def __post_init__(self) -> None:
        if not 1 <= self.floor <= self.ceiling:
            raise ValueError("need 1 <= floor <= ceiling")
        if self.initial < 1:
            raise ValueError("initial must be at least 1")
        for name in ("overload_factor", "latency_factor"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_tolerance <= 1:
            raise ValueError("latency_tolerance must exceed 1")
        if not 0 < self.latency_smoothing <= 1:
            raise ValueError("latency_smoothing must be in (0, 1]")
        if not 0 <= self.baseline_drift < 1:
            raise ValueError("baseline_drift must be in [0, 1)")

    @classmethod
    def fixed(cls, limit: int) -> AimdPolicy:
        return cls(initial=limit, floor=limit, ceiling=limit)

    def clamp(self, limit: float) -> float:
        return min(float(self.ceiling), max(float(self.floor), limit))


class AimdLimit:
    """The current limit of one account, moved by the samples of its finished requests."""

    def __init__(self, policy: AimdPolicy) -> None:
        self.policy = policy
        self._limit = policy.clamp(policy.initial)
        self._slow_start = True
        self._generation = 0
        self._baselines: dict[str, float] = {}
        self._latency_ratio = 1.0

    def __repr__(self) -> str:
        return f"AimdLimit(limit={self.limit}, generation={self._generation})"

    @property
    def limit(self) -> int:
        """Requests allowed in flight now (the fractional part is growth under way)."""
        return int(self._limit)

    @property
    def generation(self) -> int:
        """How many decreases so far: a request records it when it gets its slot."""
        return self._generation

    @property
    def latency_ratio(self) -> float:
        """Smoothed ratio of answers' latencies to their operations' minimums (1: no queueing)."""
        return self._latency_ratio

    def on_sample(
        self,
        signal: Signal,
        *,
        generation: int,
        in_flight: int,
        latency: float | None = None,
        operation: str | None = None,
    ) -> None:
        """One finished request.

        `generation`: `self.generation` when the request got its slot; `in_flight`: requests in
        flight when it finished, itself included; `latency` (seconds) with its `operation` name,
        for answers whose latency says something (not uploads, whose time is the file's size).
        """
        if signal is Signal.OVERLOAD:
            self._decrease(generation, self.policy.overload_factor)
        elif signal is Signal.ANSWERED:
            if latency is not None and operation is not None:
                self._record_latency(operation, latency)
            if self._latency_ratio > self.policy.latency_tolerance:
                self._decrease(generation, self.policy.latency_factor)
            elif in_flight >= self.limit and self._latency_ratio <= self._hold_above:
                self._increase()

    @property
    def _hold_above(self) -> float:
        """Halfway to the tolerance: answers slowing down already, so no growth, no cut yet."""
        return 1.0 + (self.policy.latency_tolerance - 1.0) / 2

    def _record_latency(self, operation: str, latency: float) -> None:
        """Folds `latency` into the ratio of answers' latencies to their operations' minimums.

        Each operation has its own minimum: a replace-items is slower than a fetch by nature,
        and a mix of both must not read as congestion.
        """
        policy = self.policy
        baseline = self._baselines.get(operation)
        if baseline is None or baseline <= 0:
            self._baselines[operation] = latency
            ratio = 1.0
        else:
            ratio = latency / baseline
            drift = policy.baseline_drift / self._limit
            self._baselines[operation] = min(latency, baseline + (latency - baseline) * drift)
        weight = min(policy.latency_smoothing, 1.0 / self._limit)
        self._latency_ratio += (ratio - self._latency_ratio) * weight

    def _decrease(self, generation: int, factor: float) -> None:
        if generation != self._generation:
            return  # this request started under a larger limit, already cut
        self._limit = self.policy.clamp(self._limit * factor)
        self._generation += 1
        self._slow_start = False

    def _increase(self) -> None:
        step = 1.0 if self._slow_start else 1.0 / self._limit
        self._limit = self.policy.clamp(self._limit + step)
