"""Conditions: lastTransitionTime moves only when the status flips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.core.conditions import get_condition, is_true, set_condition
from controller.core.models import BundleRenewalStatus, ConditionStatus, ConditionType

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def test_new_condition_gets_now_as_transition_time() -> None:
    status = set_condition(
        BundleRenewalStatus(), ConditionType.READY, False, "X", "m", observed_generation=1, now=T0
    )
    ready = get_condition(status, ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.reason, ready.last_transition_time) == ("False", "X", T0)


def test_same_status_keeps_transition_time_but_updates_the_rest() -> None:
    s = set_condition(
        BundleRenewalStatus(), ConditionType.READY, False, "A", "a", observed_generation=1, now=T0
    )
    s = set_condition(s, ConditionType.READY, False, "B", "b", observed_generation=2, now=T1)
    ready = get_condition(s, ConditionType.READY)
    assert ready is not None
    assert (ready.reason, ready.message, ready.observed_generation) == ("B", "b", 2)
    assert ready.last_transition_time == T0


def test_flip_moves_transition_time() -> None:
    s = set_condition(
        BundleRenewalStatus(), ConditionType.READY, False, "A", "", observed_generation=1, now=T0
    )
    s = set_condition(s, ConditionType.READY, True, "A", "", observed_generation=1, now=T1)
    ready = get_condition(s, ConditionType.READY)
    assert ready is not None
    assert ready.last_transition_time == T1
    assert is_true(s, ConditionType.READY)


def test_conditions_are_kept_in_a_stable_order_and_unique() -> None:
    s = BundleRenewalStatus()
    for type_ in (ConditionType.STALLED, ConditionType.READY, ConditionType.RECONCILING):
        s = set_condition(
            s, type_, ConditionStatus.UNKNOWN, "R", "", observed_generation=None, now=T0
        )
    s = set_condition(s, ConditionType.READY, True, "R", "", observed_generation=None, now=T1)
    assert [c.type for c in s.conditions] == ["Ready", "Reconciling", "Stalled"]
    assert not is_true(s, ConditionType.STALLED)


def test_wire_form_is_camel_case() -> None:
    s = set_condition(
        BundleRenewalStatus(), ConditionType.READY, True, "R", "", observed_generation=3, now=T0
    )
    wire = s.to_wire()
    assert wire["conditions"][0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert wire["conditions"][0]["observedGeneration"] == 3
    assert BundleRenewalStatus.model_validate(wire) == s
