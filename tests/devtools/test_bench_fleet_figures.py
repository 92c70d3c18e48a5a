"""Figures bench-fleet derives from what it reads (bench/fleet.py, bench/fleet_kube.py)."""

from __future__ import annotations

from typing import Any

import kubernetes.client
import pytest

from bench.fleet import decision_to_completed
from bench.fleet_kube import Fleet


class Listed(Fleet):
    """A fleet whose listing is given, not read from an API server."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(kubernetes.client.ApiClient(), "fleet")
        self.items = items

    def _list(self, **params: Any) -> dict[str, Any]:
        return {"items": self.items}


def record(submitted: str, completed: str) -> dict[str, str]:
    return {"submittedAt": submitted, "completedAt": completed}


def test_the_last_renewal_is_the_newest_record_which_history_keeps_first() -> None:
    older = record("2026-12-01T09:00:00Z", "2026-12-01T09:00:30Z")
    newer = record("2026-12-01T10:00:00Z", "2026-12-01T10:00:02.5Z")
    fleet = Listed(
        [
            {"status": {"history": [newer, older]}},
            {"status": {}},  # no renewal yet
            {"status": {"history": [record("2026-12-01T10:00:00Z", "2026-12-01T10:00:03Z")]}},
        ]
    )
    assert fleet.last_renewals()[0] is newer

    # The simulator decides 2 s after the submission: 0.5 s and 1.0 s from decision to Completed.
    figures = decision_to_completed(fleet.last_renewals(), review_seconds=2.0)
    assert figures["renewals"] == 2
    assert figures["median"] == pytest.approx(0.75)
    assert figures["p90"] == pytest.approx(1.0)


def test_renewals_without_both_times_are_left_out() -> None:
    in_flight = {"submittedAt": "2026-12-01T10:00:00Z"}
    assert decision_to_completed([in_flight], review_seconds=2.0) == {
        "renewals": 0,
        "median": None,
        "p90": None,
    }
