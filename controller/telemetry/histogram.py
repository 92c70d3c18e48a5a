"""Bucketed duration histograms kept as plain numbers, for /metrics.

The gateway times Twilio requests and the operator times renewals and reviews; both need a
Prometheus histogram, but the gateway must not depend on
controller/telemetry/metrics.py (which reads it) and prometheus_client's own Histogram objects
bring a `_created` series and a registry of their own. So the counting lives here, pure, and
controller/telemetry/metrics.py turns a `Histogram`'s `snapshot()` into prometheus_client's
HistogramMetricFamily at scrape time.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

#: A Twilio request's duration, seconds: most answer in tens of milliseconds, a slow one in
#: seconds, and TWILIO_TIMEOUT_SECONDS (30 by default) ends the rest.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
#: A review or a whole renewal, seconds: minutes on the simulator, hours to days at Twilio.
LONG_BUCKETS = (
    10.0,
    _MINUTE,
    10 * _MINUTE,
    _HOUR,
    6 * _HOUR,
    12 * _HOUR,
    _DAY,
    2 * _DAY,
    3 * _DAY,
    5 * _DAY,
    7 * _DAY,
    14 * _DAY,
    30 * _DAY,
)


@dataclass(frozen=True)
class Snapshot:
    """One series' histogram: cumulative counts per upper bound (the last one +Inf) and sum."""

    buckets: tuple[tuple[float, int], ...]
    sum: float

    @property
    def count(self) -> int:
        return self.buckets[-1][1]


@dataclass
class _Series:
    counts: list[int]
    sum: float = 0.0


@dataclass
class Histogram(Generic[K]):
    """Observations by key (a tuple of label values), each key its own bucketed series."""

    bounds: Sequence[float]
    _series: dict[K, _Series] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if list(self.bounds) != sorted(set(self.bounds)) or not self.bounds:
            raise ValueError("bounds must be strictly increasing and not empty")
        self.bounds = tuple(self.bounds)

    def observe(self, key: K, value: float) -> None:
        """One observation; a negative or NaN value (a clock step) counts as 0."""
        value = value if value > 0 and not math.isnan(value) else 0.0
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series([0] * (len(self.bounds) + 1))
        series.counts[bisect.bisect_left(self.bounds, value)] += 1
        series.sum += value

    def snapshot(self, always: Iterable[K] = ()) -> dict[K, Snapshot]:
        """Every key observed so far, and the `always` keys (all zero if never observed), with
        cumulative bucket counts: a fixed label set shows from the start, so rate() has a
        first sample to start from."""
        result = {}
        empty = _Series([0] * (len(self.bounds) + 1))
        for key, series in {**dict.fromkeys(always, empty), **self._series}.items():
            running, buckets = 0, []
            for bound, n in zip([*self.bounds, math.inf], series.counts, strict=True):
                running += n
                buckets.append((bound, running))
            result[key] = Snapshot(tuple(buckets), series.sum)
        return result

    def count(self, key: K) -> int:
        series = self._series.get(key)
        return sum(series.counts) if series is not None else 0
