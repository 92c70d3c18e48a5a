"""What a restarted operator takes on trust (workflow.settled_for): a status whose reconcile
ended with a next check still ahead, for the current generation; never a checkpoint written
mid-renewal, a newer spec or a new renewalRequest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.core.models import Phase
from controller.core.workflow import settled_for
from tests.fakes.fake_twilio import T0, Crash, FakeTwilio, reconcile, resource, with_spec
from tests.unit.core.test_workflow_scenarios import seed_spec


def test_a_completed_renewal_is_left_alone_until_its_light_check() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    twilio.review(approve=True)
    done = reconcile(run.resource, twilio, T0 + timedelta(minutes=5)).resource
    assert done.status.phase == Phase.COMPLETED
    next_check = done.status.next_check_time
    assert next_check is not None

    later = T0 + timedelta(minutes=10)
    assert settled_for(done, later) == pytest.approx((next_check - later).total_seconds())
    assert settled_for(done, next_check) is None  # due: reconcile at once
    assert settled_for(done, next_check + timedelta(seconds=1)) is None


def test_a_review_is_left_alone_until_its_next_poll() -> None:
    twilio = FakeTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    assert run.resource.status.phase == Phase.IN_REVIEW
    assert settled_for(run.resource, T0) == pytest.approx(run.last.requeue_after, abs=1)


def test_a_checkpoint_written_mid_renewal_is_never_trusted() -> None:
    """The status a crash leaves behind (the renewal's start, recorded before the copy) has no
    next check: a restart carries the renewal on at once."""
    twilio = FakeTwilio.seed()
    with pytest.raises(Crash) as crash:
        reconcile(resource(seed_spec(), twilio), twilio, T0, crash_after_write=1)
    persisted = crash.value.resource
    assert persisted.status.phase == Phase.IN_PROGRESS
    assert persisted.status.next_check_time is None
    assert settled_for(persisted, T0) is None


def test_a_newer_spec_or_a_renewal_request_is_reconciled_at_once() -> None:
    twilio = FakeTwilio.seed(valid_until=None)
    res = resource(seed_spec(), twilio)
    rested = reconcile(res, twilio, T0).resource
    assert settled_for(rested, T0) is not None
    edited = with_spec(rested, seed_spec(last="Roe"))
    edited = edited.model_copy(update={"status": rested.status})
    assert settled_for(edited, T0) is None
    requested = with_spec(rested, {**seed_spec(), "renewalRequest": "2026-01-01"})
    requested = requested.model_copy(update={"generation": rested.generation})
    assert settled_for(requested, T0) is None
