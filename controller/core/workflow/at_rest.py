"""When no renewal is in flight: is one due, and if not, is the bundle healthy?

A renewal is due when Twilio set a valid_until on the original, when spec.renewalRequest
changed, or when a new spec generation differs from what the original holds (compared by field
names and document keys, reading only). Otherwise the resource rests: Ready while the original is
approved, Stalled when something only a person can fix is wrong with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controller.core.models import BundleRenewalStatus, Phase, Reason, document_key
from controller.core.plan import Decision, ObservationPart, RenewalResource
from controller.core.twilio_models import Bundle, BundleStatus, EndUser
from controller.core.workflow.context import Context
from controller.core.workflow.documents import find_document, merge
from controller.core.workflow.status import failed, finish, normal

Part = ObservationPart


def renewal_due_reasons(resource: RenewalResource, original: Bundle) -> list[str]:
    """Why a renewal is due whatever the bundle holds (empty: no such reason): Twilio set a
    valid_until on the original (other than one the last renewal failed to clear), or
    spec.renewalRequest changed. A new spec generation is no such reason: the spec is compared
    with the original first, and only a difference renews (see `spec_changes`)."""
    status = resource.status
    reasons = []
    valid_until, not_cleared = original.valid_until, status.valid_until_not_cleared
    if valid_until is not None and (not_cleared is None or valid_until > not_cleared):
        reasons.append(f"bundle {original.sid} valid until {valid_until.isoformat()}")
    if renewal_requested(resource):
        reasons.append("renewal requested")
    return reasons


def renewal_requested(resource: RenewalResource) -> bool:
    request = resource.spec.renewal_request
    return request is not None and request != resource.status.last_renewal_request


def at_rest(ctx: Context, status: BundleRenewalStatus, original: Bundle) -> Decision:
    """No renewal is due and none is in flight: Ready if the original is approved, unless the
    last renewal left a valid_until behind (then Stalled until Twilio clears it or something new
    starts one). The spec counts as applied: the original carries it."""
    status = status.model_copy(update={"applied_generation": ctx.generation})
    if original.status != BundleStatus.TWILIO_APPROVED:
        return original_not_approved(ctx, status, original)
    not_cleared = status.valid_until_not_cleared
    if not_cleared is not None and original.valid_until is not None:
        return valid_until_not_cleared(ctx, status, original, not_cleared)
    status = status.model_copy(update={"valid_until_not_cleared": None})
    message = f"bundle {ctx.spec.bundle_sid} is up to date"
    status = ctx.state(status, Phase.COMPLETED, Reason.UP_TO_DATE, message, ready=True)
    return finish(
        ctx,
        status,
        event=normal(Reason.UP_TO_DATE, message),
        requeue_after=ctx.policy.check_interval,
    )


def original_not_approved(ctx: Context, status: BundleRenewalStatus, original: Bundle) -> Decision:
    message = (
        f"bundle {original.sid} is {original.status}; only a twilio-approved bundle can be renewed"
    )
    return failed(ctx, status, Reason.ORIGINAL_NOT_APPROVED, message)


def valid_until_not_cleared(
    ctx: Context, status: BundleRenewalStatus, original: Bundle, not_cleared: datetime
) -> Decision:
    valid_until = original.valid_until
    assert valid_until is not None
    message = (
        f"bundle {original.sid} still has valid_until {valid_until.isoformat()} after its items "
        f"were replaced (the last renewal was for {not_cleared.isoformat()}); not renewing again "
        "by itself: check the bundle with Twilio, then set a new spec.renewalRequest to retry"
    )
    return failed(ctx, status, Reason.VALID_UNTIL_NOT_CLEARED, message)


def spec_changes(ctx: Context, status: BundleRenewalStatus) -> list[str] | Decision:
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
    if (observe := ctx.need(*parts, status=status)) is not None:
        return observe
    if obs.our_copy is not None:
        return [f"spec generation {generation} is being applied through copy {obs.our_copy.sid}"]
    changes = []
    if spec.end_user is not None and spec.end_user.attributes:
        changes += _end_user_changes(obs.original_end_user, spec.end_user.attributes)
    for index, entry in enumerate(spec.supporting_documents):
        key = document_key(spec, index)
        target = find_document(ctx, status, entry, key, obs.original_documents, in_original=True)
        if isinstance(target, Decision):
            return target
        if entry.remove:
            if target is not None:
                changes.append(f"{key} (removed)")
        elif target is None:
            changes.append(f"{key} (added)")
        else:
            changes += [f"{key}.{name}" for name in merge(target.attributes, entry.attributes)[1]]
    prefix = f"spec generation {generation} changes "
    return [prefix + ", ".join(changes)] if changes else []


def _end_user_changes(end_user: EndUser | None, wanted: dict[str, Any]) -> list[str]:
    if end_user is None:
        return ["endUser (the bundle has none)"]
    return [f"endUser.{name}" for name in merge(end_user.attributes, wanted)[1]]
