"""Per-BundleRenewal series of /metrics, read from statuses as the sink and the daemon hand them
over: deadlines, readiness, phase, review wait, failed attempts, the durations of renewals and
reviews, and the series going away with the resource. Checked through the exposition (parsed as
Prometheus would take it), not through the bookkeeping's internals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.metrics_core import Metric

from controller.core.conditions import set_condition
from controller.core.models import (
    BundleRenewalStatus,
    ConditionStatus,
    ConditionType,
    EvaluationStatus,
    OriginalBundleStatus,
    Phase,
    RenewalOutcome,
    RenewalRecord,
    ReviewStatus,
)
from controller.telemetry.histogram import LONG_BUCKETS, Histogram
from controller.telemetry.metrics import OperatorMetrics
from tests.metrics_scrape import scrape, value

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
COPY = "BU" + "c" * 32
ORIGINAL = "BU" + "0" * 32
#: The families with one or more series per resource, and how many each has at most.
PER_RESOURCE = {
    "bundle_renewal_valid_until_timestamp_seconds": 1,
    "bundle_renewal_last_completed_timestamp_seconds": 1,
    "bundle_renewal_ready_status": len(ConditionStatus),
    "bundle_renewal_phase": len(Phase),
    "bundle_renewal_in_review_seconds": 1,
    "bundle_renewal_failed_attempts": 1,
}


def metrics() -> OperatorMetrics:
    return OperatorMetrics(clock=NOW.timestamp)


def ready(status: BundleRenewalStatus, value: bool, at: datetime) -> BundleRenewalStatus:
    return set_condition(
        status, ConditionType.READY, value, "Test", "", observed_generation=1, now=at
    )


def in_review(submitted: datetime, **extra: object) -> BundleRenewalStatus:
    status = BundleRenewalStatus(
        phase=Phase.IN_REVIEW,
        copy_sid=COPY,
        original=OriginalBundleStatus(status="twilio-approved", valid_until=NOW + timedelta(1)),
        review=ReviewStatus(submitted_at=submitted, status="pending-review"),
        **extra,  # type: ignore[arg-type]
    )
    return ready(status, False, T0)


def families(m: OperatorMetrics) -> dict[str, Metric]:
    return scrape(m.render())


def series_of(m: OperatorMetrics, namespace: str, name: str) -> list[tuple[str, dict[str, str]]]:
    """Every sample labelled with this resource."""
    return [
        (sample.name, sample.labels)
        for family in families(m).values()
        for sample in family.samples
        if sample.labels.get("namespace") == namespace and sample.labels.get("name") == name
    ]


def test_a_resource_in_review_shows_its_deadline_readiness_phase_and_wait() -> None:
    m = metrics()
    submitted = NOW - timedelta(hours=30)
    status = in_review(submitted, failed_attempts=2, completed_at=T0 - timedelta(days=300))
    m.reconciling("uid-1", "telecom", "acme", status)

    found = families(m)
    labels = {"namespace": "telecom", "name": "acme"}
    deadline = found["bundle_renewal_valid_until_timestamp_seconds"]
    assert value(deadline, **labels) == (NOW + timedelta(days=1)).timestamp()
    completed = found["bundle_renewal_last_completed_timestamp_seconds"]
    assert value(completed, **labels) == (T0 - timedelta(days=300)).timestamp()
    readiness = found["bundle_renewal_ready_status"]
    assert [value(readiness, **labels, condition=c.value) for c in ConditionStatus] == [0, 1, 0]
    phases = found["bundle_renewal_phase"]
    assert {p.value: value(phases, **labels, phase=p.value) for p in Phase} == {
        p.value: float(p is Phase.IN_REVIEW) for p in Phase
    }
    assert value(found["bundle_renewal_in_review_seconds"], **labels) == 30 * 3600
    assert value(found["bundle_renewal_failed_attempts"], **labels) == 2
    assert value(found["bundle_renewal_review_polls_total"]) == 1


def test_figures_a_status_does_not_have_are_absent_not_zero() -> None:
    m = metrics()
    m.reconciling("uid-1", "telecom", "fresh", BundleRenewalStatus())  # nothing written yet
    rested = ready(BundleRenewalStatus(phase=Phase.COMPLETED), True, T0)
    m.reconciling("uid-2", "telecom", "rested", rested)

    found = families(m)
    for family in (
        "bundle_renewal_valid_until_timestamp_seconds",
        "bundle_renewal_last_completed_timestamp_seconds",
        "bundle_renewal_in_review_seconds",
    ):
        assert found[family].samples == [], family
    readiness = found["bundle_renewal_ready_status"]
    assert value(readiness, namespace="telecom", name="fresh", condition="Unknown") == 1
    assert value(readiness, namespace="telecom", name="rested", condition="True") == 1
    phases = found["bundle_renewal_phase"]
    assert value(phases, namespace="telecom", name="fresh", phase="Pending") == 1
    assert value(phases, namespace="telecom", name="rested", phase="Completed") == 1
    assert value(found["bundle_renewal_review_polls_total"]) == 0


def test_series_per_resource_stay_within_the_stated_cardinality() -> None:
    m = metrics()
    m.reconciling("uid-min", "telecom", "min", BundleRenewalStatus())
    busiest = in_review(NOW - timedelta(hours=1), completed_at=T0)
    m.reconciling("uid-max", "telecom", "max", busiest)

    least, most = series_of(m, "telecom", "min"), series_of(m, "telecom", "max")
    assert len(least) == len(ConditionStatus) + len(Phase) + 1 == 13
    assert len(most) == sum(PER_RESOURCE.values()) == 16
    assert {name for name, _ in most} == set(PER_RESOURCE)


def test_sids_and_values_never_become_labels() -> None:
    m = metrics()
    status = in_review(
        NOW - timedelta(hours=1),
        evaluation=EvaluationStatus(sid="EL" + "e" * 32, status="compliant"),
        replaced_object_sids=["RD" + "d" * 32],
        message=f"copy {COPY} of {ORIGINAL} is pending-review",
    )
    m.reconciling("uid-1", "telecom", "acme", status)
    text = m.render().decode()
    for sid in (COPY, ORIGINAL, "EL" + "e" * 32, "RD" + "d" * 32, "uid-1", "pending-review"):
        assert sid not in text


def test_a_forgotten_resource_loses_every_series_and_the_others_keep_theirs() -> None:
    m = metrics()
    m.reconciling("uid-1", "telecom", "acme", in_review(NOW - timedelta(hours=1)))
    m.reconciling("uid-2", "billing", "other", in_review(NOW - timedelta(hours=1)))
    m.forget("uid-1")
    assert series_of(m, "telecom", "acme") == []
    assert len(series_of(m, "billing", "other")) == 15
    phases = families(m)["bundle_renewal_resources"]
    assert value(phases, phase="InReview") == 1


def test_one_name_tracked_under_two_uids_shows_once_the_newest() -> None:
    # Deleted and created again: the new daemon may track before the old one forgets.
    m = metrics()
    m.reconciling("old", "telecom", "acme", in_review(NOW - timedelta(hours=1)))
    m.reconciling("new", "telecom", "acme", BundleRenewalStatus())
    phases = families(m)["bundle_renewal_phase"]  # scrape() refuses a repeated series
    assert value(phases, namespace="telecom", name="acme", phase="Pending") == 1
    m.forget("new")
    phases = families(m)["bundle_renewal_phase"]
    assert value(phases, namespace="telecom", name="acme", phase="InReview") == 1


def test_a_completed_renewal_is_timed_from_the_moment_ready_turned_false() -> None:
    m = metrics()
    previous = in_review(T0 + timedelta(hours=1))  # Ready False since T0
    done = ready(
        BundleRenewalStatus(phase=Phase.COMPLETED, completed_at=T0 + timedelta(hours=5)),
        True,
        T0 + timedelta(hours=5),
    )
    m.status_written("uid-1", "telecom", "acme", previous, done)
    m.status_written("uid-1", "telecom", "acme", done, done)  # no new completedAt

    renewals = families(m)["bundle_renewal_renewal_duration_seconds"]
    assert value(renewals, le="3600.0") == 0
    assert value(renewals, le="21600.0") == 1
    assert next(s.value for s in renewals.samples if s.name.endswith("_sum")) == 5 * 3600
    completed = families(m)["bundle_renewal_renewals_completed_total"]
    assert value(completed, namespace="telecom") == 1


@pytest.mark.parametrize(
    ("after", "outcome"),
    [
        (BundleRenewalStatus(phase=Phase.REJECTED), "rejected"),
        (
            BundleRenewalStatus(
                phase=Phase.IN_PROGRESS, review=ReviewStatus(status="twilio-approved")
            ),
            "approved",
        ),
        (BundleRenewalStatus(phase=Phase.IN_PROGRESS), "other"),
    ],
)
def test_a_review_is_timed_when_the_resource_leaves_in_review(
    after: BundleRenewalStatus, outcome: str
) -> None:
    m = metrics()
    previous = in_review(NOW - timedelta(days=2))
    m.status_written("uid-1", "telecom", "acme", previous, previous)  # still in review
    m.status_written("uid-1", "telecom", "acme", previous, after)

    reviews = families(m)["bundle_renewal_review_duration_seconds"]
    counts = {s.labels["outcome"]: s.value for s in reviews.samples if s.name.endswith("_count")}
    assert counts == {o: float(o == outcome) for o in ("approved", "rejected", "other")}
    assert value(reviews, outcome=outcome, le="86400.0") == 0
    assert value(reviews, outcome=outcome, le="172800.0") == 1
    assert value(families(m)["bundle_renewal_review_polls_total"]) == 0  # writes are no polls


def test_histogram_buckets_are_cumulative_and_count_bounds_in() -> None:
    histogram: Histogram[tuple[str]] = Histogram((1.0, 10.0))
    for observed in (1.0, 0.5, 10.0, 11.0, -3.0, math.nan):
        histogram.observe(("a",), observed)
    snapshot = histogram.snapshot(always=[("b",)])
    assert snapshot[("a",)].buckets == ((1.0, 4), (10.0, 5), (math.inf, 6))
    assert snapshot[("a",)].sum == 22.5  # a clock step (negative, NaN) counts as 0
    assert snapshot[("b",)].buckets == ((1.0, 0), (10.0, 0), (math.inf, 0))
    assert histogram.count(("a",)) == 6
    with pytest.raises(ValueError, match="increasing"):
        Histogram((10.0, 1.0))
    assert list(LONG_BUCKETS) == sorted(LONG_BUCKETS)


def test_a_renewal_approved_and_completed_at_once_is_timed_from_its_history() -> None:
    """Ready stays True through a renewal of a still-valid bundle (issue 12) and the completed
    status no longer holds the copy's review: the start and the approval come from its record
    in status.history."""
    m = metrics()
    previous = ready(in_review(T0 + timedelta(hours=1)), True, T0)
    record = RenewalRecord(
        outcome=RenewalOutcome.COMPLETED,
        started_at=T0 + timedelta(hours=1),
        approved_at=T0 + timedelta(hours=3),
        completed_at=T0 + timedelta(hours=3),
    )
    done = ready(
        BundleRenewalStatus(
            phase=Phase.COMPLETED, completed_at=T0 + timedelta(hours=3), history=[record]
        ),
        True,
        T0 + timedelta(hours=3),
    )
    m.status_written("uid-1", "telecom", "acme", previous, done)
    renewals = families(m)["bundle_renewal_renewal_duration_seconds"]
    assert next(s.value for s in renewals.samples if s.name.endswith("_sum")) == 2 * 3600
    reviews = families(m)["bundle_renewal_review_duration_seconds"]
    counts = {s.labels["outcome"]: s.value for s in reviews.samples if s.name.endswith("_count")}
    assert counts["approved"] == 1
