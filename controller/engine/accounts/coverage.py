"""Which of an account's deadlines a BundleRenewal covers, and the ComplianceAccount status that
says so. Pure: the bundles, regulations and renewals are read elsewhere (accounts/reads.py).

A bundle is covered when a BundleRenewal names it (`spec.bundleSid`) and that renewal's
credentials are the same account's: a renewal whose Secret names another account, or could not
be read, covers nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from controller.core.conditions import set_condition
from controller.core.models import ConditionType
from controller.core.models.account import DEADLINES_SHOWN, ComplianceAccountStatus, Deadline
from controller.core.plan.markers import copy_owner
from controller.core.twilio_models import Bundle, Regulation


@dataclass(frozen=True)
class RenewalRef:
    """A BundleRenewal as coverage needs it (no spec values)."""

    namespace: str
    name: str
    bundle_sid: str
    account_sid: str | None
    """The account its credentials Secret names; None: the Secret could not be read."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Coverage:
    """A scan's findings: the account's dated bundles, soonest first, each with its cover."""

    deadlines: list[Deadline]

    @property
    def uncovered(self) -> list[Deadline]:
        return [d for d in self.deadlines if d.covered_by is None]

    def covering(self, renewals: Mapping[str, str]) -> Coverage:
        """These findings with more covers (bundle SID -> namespace/name of a renewal)."""
        return Coverage(
            [
                d.model_copy(update={"covered_by": renewals[d.bundle_sid]})
                if d.covered_by is None and d.bundle_sid in renewals
                else d
                for d in self.deadlines
            ]
        )

    def counts(self) -> tuple[int, int, int]:
        """(with a deadline, covered, uncovered)."""
        uncovered = len(self.uncovered)
        return len(self.deadlines), len(self.deadlines) - uncovered, uncovered


def dated_originals(bundles: Iterable[Bundle]) -> list[Bundle]:
    """The bundles with a valid_until, renewal copies aside (they are covered by definition),
    soonest first (whatever order the pages came in)."""
    dated = [
        b for b in bundles if b.valid_until is not None and copy_owner(b.friendly_name) is None
    ]
    return sorted(dated, key=lambda b: (b.valid_until, b.sid))


def coverage(
    bundles: Iterable[Bundle],
    regulations: Mapping[str, Regulation],
    renewals: Iterable[RenewalRef],
    account_sid: str,
) -> Coverage:
    """Each dated original of the account with the first renewal (by namespace/name) covering
    it."""
    covering: dict[str, str] = {}
    for renewal in sorted(renewals, key=lambda r: r.key):
        if renewal.account_sid == account_sid:
            covering.setdefault(renewal.bundle_sid, renewal.key)
    deadlines = []
    for bundle in dated_originals(bundles):
        assert bundle.valid_until is not None
        regulation = regulations.get(bundle.regulation_sid or "")
        deadlines.append(
            Deadline(
                bundle_sid=bundle.sid,
                regulation_sid=bundle.regulation_sid,
                iso_country=regulation.iso_country if regulation else None,
                number_type=regulation.number_type if regulation else None,
                twilio_status=bundle.status.value,
                valid_until=bundle.valid_until,
                covered_by=covering.get(bundle.sid),
            )
        )
    # Soonest first; on the same date the uncovered first (what the cap must not hide).
    deadlines.sort(key=lambda d: (d.valid_until, d.covered_by is not None, d.bundle_sid))
    return Coverage(deadlines)


def scanned_status(
    previous: ComplianceAccountStatus,
    found: Coverage,
    *,
    generation: int | None,
    now: datetime,
    next_scan: datetime,
    message: str | None = None,
) -> ComplianceAccountStatus:
    """The status after a complete scan: counts, the soonest deadlines, Ready."""
    total, covered, uncovered = found.counts()
    open_ = found.uncovered
    status = previous.model_copy(
        update={
            "observed_generation": generation,
            "bundles_with_deadline": total,
            "covered": covered,
            "uncovered": uncovered,
            "next_deadline": found.deadlines[0].valid_until if found.deadlines else None,
            "next_uncovered_deadline": open_[0].valid_until if open_ else None,
            "deadlines": found.deadlines[:DEADLINES_SHOWN],
            "last_scan_time": now,
            "next_scan_time": next_scan,
            "message": message,
        }
    )
    summary = f"{total} bundles with a deadline, {covered} covered, {uncovered} uncovered" + (
        f"; next uncovered deadline {open_[0].valid_until:%Y-%m-%d}" if open_ else ""
    )
    return _conditions(
        status,
        ready=(True, "AllCovered" if uncovered == 0 else "Uncovered", summary),
        reconciling=(False, "Scanned", summary),
        stalled=(False, "Scanned", "nothing blocks the scans"),
        generation=generation,
        now=now,
    )


def failed_status(
    previous: ComplianceAccountStatus,
    reason: str,
    message: str,
    *,
    permanent: bool,
    generation: int | None,
    now: datetime,
    next_scan: datetime,
) -> ComplianceAccountStatus:
    """The status after a scan that could not finish: the last findings stay (they are still
    the best known), the conditions say why. A permanent problem (credentials, a refused list)
    is Stalled until the spec or the Secret changes; another one is retried (Reconciling)."""
    status = previous.model_copy(
        update={"observed_generation": generation, "next_scan_time": next_scan, "message": message}
    )
    return _conditions(
        status,
        ready=(False, reason, message),
        reconciling=(
            not permanent,
            reason,
            message if not permanent else "waits for the next scan or a spec change",
        ),
        stalled=(permanent, reason, message if permanent else "retried with a growing delay"),
        generation=generation,
        now=now,
    )


def _conditions(  # (a message is never empty: the API server stores "" as null and refuses it)
    status: ComplianceAccountStatus,
    *,
    ready: tuple[bool, str, str],
    reconciling: tuple[bool, str, str],
    stalled: tuple[bool, str, str],
    generation: int | None,
    now: datetime,
) -> ComplianceAccountStatus:
    for type_, (value, reason, message) in (
        (ConditionType.READY, ready),
        (ConditionType.RECONCILING, reconciling),
        (ConditionType.STALLED, stalled),
    ):
        status = set_condition(
            status, type_, value, reason, message, observed_generation=generation, now=now
        )
    return status
