"""The chaos run's figures: Twilio requests per completed renewal against a fault-free baseline,
and the faults the simulator injected, by kind.

Requests are counted by the simulator per account, whatever their answer (429s, 500s and dropped
connections included: each is a request Twilio would have received). Renewals reviewed
automatically and renewals rejected once by hand cost different numbers of requests, so each
kind is compared with its own kind in the baseline, and the ratio is the chaos phase's total
over what the same mix of renewals cost without faults.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.chaos.fleet import Group

#: The simulator's status for a dropped connection (twilio_sim.admin.DROPPED).
DROPPED = 0


def requests_by_account(stats: dict[str, Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in stats["requests"]:
        counts[row["account_sid"]] += row["count"]
    return counts


def group_requests(counts: Counter[str], group: Group) -> int:
    return sum(counts[a.sid] for a in group.accounts)


def completed(group: Group, done: set[str] | None) -> int:
    """How many of the group's renewals completed (`done`: their names; None: all)."""
    return sum(1 for r in group.renewals if done is None or r.name in done)


def routes_per_renewal(
    stats: dict[str, Any], group: Group, done: set[str] | None = None
) -> dict[str, float]:
    """`METHOD route` -> requests per completed renewal of the group (any answer)."""
    accounts = {a.sid for a in group.accounts}
    counts: Counter[str] = Counter()
    for row in stats["requests"]:
        if row["account_sid"] in accounts:
            route = row["route"].removeprefix("/v2/RegulatoryCompliance")
            counts[f"{row['method']} {route}"] += row["count"]
    return {route: n / max(completed(group, done), 1) for route, n in sorted(counts.items())}


def where_the_extra_goes(
    baseline: dict[str, Any], final: dict[str, Any], groups: dict[str, Group], done: set[str]
) -> list[str]:
    """Per route, requests per automatically reviewed renewal: chaos vs fault-free."""
    chaos = routes_per_renewal(final, groups["chaos-auto"], done)
    base = routes_per_renewal(baseline, groups["baseline-auto"])
    return [
        f"{route}: {chaos.get(route, 0):.2f} vs {base.get(route, 0):.2f}"
        for route in sorted(set(chaos) | set(base))
    ]


def faults_by_kind(stats: dict[str, Any], groups: list[Group]) -> dict[str, int]:
    """429s, 500s and dropped connections the groups' accounts received."""
    accounts = {a.sid for g in groups for a in g.accounts}
    statuses: Counter[int] = Counter()
    for row in stats["requests"]:
        if row["account_sid"] in accounts:
            statuses[row["status"]] += row["count"]
    return {"429": statuses[429], "500": statuses[500], "dropped": statuses[DROPPED]}


@dataclass(frozen=True)
class PerRenewal:
    baseline_auto: float
    baseline_by_hand: float | None
    chaos_auto: float
    chaos_by_hand: float | None
    chaos_total: int
    expected_total: float  # the chaos mix at baseline cost

    @property
    def ratio(self) -> float:
        return self.chaos_total / self.expected_total

    def lines(self) -> list[str]:
        def each(chaos: float | None, base: float | None) -> str:
            if chaos is None or base is None:
                return "-"
            return f"{chaos:.1f} under chaos, {base:.1f} fault-free ({chaos / base:.2f}x)"

        return [
            f"automatic review: {each(self.chaos_auto, self.baseline_auto)}",
            f"rejected once by hand, fixed, approved: "
            f"{each(self.chaos_by_hand, self.baseline_by_hand)}",
            f"all: {self.chaos_total} requests under chaos for {self.expected_total:.0f} "
            f"fault-free: ratio {self.ratio:.2f}",
        ]


def per_renewal(
    baseline_counts: Counter[str],
    final_counts: Counter[str],
    groups: dict[str, Group],
    done: set[str],
) -> PerRenewal:
    """Requests per completed renewal (`done`: the names of the chaos phase's completed ones;
    the baseline's all completed, or the run stopped there)."""

    def mean(counts: Counter[str], group: Group, done: set[str] | None = None) -> float | None:
        if not completed(group, done):
            return None
        return group_requests(counts, group) / completed(group, done)

    base_auto = mean(baseline_counts, groups["baseline-auto"])
    base_hand = mean(baseline_counts, groups["baseline-by-hand"])
    assert base_auto is not None, "the baseline needs at least one renewal"
    chaos_auto, chaos_hand = groups["chaos-auto"], groups["chaos-by-hand"]
    expected = completed(chaos_auto, done) * base_auto + completed(chaos_hand, done) * (
        base_hand or 0
    )
    return PerRenewal(
        baseline_auto=base_auto,
        baseline_by_hand=base_hand,
        chaos_auto=mean(final_counts, chaos_auto, done) or 0.0,
        chaos_by_hand=mean(final_counts, chaos_hand, done),
        chaos_total=group_requests(final_counts, chaos_auto)
        + group_requests(final_counts, chaos_hand),
        expected_total=expected,
    )
