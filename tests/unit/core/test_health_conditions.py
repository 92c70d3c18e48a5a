"""Issue 12: the conditions GitOps tools read, status.nextCheckTime, observedGeneration and
status.history, through the real reconcile loop against the in-memory Twilio.

The conditions' rules (controller/core/workflow/status.py): Ready only while the original bundle is
valid and nothing needs a person; a renewal in flight is in Renewing; Stalled for what a person
must fix; Reconciling whenever Ready is False otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from controller.core.models import (
    BundleRenewalStatus,
    ConditionType,
    DocumentFailure,
    OriginalBundleStatus,
    Phase,
    RenewalOutcome,
    RenewalTrigger,
)
from controller.core.plan import ErrorKind, Observation, Policy
from controller.core.workflow import decide, history
from controller.core.workflow.context import Context
from tests.fakes.fake_twilio import T0, FakeTwilio, reconcile, resource, with_spec
from tests.unit.core.test_workflow_loops import DownTwilio
from tests.unit.core.test_workflow_scenarios import complete, seed_spec
from tests.unit.core.test_workflow_table import ROWS


def conditions(status: BundleRenewalStatus) -> dict[str, str]:
    return {c.type.value: c.status.value for c in status.conditions}


def reason(status: BundleRenewalStatus, type_: ConditionType) -> str:
    return next(c.reason for c in status.conditions if c.type == type_)


def test_a_review_of_a_still_valid_bundle_is_ready_and_not_reconciling() -> None:
    twilio = FakeTwilio.seed(valid_until=T0 + timedelta(days=30))
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    status = run.resource.status
    assert status.phase == Phase.IN_REVIEW
    assert conditions(status) == {
        "Ready": "True",
        "Reconciling": "False",
        "Stalled": "False",
        "Renewing": "True",
    }
    assert reason(status, ConditionType.RENEWING) == "InReview"
    # Written at the end of the reconcile: when the copy is polled next.
    assert run.last.requeue_after is not None
    assert status.next_check_time == T0 + timedelta(seconds=run.last.requeue_after)


def test_a_review_of_an_expired_bundle_is_not_ready_but_reconciling() -> None:
    twilio = FakeTwilio.seed(valid_until=T0 - timedelta(hours=1))
    status = reconcile(resource(seed_spec(), twilio), twilio, T0).resource.status
    assert status.phase == Phase.IN_REVIEW
    assert conditions(status) == {
        "Ready": "False",
        "Reconciling": "True",
        "Stalled": "False",
        "Renewing": "True",
    }
    ready = next(c for c in status.conditions if c.type == ConditionType.READY)
    assert "valid_until" in ready.message
    assert "has passed" in ready.message


def test_ready_turns_false_at_the_poll_just_after_valid_until() -> None:
    valid_until = T0 + timedelta(minutes=10)
    twilio = FakeTwilio.seed(valid_until=valid_until)
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    assert conditions(run.resource.status)["Ready"] == "True"
    # Polls stay on Twilio's pace until the deadline; the one after it is no later than 1 s.
    now = T0
    while now <= valid_until:
        assert run.last.requeue_after is not None
        now += timedelta(seconds=run.last.requeue_after)
        assert now <= valid_until + timedelta(seconds=1)
        run = reconcile(run.resource, twilio, now)
    assert conditions(run.resource.status) == {
        "Ready": "False",
        "Reconciling": "True",
        "Stalled": "False",
        "Renewing": "True",
    }


@pytest.mark.parametrize("rejected", [False, True], ids=["needs-input", "rejected"])
def test_what_needs_a_person_is_stalled_and_not_ready(rejected: bool) -> None:
    twilio = FakeTwilio.seed()
    spec = seed_spec()
    if not rejected:
        del spec["supportingDocuments"][-1]  # the power of attorney the regulation requires
    run = reconcile(resource(spec, twilio), twilio, T0)
    if rejected:
        twilio.review(approve=False, reasons={"commercial_registrar_excerpt": "Blurry"})
        run = reconcile(run.resource, twilio, T0 + timedelta(minutes=5))
    status = run.resource.status
    assert status.phase == (Phase.REJECTED if rejected else Phase.NEEDS_INPUT)
    assert conditions(status) == {
        "Ready": "False",
        "Reconciling": "False",
        "Stalled": "True",
        "Renewing": "True",
    }


def test_a_completed_renewal_is_ready_shows_no_deleted_copy_and_keeps_its_history() -> None:
    twilio = FakeTwilio.seed()
    first = reconcile(resource(seed_spec(), twilio), twilio, T0)
    copy_sid = first.resource.status.copy_sid
    evaluation = first.resource.status.evaluation
    assert copy_sid is not None
    assert evaluation is not None
    twilio.review(approve=True)
    done = reconcile(first.resource, twilio, T0 + timedelta(minutes=5))
    status = done.resource.status
    assert conditions(status) == {
        "Ready": "True",
        "Reconciling": "False",
        "Stalled": "False",
        "Renewing": "False",
    }
    # kubectl get's Copy-Status column showed the deleted copy's twilio-approved.
    assert status.review is None
    assert status.evaluation is None
    assert status.next_check_time == T0 + timedelta(minutes=5, hours=1)
    [record] = status.history
    assert record.outcome is RenewalOutcome.COMPLETED
    assert record.triggers == [RenewalTrigger.VALID_UNTIL]
    assert record.valid_until == T0 + timedelta(days=30)
    assert record.copy_sid == copy_sid
    assert record.evaluation_sid == evaluation.sid
    assert record.started_at == record.submitted_at == T0
    assert record.review_rounds == 1
    assert record.approved_at == record.completed_at == T0 + timedelta(minutes=5)
    assert record.rejected_at is None
    assert record.rejections == []
    # The history rode on the writes the renewal makes anyway (test_happy_path_cluster_writes).
    assert len(first.statuses) == 3
    assert len(done.statuses) == 1


def test_history_counts_rounds_and_keeps_rejection_reasons_not_values() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.review(approve=False, reasons={"commercial_registrar_excerpt": "Document is blurry"})
    rejected = reconcile(run.resource, twilio, T0 + timedelta(minutes=5))
    again = reconcile(rejected.resource, twilio, T0 + timedelta(hours=2))  # a re-check
    assert again.resource.status.history == rejected.resource.status.history
    fixed = with_spec(again.resource, seed_spec(number="K-552100555"))
    resubmitted = reconcile(fixed, twilio, T0 + timedelta(hours=3))
    twilio.review(approve=True)
    done = reconcile(resubmitted.resource, twilio, T0 + timedelta(hours=4))
    [record] = done.resource.status.history
    assert record.review_rounds == 2
    assert record.submitted_at == T0 + timedelta(hours=3)
    assert record.rejected_at == T0 + timedelta(minutes=5)
    assert [(r.type, r.failure_reason) for r in record.rejections] == [
        ("commercial_registrar_excerpt", "Document is blurry")
    ]
    assert record.generation == 2
    dumped = done.resource.status.model_dump_json()
    assert "K-55210055" not in dumped
    assert "ACME SAS" not in dumped


def test_history_keeps_the_last_renewals_newest_first() -> None:
    twilio = FakeTwilio.seed()
    res = complete(resource(seed_spec(), twilio), twilio)
    for n in range(1, 7):
        res = complete(with_spec(res, seed_spec(number=f"K-{n}")), twilio)
    records = res.status.history
    assert len(records) == Policy().history_limit == 5
    assert [r.generation for r in records] == [7, 6, 5, 4, 3]
    assert all(r.triggers == [RenewalTrigger.SPEC_CHANGE] for r in records)
    assert len({r.copy_sid for r in records}) == 5


def test_history_limit_zero_keeps_none() -> None:
    twilio = FakeTwilio.seed()
    ctx = Context(resource(seed_spec(), twilio), Observation(), T0, Policy(history_limit=0))
    status = history.start(ctx, BundleRenewalStatus(), twilio.original)
    status = history.rejected(ctx, status, [DocumentFailure(type="x", failure_reason="y")])
    assert status.history == []


def test_a_spec_change_is_observed_in_the_status_written() -> None:
    """kstatus reads observedGeneration != generation as InProgress: each reconcile writes it,
    also one that decides nothing new (a spec change that alters nothing in the copy)."""
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    assert run.resource.status.observed_generation == 1
    same = with_spec(run.resource, {**seed_spec(), "renewalRequest": None})
    again = reconcile(same, twilio, T0 + timedelta(seconds=1))
    assert again.statuses, "the new generation was not written"
    status = again.resource.status
    assert status.observed_generation == 2
    assert {c.observed_generation for c in status.conditions} == {2}


def valid(original: OriginalBundleStatus | None, now: datetime) -> bool:
    return (
        original is not None
        and original.status == "twilio-approved"
        and (original.valid_until is None or original.valid_until > now)
    )


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_conditions_agree_on_every_row_of_the_decision_table(row: object) -> None:
    """Never all of Ready, Reconciling and Stalled False (but Suspended); Stalled is never
    Ready; Ready only for a valid bundle; Renewing while a copy or a write is in flight."""
    decision = decide(row.resource, row.observation, T0, Policy())  # type: ignore[attr-defined]
    status = decision.status
    if not status.conditions:
        return  # an Observe before anything was decided: the status as it was
    c = conditions(status)
    if status.phase != Phase.SUSPENDED:
        assert "True" in (c["Ready"], c["Reconciling"], c["Stalled"]), status.message
    if c["Stalled"] == "True":
        assert c["Ready"] == c["Reconciling"] == "False"
    if c["Ready"] == "True":
        assert valid(status.original, T0)
    assert (c["Renewing"] == "True") == (
        status.copy_sid is not None or status.phase == Phase.IN_PROGRESS
    )
    if decision.action is None and decision.requeue_after is not None:
        expected = T0 + timedelta(seconds=decision.requeue_after, milliseconds=500)
        assert status.next_check_time == expected.replace(microsecond=0)
    elif decision.action is not None:
        assert status.next_check_time is None


def test_waiting_out_a_backoff_writes_no_new_next_check() -> None:
    """The time written with the failure is still when the retry comes: no write meanwhile."""
    twilio = DownTwilio.seed()
    at = T0 + timedelta(microseconds=654321)
    run = reconcile(resource(seed_spec(), twilio), twilio, at)
    assert run.error is ErrorKind.TRANSIENT
    retry = run.resource.status.next_check_time
    assert retry == T0 + timedelta(seconds=6)  # 5 s of backoff, to the nearest second
    again = reconcile(run.resource, twilio, at + timedelta(seconds=1.7))
    assert again.statuses == []
