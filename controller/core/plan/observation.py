"""What the workflow decides from: the resource, the timing policy, and what was seen of Twilio.

The gatherer (observe.py) fills an `Observation` part by part, as the workflow asks for parts;
which of the listed copies are this resource's, and in what order, is decided once there
(`rank_our_copies`) and carried in `Observation.ours`. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from controller.core.models import BundleRenewalSpec, BundleRenewalStatus
from controller.core.plan.markers import copy_marker
from controller.core.plan.regulation import Frozen as Frozen
from controller.core.plan.regulation import RegulationTerms
from controller.core.twilio_models import (
    Bundle,
    BundleStatus,
    EndUser,
    Evaluation,
    ItemAssignment,
    SupportingDocument,
)


class RenewalResource(Frozen):
    """One BundleRenewal object as the workflow sees it."""

    uid: str
    namespace: str
    name: str
    generation: int
    spec: BundleRenewalSpec
    status: BundleRenewalStatus = Field(default_factory=BundleRenewalStatus)
    """The latest status: as last patched by the operator (pass the newest one you wrote)."""


class Policy(Frozen):
    """Timing knobs (from settings), injected so the workflow reads no clock and no environment."""

    check_interval: float = Field(default=3600.0, gt=0)
    """Seconds between light checks of a Ready resource (one GET of the original bundle), and
    between re-checks while waiting on the user (NeedsInput, Rejected, permanent errors)."""
    review_poll_min: float = Field(default=30.0, gt=0)
    """First delay between polls of a copy in review."""
    review_poll_max: float = Field(default=1800.0, gt=0)
    """Longest delay between polls of a copy in review (the delay grows with the time waited)."""
    backoff_base: float = Field(default=5.0, gt=0)
    """Delay after the first failure; doubled for each further consecutive failure."""
    backoff_max: float = Field(default=600.0, gt=0)
    """Longest delay between retries after failures."""
    history_limit: int = Field(default=5, ge=0)
    """How many renewals status.history keeps (the one in flight included)."""


class ObservationPart(StrEnum):
    """A piece of Twilio state the gatherer reads on request (one or a few calls each)."""

    ORIGINAL = "original"
    """fetch_bundle(spec.bundleSid); a 404 leaves `original` None."""
    COPIES = "copies"
    """list_bundle_copies(spec.bundleSid); a 404 (original gone) leaves the list empty."""
    COPY_ITEMS = "copy_items"
    """list_item_assignments(copy)."""
    COPY_END_USER = "copy_end_user"
    """fetch_end_user for the copy's item whose object SID starts with IT (needs COPY_ITEMS)."""
    COPY_DOCUMENTS = "copy_documents"
    """fetch_supporting_document for each copy item whose object SID starts with RD, in item
    order (needs COPY_ITEMS)."""
    ORIGINAL_ITEMS = "original_items"
    """list_item_assignments(spec.bundleSid): the original's items (a 404 is an error: the
    original was found a moment ago)."""
    ORIGINAL_END_USER = "original_end_user"
    """fetch_end_user for the original's item whose object SID starts with IT (needs
    ORIGINAL_ITEMS)."""
    ORIGINAL_DOCUMENTS = "original_documents"
    """fetch_supporting_document for each of the original's items whose object SID starts with
    RD, in item order (needs ORIGINAL_ITEMS). Requested to compare the original with a changed
    spec, and when the spec matches a document by its original SID."""
    STRAY_DOCUMENTS = "stray_documents"
    """Supporting documents for which created_document_key(uid, friendly_name) is not None and
    that are not assigned to the copy (a crash between create and assign). Gatherers that cannot
    list documents mark the part read and leave it empty."""
    REGULATION = "regulation"
    """What the original's regulation accepts (`RegulationTerms`: fetch_regulation with
    IncludeConstraints, list_end_user_types, list_supporting_document_types), through the
    process's regulation cache (needs ORIGINAL). None when the original names no regulation,
    Twilio does not know it (404), or the gateway cannot read regulations."""
    REGULATION_REFRESHED = "regulation_refreshed"
    """The same, read from Twilio past the cache (and refreshing it): asked for before the
    preflight refuses a spec, so that no refusal rests on a cached answer."""


class Observation(Frozen):
    """What is known of Twilio in this reconcile. A part's value is meaningful only once the part
    is in `read` (None/empty otherwise); `original` None with ORIGINAL read means 404."""

    read: frozenset[ObservationPart] = frozenset()
    original: Bundle | None = None
    copies: tuple[Bundle, ...] = ()
    ours: tuple[Bundle, ...] = ()
    """The copies in `copies` carrying this resource's marker, most advanced first, as the gatherer
    ranked them once when it read COPIES (`rank_our_copies`). The first is *the* copy: the one
    the workflow works on, the gatherer reads copy parts from, and the action guard lets writes
    reach. Nobody else decides which copy is ours."""
    copy_items: tuple[ItemAssignment, ...] = ()
    copy_end_user: EndUser | None = None
    copy_documents: tuple[SupportingDocument, ...] = ()
    original_items: tuple[ItemAssignment, ...] = ()
    original_end_user: EndUser | None = None
    original_documents: tuple[SupportingDocument, ...] = ()
    stray_documents: tuple[SupportingDocument, ...] = ()
    evaluation: Evaluation | None = None
    """An evaluation of the copy made after the latest write to it in this reconcile (only ever
    the result of an Evaluate action folded in; never an older one read from Twilio)."""
    regulation: RegulationTerms | None = None
    """What the original's regulation accepts (REGULATION, or REGULATION_REFRESHED when read
    past the cache); None: nothing to check against."""
    original_evaluation: Evaluation | None = None
    """An evaluation of the original made in this reconcile (a dry run's EvaluateOriginal)."""

    def has(self, *parts: ObservationPart) -> bool:
        return all(p in self.read for p in parts)

    @property
    def our_copy(self) -> Bundle | None:
        """The copy the renewal works through (None: there is none)."""
        return self.ours[0] if self.ours else None


# How far along a copy is: when several carry one resource's marker the most advanced is kept.
COPY_PROGRESS: dict[str, int] = {
    BundleStatus.DRAFT: 0,
    BundleStatus.TWILIO_REJECTED: 1,
    BundleStatus.PENDING_REVIEW: 2,
    BundleStatus.IN_REVIEW: 3,
    BundleStatus.PROVISIONALLY_APPROVED: 4,
    BundleStatus.TWILIO_APPROVED: 5,
}


def rank_our_copies(resource: RenewalResource, copies: Iterable[Bundle]) -> tuple[Bundle, ...]:
    """The copies carrying this resource's marker (never the original), most advanced first; on a
    tie the one status.copySid names, then the oldest. The gatherer calls this once per listing
    and carries the result in `Observation.ours`."""
    marker = copy_marker(resource.uid)
    known = resource.status.copy_sid
    ours = [c for c in copies if c.friendly_name == marker and c.sid != resource.spec.bundle_sid]

    def rank(copy: Bundle) -> tuple[int, int, str, str]:
        created = copy.date_created.isoformat() if copy.date_created else ""
        progress = COPY_PROGRESS.get(copy.status, 0)
        return (-progress, 0 if copy.sid == known else 1, created, copy.sid)

    return tuple(sorted(ours, key=rank))


def utc(moment: datetime) -> datetime:
    """Refuse naive datetimes: every time in the workflow is timezone-aware."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return moment
