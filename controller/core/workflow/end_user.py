"""Editing the copy's end-user: merge the spec's attributes into it, one update at most."""

from __future__ import annotations

from controller.core.models import BundleRenewalStatus, Reason
from controller.core.plan import Decision, UpdateEndUser
from controller.core.twilio_models import Bundle
from controller.core.workflow.context import Context, Write
from controller.core.workflow.documents import merge
from controller.core.workflow.status import failed


def end_user_step(
    ctx: Context, status: BundleRenewalStatus, copy: Bundle
) -> Write | Decision | list[str]:
    """The update the copy's end-user needs, a Stalled decision if the copy has no end-user to
    carry spec.endUser.attributes, or the field names the copy already carries (empty when the
    spec sets none)."""
    wanted = ctx.spec.end_user.attributes if ctx.spec.end_user is not None else {}
    if not wanted:
        return []
    end_user = ctx.obs.copy_end_user
    if end_user is None:
        return failed(
            ctx,
            status,
            Reason.PERMANENT_ERROR,
            f"copy {copy.sid} has no end-user to carry spec.endUser.attributes",
        )
    merged, changed = merge(end_user.attributes, wanted)
    if changed:
        return Write(
            UpdateEndUser(sid=end_user.sid, attributes=merged, changed_fields=tuple(changed)),
            Reason.UPDATING,
            f"updating end-user {end_user.sid} fields {', '.join(changed)}",
        )
    return sorted(wanted)
