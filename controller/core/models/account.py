"""The ComplianceAccount resource: one Twilio account whose every bundle the cluster watches for
deadlines, whether or not a BundleRenewal names it.

The status holds counts, SIDs, regulation facts and dates only: never a bundle's friendly name,
email or other customer text (they can hold personal data), never a credential. Pure data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from controller.core.models.phases import Condition
from controller.core.models.spec import LocalObjectReference
from controller.core.models.wire import BUNDLE_SID_PATTERN
from controller.core.models.wire import WireModel as _WireModel

ACCOUNT_KIND = "ComplianceAccount"
ACCOUNT_PLURAL = "complianceaccounts"
#: At most this many deadlines are listed in status (the counts cover them all).
DEADLINES_SHOWN = 50
DURATION_PATTERN = r"^([0-9]+(s|m|h|d))+$"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_SCAN_INTERVAL = timedelta(minutes=1)


def parse_interval(text: str) -> timedelta:
    """`1h`, `90m`, `1h30m`, `2d` -> a timedelta (the pattern above is checked first)."""
    seconds, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            seconds += int(number) * _UNITS[char]
            number = ""
    return timedelta(seconds=seconds)


class StatusCallbacks(StrEnum):
    KEEP = "Keep"
    """Write nothing to the account's bundles."""
    REGISTER = "Register"
    """Set the operator's callback URL on every approved bundle that has no StatusCallback
    (never one the customer set), so that a regulation change arrives in seconds."""


class RenewalCreation(StrEnum):
    NEVER = "Never"
    """Report uncovered bundles only."""
    DRY_RUN = "DryRun"
    """Create a BundleRenewal with dryRun: true for each uncovered bundle with a deadline; a
    person turns dryRun off."""


class RenewalTemplate(_WireModel):
    """What the BundleRenewals the operator creates start from."""

    labels: dict[str, str] = Field(default_factory=dict)
    """Labels of each created BundleRenewal (the operator adds its own two)."""
    spec: dict[str, Any] = Field(default_factory=dict)
    """BundleRenewal spec fields other than bundleSid, dryRun and credentialsSecretRef (the
    account's Secret is used)."""

    @field_validator("spec")
    @classmethod
    def _no_managed_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted({"bundleSid", "dryRun", "credentialsSecretRef"} & set(value))
        if taken:
            raise ValueError(f"renewals.template.spec may not set {', '.join(taken)}")
        return value


class RenewalsSpec(_WireModel):
    """BundleRenewals the operator may create for uncovered bundles."""

    create: RenewalCreation = RenewalCreation.NEVER
    """Never (the default) or DryRun."""
    template: RenewalTemplate = Field(default_factory=RenewalTemplate)
    """Labels and spec fields of the BundleRenewals created."""


class ComplianceAccountSpec(_WireModel):
    """One Twilio account to watch."""

    credentials_secret_ref: LocalObjectReference
    """Secret in this namespace with the account's credentials (the keys a BundleRenewal's
    Secret has)."""
    scan_interval: str = Field(default="1h", pattern=DURATION_PATTERN)
    """How often every bundle with a deadline is listed (at least 1m), e.g. 1h, 30m, 1d."""
    status_callbacks: StatusCallbacks = StatusCallbacks.KEEP
    """Keep (the default) or Register (needs the operator's WEBHOOK_PUBLIC_URL)."""
    renewals: RenewalsSpec = Field(default_factory=RenewalsSpec)
    """Creating BundleRenewals for uncovered bundles (off by default)."""

    @property
    def interval(self) -> timedelta:
        return max(parse_interval(self.scan_interval), MIN_SCAN_INTERVAL)


class Deadline(_WireModel):
    """A bundle of the account with a valid_until: renew it by then."""

    bundle_sid: str = Field(pattern=BUNDLE_SID_PATTERN)
    """The bundle (BU...)."""
    regulation_sid: str | None = None
    """Its regulation (RN...)."""
    iso_country: str | None = None
    """The regulation's country."""
    number_type: str | None = None
    """The regulation's number type (local, mobile, national, toll-free)."""
    twilio_status: str
    """The bundle's status at Twilio."""
    valid_until: datetime
    """Twilio's deadline."""
    covered_by: str | None = None
    """namespace/name of a BundleRenewal naming the bundle with credentials of this account;
    unset: none."""


class ComplianceAccountStatus(_WireModel):
    """What the last scan found."""

    observed_generation: int | None = None
    """metadata.generation the last scan was made for."""
    bundles_with_deadline: int | None = None
    """Bundles of the account (renewal copies aside) with a valid_until."""
    covered: int | None = None
    """Of those, the ones a BundleRenewal covers."""
    uncovered: int | None = None
    """Of those, the ones none covers."""
    next_deadline: datetime | None = None
    """The soonest valid_until of them all."""
    next_uncovered_deadline: datetime | None = None
    """The soonest valid_until of an uncovered bundle."""
    deadlines: list[Deadline] = Field(default_factory=list)
    """The soonest deadlines (on one date, the uncovered first), at most 50."""
    callbacks_registered: int | None = None
    """Approved bundles of the account that call the operator back: those this resource (or
    another on the same account) gave the operator's StatusCallback (statusCallbacks:
    Register)."""
    renewals_created: int | None = None
    """BundleRenewals this resource created (renewals.create: DryRun), in all."""
    last_scan_time: datetime | None = None
    """When the last complete scan ended."""
    next_scan_time: datetime | None = None
    """When the next scan starts, unless a spec change or a callback comes first."""
    message: str | None = None
    """What the last scan could not do, if anything."""
    conditions: list[Condition] = Field(default_factory=list)
    """Ready, Reconciling and Stalled (kstatus)."""
