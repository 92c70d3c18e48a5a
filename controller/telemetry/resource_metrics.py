"""Per-BundleRenewal figures for /metrics, read from the status the operator writes.

Alerts need to know, per resource, when Twilio's deadline falls, whether the resource is Ready,
which phase it is in, how long its copy has waited in review and whether its attempts keep
failing: all of it is in `.status`, so the figures are derived from the last status this process
wrote or read for the resource (runtime.track on every reconcile, the status sink after every
write; only the figures are kept, not the status), and a restarted operator shows them again
after its first reconcile. Transitions between two statuses (a renewal completed, a review
ended) feed counters and duration histograms. Series are labelled by the resource's namespace
and name only: no SID, no attribute value. Pure bookkeeping: no I/O; the clock is injected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from controller.core.conditions import get_condition
from controller.core.models import BundleRenewalStatus, ConditionStatus, ConditionType, Phase
from controller.core.twilio_models import BundleStatus
from controller.telemetry.histogram import LONG_BUCKETS, Histogram, Snapshot

#: A resource the operator has not written a status for yet counts under this phase.
PHASE_WITHOUT_STATUS = Phase.PENDING
#: How a review ended, the label values of bundle_renewal_review_duration_seconds.
REVIEW_OUTCOMES = ("approved", "rejected", "other")
_APPROVED = {BundleStatus.TWILIO_APPROVED.value, BundleStatus.PROVISIONALLY_APPROVED.value}
_RESOURCE = ["namespace", "name"]
LabelValues = TypeVar("LabelValues", bound=tuple[str, ...])


@dataclass(frozen=True, slots=True)
class Figures:
    """What the per-resource series show of a status. Only these are kept, not the status
    model, which is ten times larger (memory at fleet scale: docs/development/fleet-memory.md)."""

    phase: Phase
    ready: ConditionStatus
    valid_until: float | None
    """Unix time, as every timestamp here."""
    completed_at: float | None
    submitted_at: float | None
    """When the copy in review was submitted (set in phase InReview only)."""
    failed_attempts: int

    @classmethod
    def of(cls, status: BundleRenewalStatus) -> Figures:
        phase = phase_of(status)
        original, review = status.original, status.review
        submitted = review.submitted_at if review is not None else None
        return cls(
            phase=phase,
            ready=ready_of(status),
            valid_until=_timestamp(original.valid_until if original is not None else None),
            completed_at=_timestamp(status.completed_at),
            submitted_at=_timestamp(submitted) if phase is Phase.IN_REVIEW else None,
            failed_attempts=status.failed_attempts,
        )


def _timestamp(when: datetime | None) -> float | None:
    return when.timestamp() if when is not None else None


@dataclass(frozen=True, slots=True)
class Tracked:
    namespace: str
    name: str
    figures: Figures
    seq: int
    """Order of the last update: of two uids with one name (deleted and created again), the
    newer one is shown, so that a series never appears twice."""


def phase_of(status: BundleRenewalStatus) -> Phase:
    return status.phase or PHASE_WITHOUT_STATUS


def ready_of(status: BundleRenewalStatus) -> ConditionStatus:
    condition = get_condition(status, ConditionType.READY)
    return condition.status if condition is not None else ConditionStatus.UNKNOWN


def renewal_started(previous: BundleRenewalStatus, status: BundleRenewalStatus) -> datetime | None:
    """When the renewal that `status` completed started: its record in status.history, else
    (a status without one) when `previous`'s Renewing turned True, else when its Ready turned
    False (how statuses written before the Renewing condition tell it)."""
    record = status.history[0] if status.history else None
    if record is not None and record.completed_at == status.completed_at and record.started_at:
        return record.started_at
    renewing = get_condition(previous, ConditionType.RENEWING)
    if renewing is not None:
        return renewing.last_transition_time if renewing.status == ConditionStatus.TRUE else None
    condition = get_condition(previous, ConditionType.READY)
    if condition is None or condition.status != ConditionStatus.FALSE:
        return None
    return condition.last_transition_time


def review_outcome(status: BundleRenewalStatus) -> str:
    """How the review ended, read from the first status after it."""
    if status.phase is Phase.REJECTED:
        return "rejected"
    if status.review is not None and status.review.status in _APPROVED:
        return "approved"
    if status.history and status.history[0].approved_at is not None:
        return "approved"  # approved and completed at once: the copy's review is gone
    return "other"


class ResourceMetrics:
    """The per-resource part of OperatorMetrics (controller/telemetry/metrics.py)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tracked: dict[str, Tracked] = {}
        self._seq = 0
        self._completed: Counter[str] = Counter()
        self._review_polls = 0
        self._renewals: Histogram[tuple[()]] = Histogram(LONG_BUCKETS)
        self._reviews: Histogram[tuple[str]] = Histogram(LONG_BUCKETS)

    def track(self, uid: str, namespace: str, name: str, status: BundleRenewalStatus) -> None:
        """The resource's latest status."""
        self._seq += 1
        self._tracked[uid] = Tracked(namespace, name, Figures.of(status), self._seq)

    def reconciling(self, uid: str, namespace: str, name: str, status: BundleRenewalStatus) -> None:
        """A reconcile starts from `status`; one with the copy in review re-reads it at Twilio."""
        if status.phase is Phase.IN_REVIEW:
            self._review_polls += 1
        self.track(uid, namespace, name, status)

    def written(
        self,
        uid: str,
        namespace: str,
        name: str,
        previous: BundleRenewalStatus,
        status: BundleRenewalStatus,
    ) -> None:
        """`status` replaced `previous` in the cluster: count a completed renewal (a new
        completedAt) and time it, and time a review that ended."""
        completed = status.completed_at
        if completed is not None and completed != previous.completed_at:
            self._completed[namespace] += 1
            started = renewal_started(previous, status)
            if started is not None:
                self._renewals.observe((), (completed - started).total_seconds())
        review = previous.review
        if (
            previous.phase is Phase.IN_REVIEW
            and status.phase is not Phase.IN_REVIEW
            and review is not None
            and review.submitted_at is not None
        ):
            waited = self._clock() - review.submitted_at.timestamp()
            self._reviews.observe((review_outcome(status),), waited)
        self.track(uid, namespace, name, status)

    def forget(self, uid: str) -> None:
        self._tracked.pop(uid, None)

    def resources(self) -> list[Tracked]:
        """Every tracked resource, one per namespace and name, in a stable order."""
        newest: dict[tuple[str, str], Tracked] = {}
        for tracked in self._tracked.values():
            key = (tracked.namespace, tracked.name)
            if key not in newest or newest[key].seq < tracked.seq:
                newest[key] = tracked
        return [newest[key] for key in sorted(newest)]

    def collect(self) -> Iterator[Metric]:
        resources = self.resources()
        phases = Counter(t.figures.phase for t in self._tracked.values())
        by_phase = GaugeMetricFamily(
            "bundle_renewal_resources",
            "BundleRenewals watched by this process, by their last known phase (no status yet:"
            " Pending).",
            labels=["phase"],
        )
        for phase in Phase:
            by_phase.add_metric([phase.value], phases[phase])
        yield by_phase

        completed = CounterMetricFamily(
            "bundle_renewal_renewals_completed_total",
            "Renewals this process completed (a new status.completedAt), by namespace.",
            labels=["namespace"],
        )
        for namespace, n in sorted(self._completed.items()):
            completed.add_metric([namespace], n)
        yield completed

        yield from self._per_resource(resources)

        polls = CounterMetricFamily(
            "bundle_renewal_review_polls_total",
            "Reconciles that re-read a copy under review at Twilio: on the poll timer, or early"
            " when a status callback woke the resource (compare with"
            ' bundle_renewal_webhook_callbacks_total{reason="woken"}).',
        )
        polls.add_metric([], self._review_polls)
        yield polls

        yield histogram_family(
            "bundle_renewal_renewal_duration_seconds",
            "Completed renewals, from their start (status.history's startedAt: the copy's"
            " creation) to status.completedAt.",
            [],
            self._renewals.snapshot(always=[()]),
        )
        yield histogram_family(
            "bundle_renewal_review_duration_seconds",
            "Twilio reviews of a copy, from submission to the first status after it, by outcome"
            " (approved, rejected, other: the copy was lost or the resource deleted).",
            ["outcome"],
            self._reviews.snapshot(always=[(o,) for o in REVIEW_OUTCOMES]),
        )

    def _per_resource(self, resources: list[Tracked]) -> Iterator[Metric]:
        now = self._clock()
        valid_until = GaugeMetricFamily(
            "bundle_renewal_valid_until_timestamp_seconds",
            "Twilio's valid_until on the original bundle (the date by which it must be renewed),"
            " as last observed, in Unix time; absent while the bundle has none.",
            labels=_RESOURCE,
        )
        completed_at = GaugeMetricFamily(
            "bundle_renewal_last_completed_timestamp_seconds",
            "When the resource's last renewal completed (status.completedAt), in Unix time;"
            " absent before its first.",
            labels=_RESOURCE,
        )
        ready = GaugeMetricFamily(
            "bundle_renewal_ready_status",
            "The Ready condition: 1 on the series of its status (True, False or Unknown), 0 on"
            " the others.",
            labels=[*_RESOURCE, "condition"],
        )
        phase = GaugeMetricFamily(
            "bundle_renewal_phase",
            "status.phase: 1 on the series of the current phase, 0 on the others.",
            labels=[*_RESOURCE, "phase"],
        )
        in_review = GaugeMetricFamily(
            "bundle_renewal_in_review_seconds",
            "How long the copy has waited for Twilio's review so far (since status.review."
            "submittedAt); present only in phase InReview.",
            labels=_RESOURCE,
        )
        failed = GaugeMetricFamily(
            "bundle_renewal_failed_attempts",
            "Consecutive failed attempts of the resource (status.failedAttempts).",
            labels=_RESOURCE,
        )
        for tracked in resources:
            figures, labels = tracked.figures, [tracked.namespace, tracked.name]
            if figures.valid_until is not None:
                valid_until.add_metric(labels, figures.valid_until)
            if figures.completed_at is not None:
                completed_at.add_metric(labels, figures.completed_at)
            for condition in ConditionStatus:
                ready.add_metric([*labels, condition.value], float(condition is figures.ready))
            for each in Phase:
                phase.add_metric([*labels, each.value], float(each is figures.phase))
            if figures.submitted_at is not None:
                in_review.add_metric(labels, max(0.0, now - figures.submitted_at))
            failed.add_metric(labels, figures.failed_attempts)
        yield from (valid_until, completed_at, ready, phase, in_review, failed)


def histogram_family(
    name: str, documentation: str, labels: list[str], series: Mapping[LabelValues, Snapshot]
) -> HistogramMetricFamily:
    """A histogram family from bucket snapshots, one series per key of label values."""
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for key, snapshot in sorted(series.items()):
        buckets = [(_bound(le), float(n)) for le, n in snapshot.buckets]
        family.add_metric(list(key), buckets, snapshot.sum)
    return family


def _bound(le: float) -> str:
    return "+Inf" if le == float("inf") else repr(le)
