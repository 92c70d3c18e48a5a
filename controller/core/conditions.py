"""kstatus conditions on a BundleRenewal's or a ComplianceAccount's status: set and read them,
lastTransitionTime kept stable.

One helper so every condition change follows the same rules (as cert-manager's conditions util):
`lastTransitionTime` moves only when a condition's status flips; reason, message and
observedGeneration are refreshed on every set. Pure: the time is passed in.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from controller.core.models import (
    BundleRenewalStatus,
    Condition,
    ConditionStatus,
    ConditionType,
)
from controller.core.models.account import ComplianceAccountStatus

S = TypeVar("S", BundleRenewalStatus, ComplianceAccountStatus)


def get_condition(
    status: BundleRenewalStatus | ComplianceAccountStatus, type_: ConditionType
) -> Condition | None:
    """The condition of this type, if any."""
    for condition in status.conditions:
        if condition.type == type_:
            return condition
    return None


def is_true(status: BundleRenewalStatus | ComplianceAccountStatus, type_: ConditionType) -> bool:
    condition = get_condition(status, type_)
    return condition is not None and condition.status == ConditionStatus.TRUE


def set_condition(
    status: S,
    type_: ConditionType,
    value: bool | ConditionStatus,
    reason: str,
    message: str,
    *,
    observed_generation: int | None,
    now: datetime,
) -> S:
    """A copy of `status` with the condition set. Its lastTransitionTime is `now` if the condition
    is new or its status changed, otherwise the previous one. Conditions keep a stable order
    (Ready, Reconciling, Stalled, then anything else)."""
    if isinstance(value, bool):
        value = ConditionStatus.TRUE if value else ConditionStatus.FALSE
    previous = get_condition(status, type_)
    transition = (
        previous.last_transition_time if previous is not None and previous.status == value else now
    )
    updated = Condition(
        type=type_,
        status=value,
        reason=reason,
        message=message,
        observed_generation=observed_generation,
        last_transition_time=transition,
    )
    others: list[Condition] = [c for c in status.conditions if c.type != type_]
    order = list(ConditionType)
    conditions = sorted([*others, updated], key=lambda c: order.index(c.type))
    return status.model_copy(update={"conditions": conditions})
