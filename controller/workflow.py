"""The renewal workflow as a pure decision: (resource, observation, now, policy) -> Decision.

Level-triggered: every reconcile starts from an empty Observation, and the workflow asks (through
`Observe` actions) for exactly the Twilio reads the current step needs, then names one write at a
time. Status is a record of what was seen and done, never the source of truth about Twilio: a
crash after any write is recovered by observing Twilio again (the copy is found by its marker,
its status says whether it was submitted, an approved copy without items was already replaced).
No I/O, no clock, no environment: `now` and `policy` are arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.conditions import get_condition, set_condition
from controller.models import (
    AppliedDocument,
    AppliedSummary,
    BundleRenewalSpec,
    BundleRenewalStatus,
    ConditionType,
    DocumentFailure,
    EvaluationFailure,
    EvaluationStatus,
    OriginalBundleStatus,
    Phase,
    Reason,
    ReviewStatus,
    SupportingDocumentSpec,
    document_key,
)
from controller.plan import (
    Action,
    AssignItem,
    CreateCopy,
    CreateDocument,
    Decision,
    DeleteCopy,
    DeleteDocument,
    ErrorKind,
    Evaluate,
    Event,
    EventType,
    Observation,
    ObservationPart,
    Observe,
    Policy,
    RenewalResource,
    ReplaceItems,
    Submit,
    UnassignItem,
    UpdateDocument,
    UpdateEndUser,
    copy_marker,
    copy_owner,
    created_document_key,
    created_document_name,
    is_write,
    our_copies,
    utc,
)
from controller.twilio_models import (
    Bundle,
    BundleStatus,
    EndUser,
    Evaluation,
    SupportingDocument,
    SupportingDocumentStatus,
)
from controller.twilio_models import (
    EvaluationStatus as TwilioEvaluationStatus,
)

Part = ObservationPart

_IN_REVIEW = (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)
# A copy in review is polled after this fraction of the time already waited (within the policy's
# bounds): quick answers are seen quickly, a 24-hour review costs a few dozen GETs.
_REVIEW_POLL_FRACTION = 0.25


class _Stop(Exception):
    """Raised by the step functions to return a decision from deep inside (pure control flow)."""

    def __init__(self, decision: Decision):
        super().__init__(decision.status.message)
        self.decision = decision


@dataclass(frozen=True)
class _Ctx:
    resource: RenewalResource
    obs: Observation
    now: datetime
    policy: Policy

    @property
    def spec(self) -> BundleRenewalSpec:
        return self.resource.spec

    @property
    def generation(self) -> int:
        return self.resource.generation

    def need(self, *parts: Part, status: BundleRenewalStatus) -> None:
        missing = frozenset(p for p in parts if p not in self.obs.read)
        if missing:
            raise _Stop(Decision(action=Observe(parts=missing), status=status))


# --------------------------------------------------------------------------------------------
# Status helpers
# --------------------------------------------------------------------------------------------


def _state(
    ctx: _Ctx,
    status: BundleRenewalStatus,
    phase: Phase,
    reason: Reason,
    message: str,
    *,
    ready: bool = False,
    reconciling: bool = False,
    stalled: bool = False,
) -> BundleRenewalStatus:
    """`status` in `phase`, with message and the three kstatus conditions set consistently."""
    gen = ctx.generation
    status = status.model_copy(update={"phase": phase, "message": message})
    for type_, value in (
        (ConditionType.READY, ready),
        (ConditionType.RECONCILING, reconciling),
        (ConditionType.STALLED, stalled),
    ):
        status = set_condition(
            status, type_, value, reason, message, observed_generation=gen, now=ctx.now
        )
    return status


def _transitioned(before: BundleRenewalStatus, after: BundleRenewalStatus) -> bool:
    old = get_condition(before, ConditionType.READY)
    new = get_condition(after, ConditionType.READY)
    if before.phase != after.phase or old is None or new is None:
        return True
    return (old.status, old.reason, old.message) != (new.status, new.reason, new.message)


def _finish(
    ctx: _Ctx,
    status: BundleRenewalStatus,
    *,
    action: Action | None = None,
    event: Event | None = None,
    requeue_after: float | None = None,
) -> Decision:
    """The decision, with failure counters reset once the renewal rests (no write pending), and the
    event kept only for a write or a visible transition (no event storm while polling)."""
    if action is None and status.failed_attempts:
        status = status.model_copy(update={"failed_attempts": 0})
    if (
        event is not None
        and not is_write(action)
        and not _transitioned(ctx.resource.status, status)
    ):
        event = None
    return Decision(action=action, status=status, event=event, requeue_after=requeue_after)


def _normal(reason: Reason, message: str) -> Event:
    return Event(type=EventType.NORMAL, reason=reason, message=message)


def _stalled(
    ctx: _Ctx, status: BundleRenewalStatus, phase: Phase, reason: Reason, message: str
) -> Decision:
    """Waiting on the user (or on a fix outside the operator): Stalled, a Warning, and only the
    periodic light check until the spec or Twilio's state changes."""
    status = _state(ctx, status, phase, reason, message, stalled=True)
    return _finish(
        ctx, status, event=_warning(reason, message), requeue_after=ctx.policy.check_interval
    )


def _warning(reason: Reason, message: str) -> Event:
    return Event(type=EventType.WARNING, reason=reason, message=message)


# --------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------


def renewal_due_reasons(resource: RenewalResource, original: Bundle) -> list[str]:
    """Why a renewal is due whatever the bundle holds (empty: no such reason): Twilio set a
    valid_until on the original (other than one the last renewal failed to clear), or
    spec.renewalRequest changed. A new spec generation is no such reason: the spec is compared
    with the original first, and only a difference renews (see `_spec_changes`)."""
    status = resource.status
    reasons = []
    valid_until, not_cleared = original.valid_until, status.valid_until_not_cleared
    if valid_until is not None and (not_cleared is None or valid_until > not_cleared):
        reasons.append(f"bundle {original.sid} valid until {valid_until.isoformat()}")
    if _renewal_requested(resource):
        reasons.append("renewal requested")
    return reasons


def _renewal_requested(resource: RenewalResource) -> bool:
    request = resource.spec.renewal_request
    return request is not None and request != resource.status.last_renewal_request


def decide(
    resource: RenewalResource, observation: Observation, now: datetime, policy: Policy
) -> Decision:
    """The next step of the renewal of `resource`, given what has been observed so far."""
    ctx = _Ctx(resource, observation, utc(now), policy)
    status = resource.status.model_copy(update={"observed_generation": resource.generation})
    try:
        return _decide(ctx, status)
    except _Stop as stop:
        return stop.decision


def _decide(ctx: _Ctx, status: BundleRenewalStatus) -> Decision:
    spec, obs = ctx.spec, ctx.obs
    if spec.suspend:
        return _suspended(ctx, status)

    # Respect the backoff after failures, unless the spec changed (a fix deserves a prompt try).
    previous = ctx.resource.status
    if (
        not obs.read
        and previous.failed_attempts > 0
        and previous.last_failure_time is not None
        and previous.observed_generation == ctx.generation
    ):
        delay = backoff_delay(previous.failed_attempts, ctx.policy)
        waited = (ctx.now - previous.last_failure_time).total_seconds()
        if waited < delay:
            return Decision(status=status, requeue_after=delay - waited)

    # While Twilio reviews the copy, polling the copy is all there is to do.
    if (
        status.phase == Phase.IN_REVIEW
        and status.copy_sid is not None
        and not obs.has(Part.ORIGINAL)
    ):
        ctx.need(Part.COPIES, status=status)
        _refuse_claimed(ctx, status)
        reviewing = our_copies(ctx.resource, obs)[:1]
        if reviewing and reviewing[0].status in _IN_REVIEW:
            return _in_review(ctx, status, reviewing[0])

    ctx.need(Part.ORIGINAL, status=status)
    original = obs.original
    if original is None:
        message = f"bundle {spec.bundle_sid} not found in the account of the credentials"
        return _stalled(ctx, status, Phase.FAILED, Reason.BUNDLE_NOT_FOUND, message)
    status = status.model_copy(
        update={
            "original": OriginalBundleStatus(
                status=original.status,
                valid_until=original.valid_until,
                regulation_sid=original.regulation_sid,
            )
        }
    )
    due = renewal_due_reasons(ctx.resource, original)
    if not due and status.copy_sid is None:
        due = _spec_changes(ctx, status)
        if not due:
            return _at_rest(ctx, status, original)
    if status.copy_sid is None and original.status != BundleStatus.TWILIO_APPROVED:
        return _original_not_approved(ctx, status, original)

    ctx.need(Part.COPIES, status=status)
    _refuse_claimed(ctx, status)
    ours = our_copies(ctx.resource, obs)
    if len(ours) > 1:
        return _delete_duplicate(ctx, status, ours)
    if not ours:
        return _no_copy(ctx, status, original, due)
    copy = ours[0]
    adopted_event = None
    if status.copy_sid != copy.sid:
        adopted_event = _normal(
            Reason.COPY_ADOPTED, f"renewing bundle {original.sid} through copy {copy.sid}"
        )
        status = status.model_copy(update={"copy_sid": copy.sid})

    if copy.status == BundleStatus.TWILIO_APPROVED:
        return _approved(ctx, status, original, copy)
    if copy.status in _IN_REVIEW or copy.status == BundleStatus.PROVISIONALLY_APPROVED:
        return _in_review(ctx, status, copy, adopted_event)
    if copy.status == BundleStatus.TWILIO_REJECTED and not _resubmission_wanted(ctx, status):
        return _rejected(ctx, status, copy)
    return _edit(ctx, status, copy, adopted_event)


def _suspended(ctx: _Ctx, status: BundleRenewalStatus) -> Decision:
    message = "suspended: no Twilio call is made while spec.suspend is true"
    ready = get_condition(status, ConditionType.READY)
    was_ready = ready is not None and ready.status == "True"
    status = _state(ctx, status, Phase.SUSPENDED, Reason.SUSPENDED, message, ready=was_ready)
    return _finish(ctx, status, event=_normal(Reason.SUSPENDED, message))


def _at_rest(ctx: _Ctx, status: BundleRenewalStatus, original: Bundle) -> Decision:
    """No renewal is due and none is in flight: Ready if the original is approved, unless the
    last renewal left a valid_until behind (then Stalled until Twilio clears it or something new
    starts one). The spec counts as applied: the original carries it."""
    status = status.model_copy(update={"applied_generation": ctx.generation})
    if original.status != BundleStatus.TWILIO_APPROVED:
        return _original_not_approved(ctx, status, original)
    not_cleared = status.valid_until_not_cleared
    if not_cleared is not None and original.valid_until is not None:
        return _valid_until_not_cleared(ctx, status, original, not_cleared)
    status = status.model_copy(update={"valid_until_not_cleared": None})
    return _up_to_date(ctx, status)


def _up_to_date(ctx: _Ctx, status: BundleRenewalStatus) -> Decision:
    message = f"bundle {ctx.spec.bundle_sid} is up to date"
    status = status.model_copy(update={"applied_generation": ctx.generation})
    status = _state(ctx, status, Phase.COMPLETED, Reason.UP_TO_DATE, message, ready=True)
    return _finish(
        ctx,
        status,
        event=_normal(Reason.UP_TO_DATE, message),
        requeue_after=ctx.policy.check_interval,
    )


def _original_not_approved(ctx: _Ctx, status: BundleRenewalStatus, original: Bundle) -> Decision:
    message = (
        f"bundle {original.sid} is {original.status}; only a twilio-approved bundle can be renewed"
    )
    return _stalled(ctx, status, Phase.FAILED, Reason.ORIGINAL_NOT_APPROVED, message)


def _valid_until_not_cleared(
    ctx: _Ctx, status: BundleRenewalStatus, original: Bundle, not_cleared: datetime
) -> Decision:
    valid_until = original.valid_until
    assert valid_until is not None
    message = (
        f"bundle {original.sid} still has valid_until {valid_until.isoformat()} after its items "
        f"were replaced (the last renewal was for {not_cleared.isoformat()}); not renewing again "
        "by itself: check the bundle with Twilio, then set a new spec.renewalRequest to retry"
    )
    return _stalled(ctx, status, Phase.FAILED, Reason.VALID_UNTIL_NOT_CLEARED, message)


def _refuse_claimed(ctx: _Ctx, status: BundleRenewalStatus) -> None:
    """Stop (Stalled, no write) if a copy of the bundle carries another resource's marker: two
    BundleRenewals renewing one bundle would submit twice and replace its items twice. The other
    copy is never touched; deleting the other resource deletes it."""
    uid, bundle_sid = ctx.resource.uid, ctx.spec.bundle_sid
    claims = [
        c
        for c in ctx.obs.copies
        if c.sid != bundle_sid and copy_owner(c.friendly_name) not in (None, uid)
    ]
    if not claims:
        return
    claim = claims[0]
    message = (
        f"bundle {bundle_sid} is being renewed by another BundleRenewal (uid "
        f"{copy_owner(claim.friendly_name)}) through copy {claim.sid}; waiting until that "
        "copy is gone (deleting that BundleRenewal deletes it)"
    )
    raise _Stop(_stalled(ctx, status, Phase.FAILED, Reason.BUNDLE_CLAIMED, message))


def _spec_changes(ctx: _Ctx, status: BundleRenewalStatus) -> list[str]:
    """What a new spec generation would change in the original bundle, compared the same way
    the copy is (field names and document keys, never values); empty: nothing, and the
    generation counts as applied. Reading only. A copy already carrying this resource's marker
    (a crash right after making it) means a renewal is under way: it is carried on."""
    spec, obs, generation = ctx.spec, ctx.obs, ctx.generation
    if ctx.resource.status.applied_generation == generation:
        return []
    parts = [Part.COPIES]
    if spec.end_user is not None and spec.end_user.attributes:
        parts += [Part.ORIGINAL_ITEMS, Part.ORIGINAL_END_USER]
    if spec.supporting_documents:
        parts += [Part.ORIGINAL_ITEMS, Part.ORIGINAL_DOCUMENTS]
    ctx.need(*parts, status=status)
    prefix = f"spec generation {generation} changes "
    ours = our_copies(ctx.resource, obs)
    if ours:
        return [f"spec generation {generation} is being applied through copy {ours[0].sid}"]
    changes = []
    if spec.end_user is not None and spec.end_user.attributes:
        changes += _end_user_changes(obs.original_end_user, spec.end_user.attributes)
    documents = obs.original_documents
    for index, entry in enumerate(spec.supporting_documents):
        key = document_key(spec, index)
        target = _find_document(ctx, status, entry, key, documents, in_original=True)
        if entry.remove:
            if target is not None:
                changes.append(f"{key} (removed)")
        elif target is None:
            changes.append(f"{key} (added)")
        else:
            changed = _merge(target.attributes, entry.attributes)[1]
            changes += [f"{key}.{name}" for name in changed]
    return [prefix + ", ".join(changes)] if changes else []


def _end_user_changes(end_user: EndUser | None, wanted: dict[str, Any]) -> list[str]:
    if end_user is None:
        return ["endUser (the bundle has none)"]
    return [f"endUser.{name}" for name in _merge(end_user.attributes, wanted)[1]]


def _delete_duplicate(ctx: _Ctx, status: BundleRenewalStatus, ours: list[Bundle]) -> Decision:
    keep, extra = ours[0], ours[-1]
    message = f"found {len(ours)} copies for this renewal; keeping {keep.sid}, deleting {extra.sid}"
    status = _state(
        ctx, status, Phase.IN_PROGRESS, Reason.DUPLICATE_COPY, message, reconciling=True
    )
    return _finish(
        ctx,
        status,
        action=DeleteCopy(copy_sid=extra.sid, original_sid=ctx.spec.bundle_sid),
        event=_warning(Reason.DUPLICATE_COPY, message),
    )


def _no_copy(ctx: _Ctx, status: BundleRenewalStatus, original: Bundle, due: list[str]) -> Decision:
    if status.copy_sid is not None and status.items_replaced_at is not None:
        return _completed(ctx, status, original)
    event = None
    if status.copy_sid is not None:
        event = _warning(
            Reason.COPY_LOST,
            f"copy {status.copy_sid} no longer exists and its items were not replaced",
        )
    status = status.model_copy(
        update={"copy_sid": None, "evaluation": None, "review": None, "items_replaced_at": None}
    )
    if not due:
        # The copy of a renewal for a spec change is gone: compare again.
        due = _spec_changes(ctx, status)
        if not due:
            return _at_rest(ctx, status, original)
    if original.status != BundleStatus.TWILIO_APPROVED:
        return _original_not_approved(ctx, status, original)
    message = "renewal due (" + "; ".join(due) + f"): copying bundle {original.sid}"
    status = status.model_copy(
        update={"renewing_valid_until": original.valid_until, "replaced_object_sids": []}
    )
    status = _state(ctx, status, Phase.IN_PROGRESS, Reason.CREATING_COPY, message, reconciling=True)
    action = CreateCopy(original_sid=original.sid, friendly_name=copy_marker(ctx.resource.uid))
    return _finish(ctx, status, action=action, event=event or _normal(Reason.RENEWAL_DUE, message))


def _approved(ctx: _Ctx, status: BundleRenewalStatus, original: Bundle, copy: Bundle) -> Decision:
    review = status.review or ReviewStatus()
    status = status.model_copy(
        update={"review": review.model_copy(update={"status": copy.status, "failure_reasons": []})}
    )
    ctx.need(Part.COPY_ITEMS, status=status)
    if not ctx.obs.copy_items:
        if not _items_moved_to(ctx, status, original):
            message = (
                f"approved copy {copy.sid} holds no items and bundle {original.sid} does not "
                "hold them either; deleting the copy and starting over"
            )
            status = status.model_copy(update={"items_replaced_at": None})
            status = _state(
                ctx, status, Phase.IN_PROGRESS, Reason.COPY_LOST, message, reconciling=True
            )
            return _finish(
                ctx,
                status,
                action=DeleteCopy(copy_sid=copy.sid, original_sid=original.sid),
                event=_warning(Reason.COPY_LOST, message),
            )
        # ReplaceItems moved the copy's items into the original (maybe before a crash). Only
        # the empty copy is left to clean up.
        first = status.items_replaced_at is None
        status = status.model_copy(
            update={"items_replaced_at": status.items_replaced_at or ctx.now}
        )
        message = f"items of copy {copy.sid} are in bundle {original.sid}; deleting the copy"
        status = _state(
            ctx, status, Phase.IN_PROGRESS, Reason.DELETING_COPY, message, reconciling=True
        )
        event = _normal(Reason.DELETING_COPY, message)
        if first:
            event = _normal(
                Reason.REPLACING_ITEMS, f"items of {original.sid} replaced from {copy.sid}"
            )
        return _finish(
            ctx,
            status,
            action=DeleteCopy(copy_sid=copy.sid, original_sid=original.sid),
            event=event,
        )
    if original.status != BundleStatus.TWILIO_APPROVED:
        return _original_not_approved(ctx, status, original)
    message = f"Twilio approved copy {copy.sid}; replacing the items of bundle {original.sid}"
    status = status.model_copy(
        update={"replaced_object_sids": [i.object_sid for i in ctx.obs.copy_items]}
    )
    status = _state(
        ctx, status, Phase.IN_PROGRESS, Reason.REPLACING_ITEMS, message, reconciling=True
    )
    return _finish(
        ctx,
        status,
        action=ReplaceItems(original_sid=original.sid, copy_sid=copy.sid),
        event=_normal(Reason.APPROVED, message),
    )


def _items_moved_to(ctx: _Ctx, status: BundleRenewalStatus, original: Bundle) -> bool:
    """Whether the items of an approved copy found empty are in the original (ReplaceItems ran,
    maybe before a crash): its valid_until (read in this reconcile) is cleared, or it holds the
    objects the copy held when ReplaceItems was requested."""
    if original.valid_until is None:
        return True
    if not status.replaced_object_sids:
        return False
    ctx.need(Part.ORIGINAL_ITEMS, status=status)
    held = {i.object_sid for i in ctx.obs.original_items}
    return set(status.replaced_object_sids) <= held


def _completed(ctx: _Ctx, status: BundleRenewalStatus, original: Bundle) -> Decision:
    review = status.review
    applied_generation = (
        review.submitted_generation
        if review is not None and review.submitted_generation is not None
        else ctx.generation
    )
    copy_sid, started_for = status.copy_sid, status.renewing_valid_until
    status = status.model_copy(
        update={
            "copy_sid": None,
            "applied_generation": applied_generation,
            "renewing_valid_until": None,
            "valid_until_not_cleared": None,
        }
    )
    valid_until = original.valid_until
    if valid_until is not None and started_for is not None and valid_until <= started_for:
        # ReplaceItems did not clear the valid_until it was meant to: renewing again would
        # only repeat this, review after review.
        status = status.model_copy(update={"valid_until_not_cleared": valid_until})
        decision = _valid_until_not_cleared(ctx, status, original, started_for)
        if decision.event is not None:
            event = decision.event.model_copy(
                update={"message": f"items of copy {copy_sid} replaced; {decision.event.message}"}
            )
            decision = decision.model_copy(update={"event": event})
        return decision
    status = status.model_copy(update={"completed_at": ctx.now})
    again = renewal_due_reasons(ctx.resource.model_copy(update={"status": status}), original)
    if applied_generation != ctx.generation:
        again.append(f"spec generation {ctx.generation} to compare with the bundle")
    message = f"bundle {original.sid} renewed"
    if again:
        message += "; another renewal is due (" + "; ".join(again) + ")"
    status = _state(ctx, status, Phase.COMPLETED, Reason.COMPLETED, message, ready=True)
    event = (_warning if again else _normal)(Reason.COMPLETED, message)
    return _finish(
        ctx,
        status,
        event=event,
        requeue_after=ctx.policy.review_poll_min if again else ctx.policy.check_interval,
    )


def _review_poll_delay(ctx: _Ctx, review: ReviewStatus) -> float:
    waited = 0.0
    if review.submitted_at is not None:
        waited = max(0.0, (ctx.now - review.submitted_at).total_seconds())
    policy = ctx.policy
    return min(policy.review_poll_max, max(policy.review_poll_min, waited * _REVIEW_POLL_FRACTION))


def _in_review(
    ctx: _Ctx, status: BundleRenewalStatus, copy: Bundle, event: Event | None = None
) -> Decision:
    review = status.review
    if review is None or review.status not in (*_IN_REVIEW, BundleStatus.PROVISIONALLY_APPROVED):
        # A new submission (ours, just now, or one a crash kept out of status): what was
        # submitted is what the last compliant evaluation saw.
        evaluated = status.evaluation.generation if status.evaluation else None
        review = ReviewStatus(
            submitted_at=ctx.now,
            submitted_generation=evaluated if evaluated is not None else ctx.generation,
        )
        status = status.model_copy(update={"last_renewal_request": ctx.spec.renewal_request})
        event = event or _normal(Reason.IN_REVIEW, f"copy {copy.sid} submitted for review")
    review = review.model_copy(update={"status": copy.status, "failure_reasons": []})
    message = f"copy {copy.sid} is {copy.status}; waiting for Twilio's review"
    status = status.model_copy(update={"review": review, "copy_sid": copy.sid})
    status = _state(ctx, status, Phase.IN_REVIEW, Reason.IN_REVIEW, message, reconciling=True)
    return _finish(
        ctx,
        status,
        event=event or _normal(Reason.IN_REVIEW, message),
        requeue_after=_review_poll_delay(ctx, review),
    )


def _resubmission_wanted(ctx: _Ctx, status: BundleRenewalStatus) -> bool:
    """A rejected copy is looked at again once the spec changed since its submission (it is
    resubmitted only if the change alters it, see `_edit`), or a renewal is requested."""
    review = status.review
    return (
        review is None
        or review.submitted_generation != ctx.generation
        or _renewal_requested(ctx.resource)
    )


def _rejected(ctx: _Ctx, status: BundleRenewalStatus, copy: Bundle) -> Decision:
    ctx.need(Part.COPY_ITEMS, Part.COPY_DOCUMENTS, status=status)
    failures = [
        DocumentFailure(document_sid=d.sid, type=d.type, failure_reason=d.failure_reason)
        for d in ctx.obs.copy_documents
        if d.failure_reason or d.status == SupportingDocumentStatus.REJECTED
    ]
    review = (status.review or ReviewStatus()).model_copy(
        update={"status": copy.status, "failure_reasons": failures}
    )
    details = "; ".join(f"{f.type} {f.document_sid}: {f.failure_reason}" for f in failures)
    message = (
        f"Twilio rejected copy {copy.sid}"
        + (f": {details}" if details else "")
        + "; change the spec to patch and resubmit it"
    )
    status = status.model_copy(update={"review": review})
    return _stalled(ctx, status, Phase.REJECTED, Reason.REJECTED, message)


# --------------------------------------------------------------------------------------------
# Editing the copy: end-user, documents, evaluation, submission
# --------------------------------------------------------------------------------------------


def _merge(current: dict[str, Any], wanted: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The attributes after applying `wanted` (a None value removes the field), and the names of
    the fields that change."""
    merged = dict(current)
    changed = []
    for name, value in wanted.items():
        if value is None:
            if name in merged:
                del merged[name]
                changed.append(name)
        elif merged.get(name) != value or name not in merged:
            merged[name] = value
            changed.append(name)
    return merged, changed


def _present(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


def _needs_original_documents(spec: BundleRenewalSpec) -> bool:
    return any(d.match is not None and d.match.original_sid for d in spec.supporting_documents)


def _permanent(ctx: _Ctx, status: BundleRenewalStatus, reason: Reason, message: str) -> _Stop:
    return _Stop(_stalled(ctx, status, Phase.FAILED, reason, message))


def _find_document(
    ctx: _Ctx,
    status: BundleRenewalStatus,
    entry: SupportingDocumentSpec,
    key: str,
    documents: tuple[SupportingDocument, ...],
    *,
    in_original: bool = False,
) -> SupportingDocument | None:
    """The document among `documents` (the copy's, or the original's when `in_original`) this
    spec entry means, or None if there is none."""
    uid = ctx.resource.uid
    created = [d for d in documents if created_document_key(uid, d.friendly_name) == key]
    if created:
        return created[0]
    candidates = [
        d
        for d in documents
        if d.type == entry.type and created_document_key(uid, d.friendly_name) is None
    ]
    match = entry.match
    if match is not None and match.friendly_name is not None:
        candidates = [d for d in candidates if d.friendly_name == match.friendly_name]
    elif match is not None and match.original_sid is not None:
        originals = [d for d in ctx.obs.original_documents if d.type == entry.type]
        source = next((d for d in originals if d.sid == match.original_sid), None)
        if source is None:
            raise _permanent(
                ctx,
                status,
                Reason.AMBIGUOUS_DOCUMENT,
                f"supportingDocuments {key}: bundle {ctx.spec.bundle_sid} has no "
                f"{entry.type} document {match.original_sid}",
            )
        same_name = [d for d in candidates if d.friendly_name == source.friendly_name]
        if in_original:
            candidates = [source]
        elif len(same_name) == 1:
            candidates = same_name
        elif len(candidates) == len(originals):
            # Twilio copies the items in order: the n-th of the type maps to the n-th.
            candidates = [candidates[originals.index(source)]]
    if len(candidates) > 1:
        sids = ", ".join(d.sid for d in candidates)
        raise _permanent(
            ctx,
            status,
            Reason.AMBIGUOUS_DOCUMENT,
            f"supportingDocuments {key}: the copy has {len(candidates)} {entry.type} documents "
            f"({sids}); add match.friendlyName or match.originalSid",
        )
    return candidates[0] if candidates else None


def _edit(ctx: _Ctx, status: BundleRenewalStatus, copy: Bundle, event: Event | None) -> Decision:
    spec, obs, uid = ctx.spec, ctx.obs, ctx.resource.uid
    parts = [Part.COPY_ITEMS]
    if spec.end_user is not None and spec.end_user.attributes:
        parts.append(Part.COPY_END_USER)
    if spec.supporting_documents:
        parts.append(Part.COPY_DOCUMENTS)
    if _needs_original_documents(spec):
        parts.append(Part.ORIGINAL_DOCUMENTS)
    ctx.need(*parts, status=status)

    def step(action: Action, reason: Reason, message: str) -> Decision:
        new = status
        if copy.status == BundleStatus.TWILIO_REJECTED and new.review is not None:
            new = new.model_copy(
                update={"review": new.review.model_copy(update={"patched_at": ctx.now})}
            )
        new = _state(ctx, new, Phase.IN_PROGRESS, reason, message, reconciling=True)
        return _finish(ctx, new, action=action, event=event or _normal(reason, message))

    applied = AppliedSummary()
    action: Action
    if spec.end_user is not None and spec.end_user.attributes:
        end_user = obs.copy_end_user
        if end_user is None:
            raise _permanent(
                ctx,
                status,
                Reason.PERMANENT_ERROR,
                f"copy {copy.sid} has no end-user to carry spec.endUser.attributes",
            )
        merged, changed = _merge(end_user.attributes, spec.end_user.attributes)
        if changed:
            action = UpdateEndUser(
                sid=end_user.sid, attributes=merged, changed_fields=tuple(changed)
            )
            return step(
                action,
                Reason.UPDATING,
                f"updating end-user {end_user.sid} fields {', '.join(changed)}",
            )
        applied = applied.model_copy(update={"end_user_fields": sorted(spec.end_user.attributes)})

    documents: list[AppliedDocument] = []
    for index, entry in enumerate(spec.supporting_documents):
        key = document_key(spec, index)
        target = _find_document(ctx, status, entry, key, obs.copy_documents)
        fields = sorted(entry.attributes)
        if entry.remove:
            if target is not None:
                item = next((i for i in obs.copy_items if i.object_sid == target.sid), None)
                if item is not None:
                    return step(
                        UnassignItem(
                            bundle_sid=copy.sid, assignment_sid=item.sid, object_sid=target.sid
                        ),
                        Reason.UPDATING,
                        f"removing {entry.type} document {target.sid} from copy {copy.sid}",
                    )
            documents.append(
                AppliedDocument(
                    key=key, type=entry.type, action="removed", sid=target.sid if target else None
                )
            )
            continue
        if target is not None:
            merged, changed = _merge(target.attributes, entry.attributes)
            if changed:
                action = UpdateDocument(
                    sid=target.sid, key=key, attributes=merged, changed_fields=tuple(changed)
                )
                return step(
                    action,
                    Reason.UPDATING,
                    f"updating {entry.type} document {target.sid} fields {', '.join(changed)}",
                )
            created = created_document_key(uid, target.friendly_name) == key
            documents.append(
                AppliedDocument(
                    key=key,
                    type=entry.type,
                    sid=target.sid,
                    fields=fields,
                    action="created" if created else ("updated" if fields else "unchanged"),
                )
            )
            continue
        ctx.need(Part.STRAY_DOCUMENTS, status=status)
        stray = next(
            (d for d in obs.stray_documents if created_document_key(uid, d.friendly_name) == key),
            None,
        )
        if stray is not None:
            return step(
                AssignItem(bundle_sid=copy.sid, object_sid=stray.sid),
                Reason.UPDATING,
                f"adding {entry.type} document {stray.sid} to copy {copy.sid}",
            )
        action = CreateDocument(
            key=key,
            type=entry.type,
            friendly_name=created_document_name(uid, key, entry.friendly_name),
            attributes=_present(entry.attributes),
            file=entry.file,
        )
        return step(action, Reason.UPDATING, f"creating {entry.type} document for {key}")
    applied = applied.model_copy(update={"documents": documents})

    review = status.review
    if (
        copy.status == BundleStatus.TWILIO_REJECTED
        and (review is None or review.patched_at is None)
        and not _renewal_requested(ctx.resource)
    ):
        # The new spec changes nothing in the rejected copy: resubmitting the same content
        # would only ask for another review of it.
        return _rejected(ctx, status, copy)

    evaluation = obs.evaluation
    if evaluation is None and _still_noncompliant(ctx, status, copy):
        return _needs_input(ctx, status, copy)
    if evaluation is None or (evaluation.bundle_sid not in (None, copy.sid)):
        return step(Evaluate(bundle_sid=copy.sid), Reason.EVALUATING, f"evaluating copy {copy.sid}")
    original_valid_until = status.original.valid_until if status.original else None
    record = _evaluation_status(ctx, evaluation, original_valid_until)
    status = status.model_copy(update={"evaluation": record})
    if evaluation.status != TwilioEvaluationStatus.COMPLIANT:
        return _needs_input(ctx, status, copy)
    message = f"copy {copy.sid} is compliant; submitting it for review"
    status = status.model_copy(update={"applied": applied})
    status = _state(ctx, status, Phase.IN_PROGRESS, Reason.SUBMITTING, message, reconciling=True)
    return _finish(
        ctx,
        status,
        action=Submit(bundle_sid=copy.sid),
        event=event or _normal(Reason.SUBMITTING, message),
    )


def _still_noncompliant(ctx: _Ctx, status: BundleRenewalStatus, copy: Bundle) -> bool:
    """Whether the last evaluation still stands: it found this copy noncompliant for this spec
    generation, nothing was written to the copy since (the phase is still NeedsInput: every
    write moves it to InProgress first), and the original's valid_until (which a regulation
    change moves) is as it was then. Then the re-check makes no new Evaluation."""
    previous = ctx.resource.status
    last = previous.evaluation
    return (
        previous.phase == Phase.NEEDS_INPUT
        and previous.copy_sid == copy.sid
        and last is not None
        and last.generation == ctx.generation
        and last.status == TwilioEvaluationStatus.NONCOMPLIANT
        and status.original is not None
        and last.original_valid_until == status.original.valid_until
    )


def _evaluation_status(
    ctx: _Ctx, evaluation: Evaluation, original_valid_until: datetime | None
) -> EvaluationStatus:
    failures: list[EvaluationFailure] = []
    for result in evaluation.results:
        if result.passed:
            continue
        common = {
            "requirement_name": result.requirement_name,
            "requirement_friendly_name": result.requirement_friendly_name,
            "object_type": result.object_type,
        }
        if result.invalid:
            failures.extend(
                EvaluationFailure(
                    **common,
                    field=f.object_field,
                    failure_reason=f.failure_reason,
                    error_code=f.error_code,
                )
                for f in result.invalid
            )
        else:
            failures.append(
                EvaluationFailure(
                    **common, failure_reason=result.failure_reason, error_code=result.error_code
                )
            )
    return EvaluationStatus(
        sid=evaluation.sid,
        status=evaluation.status,
        evaluated_at=ctx.now,
        generation=ctx.generation,
        original_valid_until=original_valid_until,
        failures=failures,
    )


def _needs_input(ctx: _Ctx, status: BundleRenewalStatus, copy: Bundle) -> Decision:
    failures = status.evaluation.failures if status.evaluation else []
    listed = "; ".join(
        f"{f.requirement_name or f.object_type}"
        + (f".{f.field}" if f.field else "")
        + (f" ({f.error_code})" if f.error_code is not None else "")
        for f in failures
    )
    message = f"copy {copy.sid} is noncompliant, missing: {listed or 'see status.evaluation'}"
    return _stalled(ctx, status, Phase.NEEDS_INPUT, Reason.NEEDS_INPUT, message)


# --------------------------------------------------------------------------------------------
# Deletion and errors
# --------------------------------------------------------------------------------------------


def decide_cleanup(
    resource: RenewalResource, observation: Observation, now: datetime, policy: Policy
) -> Decision:
    """The next step of cleaning up before the resource goes away (finalizer): delete every copy
    carrying this resource's marker (whether or not its items were replaced: an emptied copy is
    useless too), never the original. No action means the finalizer may go."""
    ctx = _Ctx(resource, observation, utc(now), policy)
    status = resource.status
    if not observation.has(Part.COPIES):
        return Decision(action=Observe(parts=frozenset({Part.COPIES})), status=status)
    ours = our_copies(resource, observation)
    if not ours:
        return _cleanup_stray_documents(ctx, status)
    copy = ours[-1]
    message = (
        f"resource deleted: deleting copy {copy.sid}; bundle {resource.spec.bundle_sid} is kept"
    )
    status = _state(
        ctx, status, status.phase or Phase.PENDING, Reason.CLEANING_UP, message, reconciling=True
    )
    return Decision(
        action=DeleteCopy(copy_sid=copy.sid, original_sid=resource.spec.bundle_sid),
        status=status,
        event=_normal(Reason.CLEANING_UP, message),
    )


def _cleanup_stray_documents(ctx: _Ctx, status: BundleRenewalStatus) -> Decision:
    """Once no copy is left: delete the documents this resource created that no bundle holds
    (a crash between creating and assigning one), so their personal data does not outlive the
    resource. A document the original holds (moved there by ReplaceItems) is kept."""
    observation = ctx.obs
    wanted = frozenset({Part.STRAY_DOCUMENTS, Part.ORIGINAL_ITEMS})
    if not all(observation.has(part) for part in wanted):
        return Decision(action=Observe(parts=wanted), status=status)
    held = {item.object_sid for item in observation.original_items}
    leftovers = [d for d in observation.stray_documents if d.sid not in held]
    if not leftovers:
        return Decision(status=status)
    document = leftovers[0]
    message = f"resource deleted: deleting unassigned document {document.sid} it created"
    status = _state(
        ctx, status, status.phase or Phase.PENDING, Reason.CLEANING_UP, message, reconciling=True
    )
    return Decision(
        action=DeleteDocument(sid=document.sid),
        status=status,
        event=_normal(Reason.CLEANING_UP, message),
    )


_ERROR_REASONS = {
    ErrorKind.TRANSIENT: Reason.TRANSIENT_ERROR,
    ErrorKind.PERMANENT: Reason.PERMANENT_ERROR,
    ErrorKind.NOT_FOUND: Reason.PERMANENT_ERROR,
    ErrorKind.AUTHENTICATION: Reason.AUTHENTICATION_FAILED,
    ErrorKind.CREDENTIALS: Reason.CREDENTIALS_INVALID,
}


def on_error(
    resource: RenewalResource,
    kind: ErrorKind,
    message: str,
    now: datetime,
    policy: Policy,
) -> Decision:
    """The status and retry delay after an action or observation failed. `message` must carry no
    secret and no attribute value (gateway errors carry Twilio's message and code only).
    Transient trouble keeps the phase and Ready as they are (Reconciling=True); anything else is
    Stalled (phase Failed). Either way the retry waits an exponential backoff from the failure
    counters, so a permanent problem causes no retry storm; a spec change retries at once."""
    ctx = _Ctx(resource, Observation(), utc(now), policy)
    previous = resource.status
    attempts = previous.failed_attempts + 1
    delay = backoff_delay(attempts, policy)
    status = previous.model_copy(
        update={
            "observed_generation": resource.generation,
            "failed_attempts": attempts,
            "last_failure_time": ctx.now,
        }
    )
    reason = _ERROR_REASONS[kind]
    text = f"{message} (attempt {attempts}, retrying in {delay:.0f}s)"
    if kind == ErrorKind.TRANSIENT:
        ready = get_condition(previous, ConditionType.READY)
        status = _state(
            ctx,
            status,
            previous.phase or Phase.PENDING,
            reason,
            text,
            ready=ready is not None and ready.status == "True",
            reconciling=True,
        )
    else:
        status = _state(ctx, status, Phase.FAILED, reason, text, stalled=True)
    return Decision(status=status, event=_warning(reason, text), requeue_after=delay)


def backoff_delay(failed_attempts: int, policy: Policy) -> float:
    """Seconds to wait after `failed_attempts` consecutive failures (exponential, capped)."""
    if failed_attempts <= 0:
        return 0.0
    return float(min(policy.backoff_max, policy.backoff_base * 2 ** min(failed_attempts - 1, 30)))
