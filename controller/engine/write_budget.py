"""A ceiling on Twilio writes per resource, so a decision loop that never settles ends Stalled
instead of streaming writes at Twilio (it once updated one document back and forth ~2,000 times
in four minutes).

Two limits: per reconcile (a renewal needs about 8 writes plus 2 per added document) and per
rolling hour (resubmissions after rejections included). The action runner spends one unit before
every write and refuses the write once a limit is reached. The hourly window is kept in memory
per process: a restart forgets it, which is harmless (the per-reconcile limit still holds).

Why a budget, and its limits: docs/design/write-budget.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_HOUR = timedelta(hours=1)


class WriteBudgetExceeded(Exception):
    """The next write would exceed one of the limits; the message names which."""


@dataclass
class WriteBudget:
    """Per-process bookkeeping of each resource's recent writes (by uid)."""

    per_reconcile: int = 40
    per_hour: int = 120
    _recent: dict[str, deque[datetime]] = field(default_factory=dict)

    def spend(self, uid: str, now: datetime, spent_this_reconcile: int) -> None:
        """Record one write at `now`, or raise WriteBudgetExceeded (nothing recorded then)."""
        if spent_this_reconcile >= self.per_reconcile:
            raise WriteBudgetExceeded(
                f"{self.per_reconcile} Twilio writes in one reconcile without settling "
                "(WRITE_BUDGET_PER_RECONCILE); stopped to avoid a write loop"
            )
        recent = self._recent.setdefault(uid, deque())
        while recent and now - recent[0] >= _HOUR:
            recent.popleft()
        if len(recent) >= self.per_hour:
            raise WriteBudgetExceeded(
                f"{self.per_hour} Twilio writes within an hour (WRITE_BUDGET_PER_HOUR); "
                "stopped to avoid a write loop"
            )
        recent.append(now)

    def forget(self, uid: str) -> None:
        self._recent.pop(uid, None)
