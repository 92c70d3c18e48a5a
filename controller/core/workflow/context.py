"""What one decision works from, and the two ways a step hands back control.

A step either returns the Decision that ends this round of deciding (`Decision`: an `Observe`
of what it still needs, a write, or a rest) or a value the caller carries on with. Early exits
are in the return types (`T | Decision`); nothing is raised to leave a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.core.models import (
    BundleRenewalSpec,
    BundleRenewalStatus,
    CreatedDocument,
    Phase,
    Reason,
)
from controller.core.plan import (
    Action,
    Decision,
    Observation,
    ObservationPart,
    Observe,
    Policy,
    RenewalResource,
)
from controller.core.workflow.status import state


@dataclass(frozen=True)
class Context:
    """One decision's inputs: the resource (with the status last written), what was observed of
    Twilio so far in this reconcile, the time and the timing policy."""

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

    def need(self, *parts: ObservationPart, status: BundleRenewalStatus) -> Decision | None:
        """The Observe decision for the parts not read yet in this reconcile; None if all are."""
        missing = frozenset(p for p in parts if p not in self.obs.read)
        if missing:
            return Decision(action=Observe(parts=missing), status=status)
        return None

    def state(
        self,
        status: BundleRenewalStatus,
        phase: Phase,
        reason: Reason,
        message: str,
        *,
        ready: bool = False,
        reconciling: bool = False,
        stalled: bool = False,
    ) -> BundleRenewalStatus:
        """`status` in `phase`, conditions set for this resource's generation at `now`."""
        return state(
            status,
            phase,
            reason,
            message,
            generation=self.generation,
            now=self.now,
            ready=ready,
            reconciling=reconciling,
            stalled=stalled,
        )


@dataclass(frozen=True)
class Write:
    """The next write a step of the edit wants (the edit turns it into a Decision), and the
    document it creates or assigns, to record in status before the write goes out."""

    action: Action
    reason: Reason
    message: str
    created: CreatedDocument | None = None
