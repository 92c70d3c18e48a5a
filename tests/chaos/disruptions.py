"""The chaos phase's disruptions while its renewals run: operator SIGKILLs and API-server restarts.

Each event fires once the renewals' successful Twilio writes reach a random fraction (seeded,
5-85 %) of the writes they need at least (7 for a renewal, 3 more for a rejected one), so events
spread over the work, however fast it goes, and land at arbitrary points of the renewals in
flight, from copy creation to ReplaceItems; no write happens while the operator is down, so one
event's outage does not use up the next one's share.
Each kill is followed by a start of the operator (ready once Kopf's liveness endpoint answers);
each API-server restart happens with the operator running and ready, never across a start of it
(an operator started while the API server is down is a separate, known defect). One thread runs
the schedule, so a start can never overlap an outage.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from controlplane import LocalControlPlane
from operator_runner import OperatorProcess

from tests.chaos.cluster_view import ClusterView, Key
from tests.chaos.reviewer import Reviewer
from tests.chaos.settings import ChaosSettings
from tests.sim_fixtures import Sim

KILL = "kill"
APISERVER = "apiserver"
POLL_SECONDS = 0.1


@dataclass
class Tally:
    """What the disruptions did, for the summary."""

    kills: int = 0
    apiserver_restarts: int = 0
    apiserver_outage_seconds: list[float] = field(default_factory=list)
    unexpected_exits: int = 0  # the operator died on its own: a finding, asserted to be 0
    seconds: float = 0.0
    timeline: list[str] = field(default_factory=list)


class Disruptor:
    def __init__(
        self,
        settings: ChaosSettings,
        rng: random.Random,
        operator: OperatorProcess,
        plane: LocalControlPlane,
        view: ClusterView,
        reviewer: Reviewer,
        sim: Sim,
    ) -> None:
        self.sim = sim
        self.settings = settings
        self.rng = rng
        self.operator = operator
        self.plane = plane
        self.view = view
        self.reviewer = reviewer
        self.tally = Tally()
        self._started = time.monotonic()

    def _note(self, what: str, completed: int, total: int) -> None:
        at = time.monotonic() - self._started
        self.tally.timeline.append(f"{at:6.1f} s  {what} ({completed}/{total} completed)")

    def _writes(self, accounts: set[str]) -> int:
        """Successful Twilio writes of these accounts so far."""
        return sum(
            row["count"]
            for row in self.sim.stats()["requests"]
            if row["account_sid"] in accounts
            and row["method"] != "GET"
            and 200 <= row["status"] < 300
        )

    def drive(self, targets: set[Key], accounts: set[str], least_writes: int) -> None:
        """Disrupt on schedule until every target is Completed; AssertionError on time-out.
        `least_writes`: the successful writes the targets need at least (the schedule's scale)."""
        events = [KILL] * self.settings.kills + [APISERVER] * self.settings.apiserver_restarts
        self.rng.shuffle(events)
        total = len(targets)
        thresholds = sorted(math.ceil(self.rng.uniform(0.05, 0.85) * least_writes) for _ in events)
        deadline = self._started + self.settings.timeout_seconds
        phases: dict[Key, str] = {}
        completed = 0
        while True:
            seen = self.view.phases()
            if seen is not None:
                phases = {k: v for k, v in seen.items() if k in targets}
                completed = sum(1 for v in phases.values() if v == "Completed")
            if completed == total:
                break
            if not self.operator.running:
                self.tally.unexpected_exits += 1
                self._note(
                    f"operator exited by itself ({self.operator.returncode()})", completed, total
                )
                self.operator.start()
            if events and self._writes(accounts) >= thresholds[0]:
                thresholds.pop(0)
                self._disrupt(events.pop(0), completed, total)
            if self.reviewer.error is not None:
                raise AssertionError("the reviewer failed") from self.reviewer.error
            if time.monotonic() > deadline:
                left = Counter(phases.values())
                raise AssertionError(
                    f"{total - completed} of {total} renewals not Completed within "
                    f"{self.settings.timeout_seconds:.0f} s; phases {dict(left)}; reviews "
                    f"pending {self.reviewer.pending()}; log {self.operator.log_path}"
                )
            time.sleep(POLL_SECONDS)
        self.tally.seconds = time.monotonic() - self._started
        self._note("every renewal Completed", completed, total)
        assert not events, f"the renewals completed before the disruptions {events} could fire"

    def _disrupt(self, event: str, completed: int, total: int) -> None:
        if event == KILL:
            self.operator.kill()
            self.tally.kills += 1
            self._note(f"SIGKILL operator #{self.tally.kills}", completed, total)
            self.operator.start()
            self._note("operator started and ready", completed, total)
        else:
            assert self.operator.running, "the API server is restarted only under a live operator"
            outage = self.plane.restart(
                down_seconds=self.settings.apiserver_down_seconds, hard=True
            )
            self.tally.apiserver_restarts += 1
            self.tally.apiserver_outage_seconds.append(outage)
            self._note(f"control plane SIGKILLed, restarted ({outage:.1f} s out)", completed, total)
