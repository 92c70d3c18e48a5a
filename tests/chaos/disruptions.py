"""The chaos phase's disruptions while its renewals run: operator SIGKILLs and API-server restarts.

Each event fires once the renewals' successful Twilio writes reach a random fraction (seeded,
5-85 %) of the writes they need at least (7 for a renewal, 3 more for a rejected one), so events
spread over the work, however fast it goes, and land at arbitrary points of the renewals in
flight, from copy creation to ReplaceItems. Consecutive events are at least a share of the
writes apart; no write happens while the operator is down, but some do while the API server is
(the operator goes on with Twilio until a status write fails).
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
from typing import Any

from devtools.controlplane import LocalControlPlane
from devtools.operator_runner import OperatorProcess
from tests.chaos.cluster_view import ClusterView, Key, message, phase, unfinished
from tests.chaos.reviewer import Reviewer
from tests.chaos.settings import ChaosSettings
from tests.sim_fixtures import Sim

KILL = "kill"
APISERVER = "apiserver"
POLL_SECONDS = 0.1  # the simulator's counters: cheap
LIST_SECONDS = 1.0  # every BundleRenewal from the API server: not cheap with hundreds


@dataclass
class Tally:
    """What the disruptions did, for the summary."""

    kills: int = 0
    apiserver_restarts: int = 0
    apiserver_outage_seconds: list[float] = field(default_factory=list)
    unexpected_exits: int = 0  # the operator died on its own: a finding, asserted to be 0
    seconds: float = 0.0
    timeline: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # where the stragglers stood
    events_left: list[str] = field(default_factory=list)  # disruptions that never fired


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

    def _writes_and_requests(self, accounts: set[str]) -> tuple[int, int]:
        """Successful Twilio writes, and requests of any kind, of these accounts so far."""
        writes = requests = 0
        for row in self.sim.stats()["requests"]:
            if row["account_sid"] in accounts:
                requests += row["count"]
                if row["method"] != "GET" and 200 <= row["status"] < 300:
                    writes += row["count"]
        return writes, requests

    def drive(self, targets: set[Key], accounts: set[str], least_writes: int) -> None:
        """Disrupt on schedule until every target is Completed, the time-out passes, or nothing
        moved (no phase or message changed, no Twilio request) for `stall_seconds`: a renewal
        stuck for good ends the run in minutes, not at the time-out. Either way the run goes on
        to its checks and figures; `tally.unfinished` says where the stragglers stand.
        `least_writes`: the successful writes the targets need at least (the schedule's scale)."""
        events = [KILL] * self.settings.kills + [APISERVER] * self.settings.apiserver_restarts
        self.rng.shuffle(events)
        total = len(targets)
        thresholds = sorted(math.ceil(self.rng.uniform(0.05, 0.85) * least_writes) for _ in events)
        gap, cap = math.ceil(0.4 * least_writes / (len(events) + 1)), int(0.9 * least_writes)
        deadline = self._started + self.settings.timeout_seconds
        objects: dict[Key, dict[str, Any]] = {}
        listed_at = moved_at = 0.0
        last: tuple[object, ...] = ()
        while True:
            now = time.monotonic()
            if now - listed_at >= LIST_SECONDS:  # a list of every object loads the API server
                listed_at = now
                seen = self.view.objects()
                if seen is not None:
                    objects = {k: v for k, v in seen.items() if k in targets}
            completed = sum(1 for o in objects.values() if phase(o) == "Completed")
            if completed == total:
                break
            if not self.operator.running:
                self.tally.unexpected_exits += 1
                code = self.operator.returncode()
                self._note(f"operator exited by itself ({code})", completed, total)
                self.operator.start()
            writes, requests = self._writes_and_requests(accounts)
            if events and writes >= thresholds[0]:
                thresholds.pop(0)
                self._disrupt(events.pop(0), completed, total)
                moved_at = time.monotonic()
                # The next one at least `gap` writes later, so that events spread over the work
                # even when their thresholds fell close together; never past `cap`, so that each
                # still fires while renewals are in flight.
                thresholds = [min(max(t, writes + gap), cap) for t in thresholds]
            if self.reviewer.error is not None:
                raise AssertionError("the reviewer failed") from self.reviewer.error
            state = (requests, *sorted((k, phase(o), message(o)) for k, o in objects.items()))
            if state != last:
                last, moved_at = state, time.monotonic()
            stalled = time.monotonic() - moved_at > self.settings.stall_seconds
            if stalled or time.monotonic() > deadline:
                why = (
                    f"nothing moved for {self.settings.stall_seconds:.0f} s"
                    if stalled
                    else f"not within {self.settings.timeout_seconds:.0f} s"
                )
                self._note(f"given up: {why}", completed, total)
                self.tally.unfinished = [
                    f"{total - completed} of {total} not Completed ({why}); log "
                    f"{self.operator.log_path}; reviews pending {self.reviewer.pending()}",
                    *unfinished(objects, targets),
                ]
                break
            time.sleep(POLL_SECONDS)
        self.tally.seconds = time.monotonic() - self._started
        self.tally.events_left = events
        if not self.tally.unfinished:
            self._note("every renewal Completed", completed, total)

    def _disrupt(self, event: str, completed: int, total: int) -> None:
        if event == KILL:
            self.operator.kill()
            self.tally.kills += 1
            self._note(f"SIGKILL operator #{self.tally.kills}", completed, total)
            self.operator.start()
            self._note("operator started and ready", completed, total)
        else:
            assert self.operator.running, "the API server is restarted only under a live operator"
            stopped = time.monotonic()
            self.plane.restart(down_seconds=self.settings.apiserver_down_seconds, hard=True)
            outage = time.monotonic() - stopped
            self.tally.apiserver_restarts += 1
            self.tally.apiserver_outage_seconds.append(outage)
            self._note(f"control plane SIGKILLed, restarted ({outage:.1f} s out)", completed, total)


def restart_cost(operator: OperatorProcess, sim: Sim, quiet_seconds: float = 3.0) -> Counter[str]:
    """The Twilio requests one more SIGKILL and start of the operator costs, by route: what each
    of the run's kills added for every renewal it found at rest (each renewal's worker starts
    again and reads Twilio before it decides). Counted until no request came for
    `quiet_seconds` (at most a minute)."""

    def by_route() -> Counter[str]:
        counts: Counter[str] = Counter()
        for row in sim.stats()["requests"]:
            route = row["route"].removeprefix("/v2/RegulatoryCompliance")
            counts[f"{row['method']} {route}"] += row["count"]
        return counts

    before = by_route()
    operator.kill()
    operator.start()
    last, quiet_since, deadline = before, time.monotonic(), time.monotonic() + 60
    while time.monotonic() - quiet_since < quiet_seconds and time.monotonic() < deadline:
        time.sleep(0.25)
        now = by_route()
        if now != last:
            last, quiet_since = now, time.monotonic()
    return last - before
