"""What is known about an account's bundles: every bundle, soonest deadline first, with its
regulation, phone-number count, the BundleRenewals that cover it, and what the regulation now
wants that it lacks. The CLI's `scan` and `scaffold` use it whole; a ComplianceAccount its
deadline part.

Reads only. The bundles come from Twilio's Bundles list, twice: those with a valid_until
(`HasValidUntilDate=true`, `SortBy=valid-until`, `SortDirection=ASC`, optional `ValidUntilDate<`
and `ValidUntilDate>` bounds), then those without (`HasValidUntilDate=false`), so the order
never depends on where Twilio sorts bundles that have no date. Renewal copies the operator made
(friendly name `bundle-renewal <uid>`) are left out: they are covered by definition. A bundle's
phone numbers are counted from the account's IncomingPhoneNumbers (API v2010), which name their
bundle: numbers v2 has no count per bundle. What a bundle lacks comes from an Evaluation of the
original (POST .../Evaluations): Twilio records an evaluation and changes nothing else, the
bundle's status and items included.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from controller.adapters.twilio_gateway.port import BundleQuery, TwilioAccountReader
from controller.core.plan.markers import copy_owner
from controller.core.twilio_models import Bundle, Evaluation, Regulation

END_USER_TYPES = frozenset({"business", "individual"})
EVALUATIONS_AT_ONCE = 8


class Progress(Protocol):
    """What a long read reports to: records read after each page, and notes."""

    def __call__(self, count: int) -> None: ...

    def note(self, message: str) -> None: ...


class Silent:
    """Reports nothing (the operator's scans)."""

    def __call__(self, count: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def days_left(valid_until: datetime | None, now: datetime) -> int | None:
    """Whole days from now to the deadline, rounded down (negative once it has passed)."""
    if valid_until is None:
        return None
    return (valid_until - now) // timedelta(days=1)


@dataclass(frozen=True)
class Missing:
    """One thing the current regulation wants that the bundle lacks (names only, no values)."""

    requirement_name: str | None
    requirement_friendly_name: str | None
    object_type: str | None
    field: str | None  # None: the whole end-user or document is missing
    field_friendly_name: str | None
    error_code: int | None

    @property
    def end_user(self) -> bool:
        return self.object_type in END_USER_TYPES

    @property
    def whole_object(self) -> bool:
        """The document (22216) or end-user (22214) itself is missing, not only fields."""
        return self.error_code in (22214, 22216)


@dataclass(frozen=True)
class Coverage:
    namespace: str
    name: str
    phase: str | None


@dataclass
class BundleRow:
    bundle: Bundle
    days_left: int | None
    regulation: Regulation | None = None
    numbers: int | None = None
    covered_by: list[Coverage] | None = field(default_factory=list)
    """The BundleRenewals naming the bundle; None: unknown (no cluster to ask)."""
    missing: list[Missing] | None = None  # None: not evaluated
    compliant: bool | None = None


@dataclass(frozen=True)
class ScanOptions:
    due_only: bool = False
    until: datetime | None = None  # ValidUntilDate<
    since: datetime | None = None  # ValidUntilDate>
    numbers: bool = True
    evaluate: bool = True
    quiet: bool = False


@dataclass
class ScanResult:
    now: datetime
    rows: list[BundleRow]
    copies_skipped: int


def missing_of(evaluation: Evaluation) -> list[Missing]:
    """Every failing requirement field of an evaluation (a requirement with no failing field
    listed counts once, as a whole object)."""
    out: list[Missing] = []
    for result in evaluation.results:
        if result.passed:
            continue
        common: dict[str, Any] = {
            "requirement_name": result.requirement_name,
            "requirement_friendly_name": result.requirement_friendly_name,
            "object_type": result.object_type,
        }
        if not result.invalid:
            out.append(
                Missing(
                    **common, field=None, field_friendly_name=None, error_code=result.error_code
                )
            )
            continue
        code = result.error_code if result.error_code in (22214, 22216) else None
        for f in result.invalid:
            out.append(
                Missing(
                    **common,
                    field=f.object_field,
                    field_friendly_name=f.friendly_name,
                    error_code=code or f.error_code,
                )
            )
    return out


def coverage_by_bundle(renewals: list[dict[str, Any]]) -> dict[str, list[Coverage]]:
    """spec.bundleSid -> the BundleRenewals naming it."""
    covered: dict[str, list[Coverage]] = {}
    for item in renewals:
        sid = (item.get("spec") or {}).get("bundleSid")
        if not isinstance(sid, str):
            continue
        meta = item.get("metadata") or {}
        phase = (item.get("status") or {}).get("phase")
        covered.setdefault(sid, []).append(
            Coverage(meta.get("namespace", ""), meta.get("name", ""), phase)
        )
    return covered


async def scan(
    reader: TwilioAccountReader,
    options: ScanOptions,
    renewals: list[dict[str, Any]] | None,
    now: datetime,
    progress: Callable[[str], Progress] | None = None,
) -> ScanResult:
    """`renewals`: the BundleRenewals to match bundles with (None: coverage unknown)."""

    def reporter(what: str) -> Progress:
        return progress(what) if progress else Silent()

    bundles = await reader.list_bundles(
        deadline_query(options.until, options.since), reporter("bundles with a valid_until")
    )
    if not (options.due_only or options.until or options.since):
        bundles += await reader.list_bundles(
            BundleQuery(has_valid_until_date=False), reporter("bundles without a valid_until")
        )
    originals = [b for b in bundles if copy_owner(b.friendly_name) is None]
    rows = [BundleRow(b, days_left(b.valid_until, now)) for b in originals]
    covered = coverage_by_bundle(renewals) if renewals is not None else None
    for row in rows:
        row.covered_by = covered.get(row.bundle.sid, []) if covered is not None else None

    if options.numbers:
        numbers = await reader.list_phone_numbers(reporter("phone numbers"))
        per_bundle = Counter(n.bundle_sid for n in numbers)
        for row in rows:
            row.numbers = per_bundle.get(row.bundle.sid, 0)

    regulations = await fetch_regulations(reader, {r.bundle.regulation_sid for r in rows})
    for row in rows:
        row.regulation = regulations.get(row.bundle.regulation_sid or "")

    if options.evaluate:
        await _evaluate(reader, [r for r in rows if r.bundle.valid_until is not None], reporter)
    return ScanResult(now, rows, len(bundles) - len(originals))


def deadline_query(
    until: datetime | None = None, since: datetime | None = None, page_size: int | None = None
) -> BundleQuery:
    """Twilio's list of the bundles with a valid_until, soonest first (the compliance-update
    guide's query), optionally bounded (`ValidUntilDate<`, `ValidUntilDate>`)."""
    return BundleQuery(
        has_valid_until_date=True,
        sort_by="valid-until",
        sort_direction="ASC",
        valid_until_date_before=until,
        valid_until_date_after=since,
        page_size=page_size,
    )


async def fetch_regulations(
    reader: TwilioAccountReader, sids: set[str | None], include_constraints: bool = True
) -> dict[str, Regulation]:
    """Each named regulation once."""
    wanted = sorted(s for s in sids if s)
    fetched = await asyncio.gather(
        *(reader.fetch_regulation(s, include_constraints) for s in wanted)
    )
    return dict(zip(wanted, fetched, strict=True))


async def _evaluate(
    reader: TwilioAccountReader, rows: list[BundleRow], reporter: Callable[[str], Progress]
) -> None:
    """An evaluation of each dated bundle, a few at a time (the gateway caps per account too)."""
    slots = asyncio.Semaphore(EVALUATIONS_AT_ONCE)
    report = reporter("evaluations")
    done = 0

    async def one(row: BundleRow) -> None:
        nonlocal done
        async with slots:
            evaluation = await reader.create_evaluation(row.bundle.sid)
        row.missing = missing_of(evaluation)
        row.compliant = evaluation.status == "compliant"
        done += 1
        if len(rows) > EVALUATIONS_AT_ONCE and (done % 50 == 0 or done == len(rows)):
            report.note(f"evaluations: {done}/{len(rows)}")

    await asyncio.gather(*(one(r) for r in rows))


def uncovered_within(result: ScanResult, horizon: datetime) -> list[BundleRow]:
    """Bundles whose valid_until falls before `horizon` and that no BundleRenewal is known to
    name (coverage unknown counts as uncovered: nothing shows a renewal)."""
    return [
        r
        for r in result.rows
        if r.bundle.valid_until is not None and r.bundle.valid_until <= horizon and not r.covered_by
    ]
