"""Several replicas, one working: how the operator configures Kopf's peering.

Kopf's peering: every replica keeps its entry (priority, lifetime, last seen) in the status of a
shared ClusterKopfPeering (cluster-wide operator) or KopfPeering (in each watched namespace)
object, refreshed 5-10 s before it expires. A replica pauses (stops its watches and daemons)
while a live entry has a higher priority, and also when one has the same priority (then every
such replica pauses). So each replica needs its own priority, and this one is derived from the
process's start time: the longer-running replica wins. A replica that starts later, e.g. the
one Kubernetes restarts after killing the working one, then stays in standby instead of
preempting the replica that took over mid-renewal (a preempted replica finishes its current
step while the new one starts: two workers for a moment). A killed working replica's entry
expires after PEERING_LIFETIME_SECONDS; the standby resumes then.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import kopf

from controller.core.settings import OperatorSettings

# Random low digits break ties between replicas started in the same millisecond.
_TIE_BREAK = 1000


def priority_from_start(started_ns: int, tie_break: int) -> int:
    """A priority that is higher the earlier the process started (`tie_break` in [0, 1000))."""
    if not 0 <= tie_break < _TIE_BREAK:
        raise ValueError(f"tie_break must be in [0, {_TIE_BREAK})")
    return -((started_ns // 1_000_000) * _TIE_BREAK + tie_break)


@dataclass(frozen=True)
class Peering:
    """What `kopf.run` is told about peering (standalone when `name` is empty)."""

    name: str
    priority: int
    lifetime: int
    clusterwide: bool
    identity: str = ""  # empty: Kopf's own (user@host/start time/random)

    @classmethod
    def from_settings(cls, settings: OperatorSettings, started_ns: int | None = None) -> Peering:
        priority = settings.peering_priority
        if priority is None:
            started = time.time_ns() if started_ns is None else started_ns
            priority = priority_from_start(started, random.randrange(_TIE_BREAK))
        return cls(
            name=settings.peering_name,
            priority=priority,
            lifetime=settings.peering_lifetime_seconds,
            clusterwide=settings.clusterwide,
            identity=settings.pod_name,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.name)

    @property
    def plural(self) -> str | None:
        """The peering kind Kopf uses (None: standalone)."""
        if not self.enabled:
            return None
        return "clusterkopfpeerings" if self.clusterwide else "kopfpeerings"

    def run_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `kopf.run`: a name makes peering mandatory (a replica without
        its peering object stays paused rather than working alone next to others)."""
        if not self.enabled:
            return {"standalone": True}
        arguments: dict[str, Any] = {
            "standalone": False,
            "peering_name": self.name,
            "priority": self.priority,
        }
        if self.identity:
            arguments["identity"] = self.identity
        return arguments

    def configure(self, kopf_settings: kopf.OperatorSettings) -> None:
        kopf_settings.peering.lifetime = self.lifetime
