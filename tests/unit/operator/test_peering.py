"""Peering configuration (controller/operator/peering.py): distinct priorities, older replicas
first."""

from __future__ import annotations

import kopf
import pytest

from controller.core.settings import OperatorSettings
from controller.operator.peering import Peering, priority_from_start


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OperatorSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_an_earlier_start_gets_a_higher_priority_whatever_the_tie_break() -> None:
    second = 1_000_000_000
    assert priority_from_start(10 * second, 999) > priority_from_start(10 * second + 1_000_000, 0)
    # The same millisecond: the tie-break alone separates them.
    assert priority_from_start(10 * second, 1) != priority_from_start(10 * second + 5, 2)
    with pytest.raises(ValueError, match="tie_break"):
        priority_from_start(0, 1000)


def test_standalone_without_a_peering_name() -> None:
    peering = Peering.from_settings(OperatorSettings())
    assert not peering.enabled
    assert peering.plural is None
    assert peering.run_arguments() == {"standalone": True}


def test_a_peering_name_makes_peering_mandatory_with_a_start_time_priority(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEERING_NAME", "bundle-renewal-operator")
    settings = OperatorSettings()
    older = Peering.from_settings(settings, started_ns=1_700_000_000_000_000_000)
    younger = Peering.from_settings(settings, started_ns=1_700_000_000_001_000_000)
    assert older.priority > younger.priority
    assert older.run_arguments() == {
        "standalone": False,
        "peering_name": "bundle-renewal-operator",
        "priority": older.priority,
    }
    assert older.plural == "clusterkopfpeerings"
    kopf_settings = kopf.OperatorSettings()
    older.configure(kopf_settings)
    assert kopf_settings.peering.lifetime == 60


def test_namespaced_operators_peer_through_kopfpeerings_and_priority_can_be_fixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEERING_NAME", "bro")
    monkeypatch.setenv("WATCH_NAMESPACES", "telecom")
    monkeypatch.setenv("PEERING_PRIORITY", "100")
    monkeypatch.setenv("PEERING_LIFETIME_SECONDS", "15")
    peering = Peering.from_settings(OperatorSettings())
    assert (peering.plural, peering.priority, peering.lifetime) == ("kopfpeerings", 100, 15)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PEERING_NAME", "Not_A_Name"),
        ("PEERING_LIFETIME_SECONDS", "5"),
        ("PEERING_PRIORITY", "high"),
    ],
)
def test_bad_peering_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name.lower()):
        OperatorSettings()


def test_an_empty_priority_means_derived(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERING_PRIORITY", "")
    assert OperatorSettings().peering_priority is None


def test_the_pod_name_is_the_peering_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERING_NAME", "bro")
    assert "identity" not in Peering.from_settings(OperatorSettings()).run_arguments()
    monkeypatch.setenv("POD_NAME", "bundle-renewal-operator-5d9c7b8f6-x2x7q")
    arguments = Peering.from_settings(OperatorSettings()).run_arguments()
    assert arguments["identity"] == "bundle-renewal-operator-5d9c7b8f6-x2x7q"
