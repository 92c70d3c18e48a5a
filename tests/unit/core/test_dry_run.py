"""spec.dryRun through the fake Twilio and the real reconcile loop: no copy, no submission, the
original's evaluation the only request that is not a read, and a report of names only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controller.core.models import ConditionType, Phase, PlannedChange, Reason
from controller.core.plan import EvaluateOriginal, Observation
from controller.core.twilio_models import BundleStatus
from controller.engine.actions import UnsafeActionRefused, check_safe
from tests.fakes.fake_regulations import RegulatedFakeTwilio
from tests.fakes.fake_twilio import T0, FakeTwilio, reconcile, resource, with_spec
from tests.unit.core.test_workflow_scenarios import seed_spec

SENTINEL = "Sentinel-Value-4409"


def condition(status: Any, kind: ConditionType) -> tuple[str, str]:
    found = next(c for c in status.conditions if c.type == kind)
    return found.status, found.reason


def dry(spec: dict[str, Any]) -> dict[str, Any]:
    return {**spec, "dryRun": True}


def test_a_dry_run_makes_no_copy_and_lists_what_a_renewal_would_change() -> None:
    twilio = RegulatedFakeTwilio.seed()
    run = reconcile(resource(dry(seed_spec(business=SENTINEL)), twilio), twilio, T0)

    status = run.resource.status
    assert twilio.writes() == {"create_evaluation": 1}
    assert twilio.original_evaluations == 1
    assert twilio.live_copies() == []
    assert twilio.original.status == BundleStatus.TWILIO_APPROVED
    assert status.phase == Phase.DRY_RUN
    assert condition(status, ConditionType.READY) == ("True", Reason.DRY_RUN)
    assert condition(status, ConditionType.RECONCILING)[0] == "False"
    assert condition(status, ConditionType.STALLED)[0] == "False"
    report = status.dry_run
    assert report is not None
    assert report.changes == [
        PlannedChange(object="endUser", action="update", fields=["business_name", "first_name"]),
        PlannedChange(
            object="commercial_registrar_excerpt",
            type="commercial_registrar_excerpt",
            action="update",
            fields=["document_number"],
        ),
        PlannedChange(
            object="government_issued_document.1",
            type="government_issued_document",
            action="update",
            fields=["last_name"],
        ),
        PlannedChange(
            object="government_issued_document.2",
            type="government_issued_document",
            action="update",
            fields=["last_name"],
        ),
        PlannedChange(object="power_of_attorney", type="power_of_attorney", action="create"),
    ]
    assert report.renewal_due
    assert report.reasons[0].startswith(f"bundle {twilio.original_sid} valid until")
    assert report.original_compliant is False
    assert report.missing == []  # the spec provides every field the original lacks
    assert report.not_accepted == []
    assert report.checked_at == T0
    assert report.generation == 1
    assert SENTINEL not in status.model_dump_json()
    assert "update endUser (business_name, first_name)" in (status.message or "")
    assert [e.reason for e in run.events] == [Reason.DRY_RUN]


def test_what_the_spec_does_not_provide_is_listed_as_still_missing() -> None:
    twilio = RegulatedFakeTwilio.seed()
    spec = seed_spec()
    del spec["supportingDocuments"][3]  # no power of attorney
    spec["endUser"]["attributes"].pop("first_name")
    run = reconcile(resource(dry(spec), twilio), twilio, T0)

    report = run.resource.status.dry_run
    assert report is not None
    missing = {(m.requirement_name, m.field) for m in report.missing}
    assert missing == {("business_info", "first_name"), ("power_of_attorney_info", None)}
    assert "2 requirement field(s) would still be missing" in (run.resource.status.message or "")
    assert run.resource.status.phase == Phase.DRY_RUN


def test_turning_the_dry_run_off_renews_for_real() -> None:
    twilio = RegulatedFakeTwilio.seed()
    checked = reconcile(resource(dry(seed_spec()), twilio), twilio, T0).resource
    run = reconcile(with_spec(checked, seed_spec()), twilio, T0 + timedelta(minutes=1))

    assert run.resource.status.phase == Phase.IN_REVIEW
    assert run.resource.status.dry_run is None
    assert twilio.calls["create_bundle_copy"] == 1
    assert twilio.calls["submit_bundle"] == 1
    assert twilio.original_evaluations == 1  # only the dry run's
    twilio.review(approve=True)
    done = reconcile(run.resource, twilio, T0 + timedelta(minutes=10))
    assert done.resource.status.phase == Phase.COMPLETED
    assert twilio.original.valid_until is None


def test_the_report_follows_the_spec_at_every_light_check() -> None:
    twilio = RegulatedFakeTwilio.seed()
    first = reconcile(resource(dry(seed_spec()), twilio), twilio, T0)
    later = T0 + timedelta(hours=1)
    again = reconcile(first.resource, twilio, later)
    assert first.last.requeue_after == pytest.approx(3600.0)
    assert twilio.original_evaluations == 2
    assert again.resource.status.dry_run is not None
    assert again.resource.status.dry_run.checked_at == later
    assert again.events == []  # still DryRun: no new event

    typo = seed_spec()
    typo["endUser"]["attributes"]["frist_name"] = typo["endUser"]["attributes"].pop("first_name")
    stalled = reconcile(with_spec(again.resource, dry(typo)), twilio, later)
    status = stalled.resource.status
    assert status.phase == Phase.FAILED
    assert condition(status, ConditionType.STALLED) == ("True", Reason.SPEC_NOT_ACCEPTED)
    assert status.dry_run is not None
    assert status.dry_run.not_accepted == ["spec.endUser.attributes.frist_name"]
    assert twilio.live_copies() == []
    assert twilio.writes() == {"create_evaluation": 3}


def test_a_dry_run_of_a_bundle_that_carries_the_spec_starts_nothing() -> None:
    twilio = RegulatedFakeTwilio.seed(valid_until=None)
    spec = {"endUser": {"attributes": {"business_name": "Old SAS"}}}
    run = reconcile(resource(dry(spec), twilio), twilio, T0)
    report = run.resource.status.dry_run
    assert report is not None
    assert not report.renewal_due
    assert report.changes == []
    assert report.reasons == []
    assert "no renewal would start" in (run.resource.status.message or "")


def test_a_dry_run_leaves_a_renewal_in_flight_where_it_is() -> None:
    twilio = RegulatedFakeTwilio.seed()
    submitted = reconcile(resource(seed_spec(), twilio), twilio, T0).resource
    assert submitted.status.phase == Phase.IN_REVIEW
    writes = twilio.write_count()
    run = reconcile(with_spec(submitted, dry(seed_spec())), twilio, T0 + timedelta(minutes=5))

    assert twilio.write_count() == writes + 1  # the original's evaluation
    assert twilio.live_copies()[0].status == BundleStatus.PENDING_REVIEW
    assert run.resource.status.phase == Phase.DRY_RUN
    assert run.resource.status.copy_sid == submitted.status.copy_sid
    assert "waits until spec.dryRun is false" in (run.resource.status.message or "")


def test_only_a_dry_run_may_evaluate_its_original() -> None:
    twilio = FakeTwilio.seed()
    action = EvaluateOriginal(bundle_sid=twilio.original_sid)
    check_safe(resource(dry({}), twilio), action, Observation())
    with pytest.raises(UnsafeActionRefused):
        check_safe(resource({}, twilio), action, Observation())
    other = EvaluateOriginal(bundle_sid="BU" + "9" * 32)
    with pytest.raises(UnsafeActionRefused):
        check_safe(resource(dry({}), twilio), other, Observation())
