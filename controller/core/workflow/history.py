"""status.history: the last few renewals, so that what happened stays visible after the copy is
gone (and nobody has to read events, which expire, or logs).

The renewal in flight is the first record (outcome InProgress); the steps update it as they go:
started (copies.py), copy and evaluation known, submitted, rejected, approved, completed. Each
update is part of a status the step writes anyway (a phase change, the renewal's start
checkpoint), so the history costs no status write of its own. Only SIDs, times, counts and
Twilio's texts are kept, never attribute values. At most `policy.history_limit` records.
"""

from __future__ import annotations

from typing import Any

from controller.core.models import (
    BundleRenewalStatus,
    DocumentFailure,
    RenewalOutcome,
    RenewalRecord,
    RenewalTrigger,
)
from controller.core.twilio_models import Bundle
from controller.core.workflow.at_rest import renewal_requested
from controller.core.workflow.context import Context

# Rejection reasons kept per renewal: a copy rejected round after round keeps the latest ones.
MAX_REJECTIONS = 20


def in_flight(status: BundleRenewalStatus) -> RenewalRecord | None:
    """The record of the renewal in flight, if any."""
    if status.history and status.history[0].outcome is RenewalOutcome.IN_PROGRESS:
        return status.history[0]
    return None


def triggers(ctx: Context, original: Bundle) -> list[RenewalTrigger]:
    """What starts a renewal now: the reasons `renewal_due_reasons` finds, else a spec change
    (the only other way a renewal starts)."""
    found = []
    valid_until = original.valid_until
    not_cleared = ctx.resource.status.valid_until_not_cleared
    if valid_until is not None and (not_cleared is None or valid_until > not_cleared):
        found.append(RenewalTrigger.VALID_UNTIL)
    if renewal_requested(ctx.resource):
        found.append(RenewalTrigger.RENEWAL_REQUEST)
    return found or [RenewalTrigger.SPEC_CHANGE]


def start(ctx: Context, status: BundleRenewalStatus, original: Bundle) -> BundleRenewalStatus:
    """A new record for the renewal that starts now, unless one is in flight already (a lost
    copy is replaced within the same renewal)."""
    if in_flight(status) is not None:
        return status
    record = RenewalRecord(
        triggers=triggers(ctx, original),
        valid_until=original.valid_until,
        generation=ctx.generation,
        started_at=ctx.now,
    )
    return _keep(ctx, status, [record, *status.history])


def update(ctx: Context, status: BundleRenewalStatus, **changes: Any) -> BundleRenewalStatus:
    """The record in flight with `changes`; a record is made for a renewal found under way
    without one (trigger `adopted`: a status lost in a crash, or an older version's)."""
    record = in_flight(status)
    if record is None:
        new = RenewalRecord(triggers=[RenewalTrigger.ADOPTED], generation=ctx.generation)
        return _keep(ctx, status, [new.model_copy(update=changes), *status.history])
    updated = record.model_copy(update=changes)
    if updated == record:
        return status
    return _keep(ctx, status, [updated, *status.history[1:]])


def submitted(
    ctx: Context, status: BundleRenewalStatus, generation: int | None
) -> BundleRenewalStatus:
    """The submission on the record; `generation` None (a submission a crash kept out of status)
    leaves the record's generation as it was rather than guess one."""
    record = in_flight(status)
    rounds = record.review_rounds if record is not None else 0
    changes: dict[str, object] = {"submitted_at": ctx.now, "review_rounds": rounds + 1}
    if generation is not None:
        changes["generation"] = generation
    return update(ctx, status, **changes)


def rejected(
    ctx: Context, status: BundleRenewalStatus, failures: list[DocumentFailure]
) -> BundleRenewalStatus:
    """Record a rejection once per review round (the re-checks while it waits add nothing)."""
    record = in_flight(status)
    if (
        record is not None
        and record.rejected_at is not None
        and (record.submitted_at is None or record.rejected_at >= record.submitted_at)
    ):
        return status
    kept = record.rejections if record is not None else []
    return update(ctx, status, rejected_at=ctx.now, rejections=[*kept, *failures][-MAX_REJECTIONS:])


def approved(ctx: Context, status: BundleRenewalStatus) -> BundleRenewalStatus:
    record = in_flight(status)
    if record is not None and record.approved_at is not None:
        return status
    return update(ctx, status, approved_at=ctx.now)


def ended(
    ctx: Context, status: BundleRenewalStatus, outcome: RenewalOutcome
) -> BundleRenewalStatus:
    """The record in flight closed with `outcome` (its items are in the original)."""
    return update(ctx, status, outcome=outcome, completed_at=ctx.now)


def _keep(
    ctx: Context, status: BundleRenewalStatus, records: list[RenewalRecord]
) -> BundleRenewalStatus:
    return status.model_copy(update={"history": records[: ctx.policy.history_limit]})
