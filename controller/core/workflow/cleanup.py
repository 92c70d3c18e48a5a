"""Clean-up before the resource goes away (the finalizer's decisions).

Every copy carrying this resource's marker is deleted (whether or not its items were replaced:
an emptied copy is useless too), never the original; then the documents this resource created
that no bundle holds (a crash between create and assign), so their personal data does not
outlive the resource. A document the original holds (moved there by ReplaceItems) is kept.
"""

from __future__ import annotations

from datetime import datetime

from controller.core.models import BundleRenewalStatus, Phase, Reason
from controller.core.plan import (
    Action,
    Decision,
    DeleteCopy,
    DeleteDocument,
    Observation,
    ObservationPart,
    Observe,
    Policy,
    RenewalResource,
    utc,
)
from controller.core.workflow.context import Context
from controller.core.workflow.status import normal

Part = ObservationPart


def decide_cleanup(
    resource: RenewalResource, observation: Observation, now: datetime, policy: Policy
) -> Decision:
    """The next clean-up step; no action means the finalizer may go."""
    ctx = Context(resource, observation, utc(now), policy)
    status = resource.status
    if not observation.has(Part.COPIES):
        return Decision(action=Observe(parts=frozenset({Part.COPIES})), status=status)
    if observation.ours:
        copy = observation.ours[-1]
        message = (
            f"resource deleted: deleting copy {copy.sid}; bundle {resource.spec.bundle_sid} is kept"
        )
        return _cleaning(
            ctx,
            status,
            message,
            DeleteCopy(copy_sid=copy.sid, original_sid=resource.spec.bundle_sid),
        )
    if status.created_documents == []:
        return Decision(status=status)  # created none (or none the original does not hold)
    wanted = frozenset({Part.STRAY_DOCUMENTS, Part.ORIGINAL_ITEMS})
    if not observation.has(*wanted):
        return Decision(action=Observe(parts=wanted), status=status)
    held = {item.object_sid for item in observation.original_items}
    leftovers = [d for d in observation.stray_documents if d.sid not in held]
    if not leftovers:
        return Decision(status=status)
    document = leftovers[0]
    message = f"resource deleted: deleting unassigned document {document.sid} it created"
    return _cleaning(ctx, status, message, DeleteDocument(sid=document.sid))


def _cleaning(ctx: Context, status: BundleRenewalStatus, message: str, action: Action) -> Decision:
    status = ctx.state(
        status, status.phase or Phase.PENDING, Reason.CLEANING_UP, message, reconciling=True
    )
    return Decision(action=action, status=status, event=normal(Reason.CLEANING_UP, message))
