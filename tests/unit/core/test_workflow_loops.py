"""Regressions of issue 11: a spec that cannot settle is refused or stopped, never a stream of
writes, and a resource in a failure only a change can fix stays quiet (one read per retry, no
phase flapping, one event per change of reason). Through the real reconcile loop against the
in-memory Twilio behind the gateway port."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from controller.adapters.twilio_gateway.port import TwilioPermanentError, TwilioTransientError
from controller.core.models import Phase, Reason
from controller.core.plan import ErrorKind
from controller.core.twilio_models import SupportingDocument
from controller.engine.write_budget import WriteBudget
from tests.fakes.fake_twilio import T0, FakeTwilio, Run, reconcile, resource, with_spec
from tests.unit.core.test_workflow_scenarios import seed_spec


def only_rescheduled(before: Run, after: Run, seconds: float) -> bool:
    """Whether `after` wrote nothing but the time of its next check (status.nextCheckTime, the
    one field every reconcile that waits records), `seconds` after its start."""
    start = before.resource.status.next_check_time
    mask = {"next_check_time": None}
    unchanged = all(
        s.model_copy(update=mask) == before.resource.status.model_copy(update=mask)
        for s in after.statuses
    )
    at = after.resource.status.next_check_time
    return (
        unchanged
        and len(after.statuses) <= 1
        and at is not None
        and at != start
        and (at == (T0 + timedelta(seconds=seconds)).replace(microsecond=0))
    )


def ready_reason(run: Run) -> str:
    ready = next(c for c in run.resource.status.conditions if c.type == "Ready")
    return ready.reason


def twin_entries(first: str, second: str) -> dict[str, Any]:
    """Two entries for the seed bundle's one commercial_registrar_excerpt, neither with a match."""
    spec = seed_spec()
    spec["supportingDocuments"] = [
        {"type": "commercial_registrar_excerpt", "attributes": {"document_number": first}},
        {"type": "commercial_registrar_excerpt", "attributes": {"document_number": second}},
        *spec["supportingDocuments"][1:],
    ]
    return spec


def test_two_entries_landing_on_one_document_are_refused_before_any_write() -> None:
    """Once updated the document back and forth for ever (~7 Twilio writes/s)."""
    twilio = FakeTwilio.seed()
    run = reconcile(resource(twin_entries("K-1", "K-2"), twilio), twilio, T0)
    assert twilio.write_count() == 0
    assert run.resource.status.phase == Phase.FAILED
    assert ready_reason(run) == Reason.AMBIGUOUS_DOCUMENT
    message = run.resource.status.message or ""
    assert "commercial_registrar_excerpt.1 and commercial_registrar_excerpt.2" in message
    assert "match.friendlyName" in message
    assert "K-1" not in message
    assert [e.reason for e in run.events] == [Reason.AMBIGUOUS_DOCUMENT]
    # Different fields would have been merged silently: refused just the same.
    twilio = FakeTwilio.seed()
    spec = twin_entries("K-1", "K-1")
    spec["supportingDocuments"][1]["attributes"] = {"business_name": "ACME SAS"}
    run = reconcile(resource(spec, twilio), twilio, T0)
    assert twilio.write_count() == 0
    assert ready_reason(run) == Reason.AMBIGUOUS_DOCUMENT


def test_a_clash_added_while_a_copy_is_edited_writes_nothing_more_to_it() -> None:
    twilio = FakeTwilio.seed()
    spec = seed_spec()
    first = reconcile(resource({"endUser": spec["endUser"]}, twilio), twilio, T0)
    assert first.resource.status.phase == Phase.NEEDS_INPUT  # a copy exists, documents missing
    writes = twilio.write_count()
    changed = with_spec(first.resource, twin_entries("K-1", "K-2"))
    run = reconcile(changed, twilio, T0 + timedelta(minutes=1))
    assert twilio.write_count() == writes
    assert ready_reason(run) == Reason.AMBIGUOUS_DOCUMENT


def test_two_entries_of_a_type_the_bundle_lacks_create_two_documents() -> None:
    """Not every shared type is a clash: nothing to land on, so each entry gets its own."""
    twilio = FakeTwilio.seed()
    spec = seed_spec()
    poa = [d for d in spec["supportingDocuments"] if d["type"] == "power_of_attorney"]
    assert poa  # the seed spec adds one; add a second
    spec["supportingDocuments"].append({**poa[0], "attributes": {}})
    run = reconcile(resource(spec, twilio), twilio, T0)
    assert ready_reason(run) != Reason.AMBIGUOUS_DOCUMENT
    assert twilio.calls["create_supporting_document"] == 2


class NormalisingTwilio(FakeTwilio):
    """Twilio trims attribute values: a spec value with a trailing space never matches what is
    stored, so the workflow would update the document again and again."""

    async def update_supporting_document(
        self, sid: str, attributes: dict[str, Any]
    ) -> SupportingDocument:
        trimmed = {k: v.strip() if isinstance(v, str) else v for k, v in attributes.items()}
        return await super().update_supporting_document(sid, trimmed)


def test_a_write_loop_stops_at_the_budget_and_stays_stopped() -> None:
    twilio = NormalisingTwilio.seed()
    budget = WriteBudget(per_reconcile=40, per_hour=120)
    res = resource(seed_spec(number="K-552100554 "), twilio)
    run = reconcile(res, twilio, T0, budget=budget)
    assert run.error is ErrorKind.WRITE_BUDGET
    assert twilio.write_count() <= 40
    assert run.resource.status.phase == Phase.FAILED
    assert ready_reason(run) == Reason.WRITE_BUDGET_EXCEEDED
    # Each retry is one read of the original while nothing changed: no write, no event.
    for minutes in (1, 61, 181):
        before, writes = Counter(twilio.calls), twilio.write_count()
        again = reconcile(run.resource, twilio, T0 + timedelta(minutes=minutes), budget=budget)
        assert twilio.write_count() == writes
        assert Counter(twilio.calls) - before == Counter({"read:fetch_bundle": 1})
        assert again.events == []
        assert only_rescheduled(run, again, minutes * 60 + 3600)
        run = again


class StrictTypesTwilio(FakeTwilio):
    """Twilio refuses a supporting document type it does not know (400)."""

    async def create_supporting_document(
        self, friendly_name: str, type: str, attributes: dict[str, Any], file: Any
    ) -> SupportingDocument:
        if type == "passport_scan":
            self._write("create_supporting_document")
            raise TwilioPermanentError("Type is not a valid document type", status=400, code=20001)
        return await super().create_supporting_document(friendly_name, type, attributes, file)


def test_a_refused_document_type_stalls_naming_the_type_and_stays_quiet() -> None:
    """Once flipped InProgress <-> Failed with ~10 Twilio requests on every retry."""
    twilio = StrictTypesTwilio.seed()
    spec = seed_spec()
    spec["supportingDocuments"].append({"type": "passport_scan", "attributes": {}})
    run = reconcile(resource(spec, twilio), twilio, T0)
    assert run.error is ErrorKind.PERMANENT
    assert run.resource.status.phase == Phase.FAILED
    assert "passport_scan" in (run.resource.status.message or "")
    events = len(run.events)
    for seconds in (6, 3600, 7300):
        before = Counter(twilio.calls)
        again = reconcile(run.resource, twilio, T0 + timedelta(seconds=seconds))
        assert Counter(twilio.calls) - before == Counter({"read:fetch_bundle": 1})
        assert only_rescheduled(run, again, seconds + 3600)  # phase and message stay
        assert again.events == []
        run = again
    assert events >= 1
    # The fix (a spec change) retries in full at once, despite the backoff.
    spec["supportingDocuments"].pop()
    fixed = reconcile(with_spec(run.resource, spec), twilio, T0 + timedelta(seconds=7301))
    assert fixed.resource.status.phase == Phase.IN_REVIEW


class DownTwilio(FakeTwilio):
    """Twilio answers 503 to every read of a bundle."""

    async def fetch_bundle(self, sid: str) -> Any:
        self.calls["read:fetch_bundle"] += 1
        raise TwilioTransientError("Service Unavailable", status=503, code=None)


def test_the_same_failure_again_posts_no_second_event() -> None:
    """One event per change of reason, not one per attempt (the status counts the attempts)."""
    twilio = DownTwilio.seed()
    run = reconcile(resource(seed_spec(), twilio), twilio, T0)
    assert [e.reason for e in run.events] == [Reason.TRANSIENT_ERROR]
    for attempt, seconds in ((2, 10), (3, 30), (4, 70)):
        run = reconcile(run.resource, twilio, T0 + timedelta(seconds=seconds))
        assert run.error is ErrorKind.TRANSIENT
        assert run.resource.status.failed_attempts == attempt
        assert run.events == []
