"""What a restarted operator may take on trust: a status its last reconcile settled.

Every reconcile ends by recording when the resource is looked at next (status.nextCheckTime,
status.py `scheduled`): the review's next poll, the light check, the end of a backoff. A status
written at a checkpoint, mid-reconcile, never carries one (an action was due), nor does one that
waits for a spec change. So a nextCheckTime still ahead, for the generation the status was
decided for and with no renewalRequest since, is a plan made with everything that reconcile saw:
a restart that re-read Twilio at once would learn nothing that waiting would not (a callback
that arrives meanwhile still wakes the resource). Measured in the chaos run
(docs/operations/reliability.md): one more restart once every renewal rested cost one GET per
resource before this, 0 requests for 421 resources since. A renewal in flight is re-observed all
the same: its status cannot tell what a crash left undone.
"""

from __future__ import annotations

from datetime import datetime

from controller.core.plan import RenewalResource, utc
from controller.core.workflow.at_rest import renewal_requested


def settled_for(resource: RenewalResource, now: datetime) -> float | None:
    """Seconds a freshly started daemon may leave `resource` alone before its first reconcile
    (None: reconcile now)."""
    status = resource.status
    next_check = status.next_check_time
    if (
        next_check is None
        or status.observed_generation != resource.generation
        or renewal_requested(resource)
    ):
        return None
    seconds = (utc(next_check) - utc(now)).total_seconds()
    return seconds if seconds > 0 else None
