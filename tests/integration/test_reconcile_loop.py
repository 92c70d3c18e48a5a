"""The reconcile loop (observe -> decide -> act -> persist) against the simulator, without Kopf.

The SDK-backed gateway talks to the simulator over loopback; the Kubernetes side (Secret reads,
status patches, events) is an in-memory fake, so these tests pin the loop's own promises: status
written after every Twilio write, the run completing, the original never touched but by
ReplaceItems, and the number of Twilio calls a renewal costs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.adapters.cluster import ObjectNotFound
from controller.adapters.twilio_gateway.config import GatewaySettings
from controller.adapters.twilio_gateway.factory import SdkTwilioGatewayFactory
from controller.core.models import BundleRenewalSpec, BundleRenewalStatus, Phase
from controller.core.plan import Event, Policy, RenewalResource
from controller.engine.reconcile import Dependencies, Outcome, reconcile
from tests.integration.scenario import (
    DOCUMENTS_SECRET,
    NEW_DOCUMENT_FILE,
    assert_new_document_renewed,
    assert_renewed,
    missing_field_spec,
    new_document_spec,
    renewal_spec,
    requests_by_route,
    secret_data,
    seed_due_bundle,
    seed_due_bundle_needing_new_document,
    successful_writes,
)
from tests.sim_fixtures import Sim

FAST = Policy(
    check_interval=60, review_poll_min=0.05, review_poll_max=0.2, backoff_base=0.05, backoff_max=1
)


class FakeObjects:
    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict[str, bytes]] = {}
        self.config_maps: dict[tuple[str, str], dict[str, bytes]] = {}

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        try:
            return self.secrets[(namespace, name)]
        except KeyError:
            raise ObjectNotFound("Secret", namespace, name) from None

    async def read_config_map(self, namespace: str, name: str) -> dict[str, bytes]:
        try:
            return self.config_maps[(namespace, name)]
        except KeyError:
            raise ObjectNotFound("ConfigMap", namespace, name) from None


class RecordingSink:
    def __init__(self, sim: Sim, account_sid: str) -> None:
        self.sim = sim
        self.account_sid = account_sid
        self.statuses: list[BundleRenewalStatus] = []
        self.events: list[Event] = []
        self.writes_seen_at_patch: list[int] = []

    async def write_status(self, status: BundleRenewalStatus) -> None:
        self.statuses.append(status)
        stats = await asyncio.to_thread(successful_writes, self.sim, self.account_sid)
        self.writes_seen_at_patch.append(stats)

    def note(self, status: BundleRenewalStatus) -> None:
        pass

    def post_event(self, event: Event) -> None:
        self.events.append(event)

    @property
    def latest(self) -> BundleRenewalStatus:
        return self.statuses[-1] if self.statuses else BundleRenewalStatus()


@pytest.fixture
async def factory(sim: Sim) -> AsyncIterator[SdkTwilioGatewayFactory]:
    gateways = SdkTwilioGatewayFactory(GatewaySettings(base_url=sim.base_url))
    try:
        yield gateways
    finally:
        await gateways.close()


def with_secret(case_account: Any) -> FakeObjects:
    objects = FakeObjects()
    objects.secrets[("telecom", "twilio-credentials")] = {
        k: v.encode() for k, v in secret_data(case_account).items()
    }
    return objects


def make_resource(spec: dict[str, Any], status: BundleRenewalStatus, generation: int = 1) -> Any:
    return RenewalResource(
        uid="0b7e3c1a-5d2f-4c55-9a1e-2f3b4c5d6e7f",
        namespace="telecom",
        name="acme-fr-mobile",
        generation=generation,
        spec=BundleRenewalSpec.model_validate(spec),
        status=status,
    )


async def run_until(
    sim: Sim,
    deps: Dependencies,
    sink: RecordingSink,
    spec: dict[str, Any],
    phases: set[Phase],
    *,
    generation: int = 1,
    timeout: float = 30.0,
) -> Outcome:
    """Reconcile like the daemon does (sleeping requeue_after) until a phase in `phases`."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while True:
        resource = make_resource(spec, sink.latest, generation)
        outcome = await reconcile(resource, deps, sink)
        if sink.latest.phase in phases and outcome.decision.action is None:
            return outcome
        if datetime.now(UTC) > deadline:
            raise AssertionError(f"stuck in {sink.latest.phase}: {sink.latest.message}")
        await asyncio.sleep(min(outcome.requeue_after or 0.05, 0.2))


def _beyond_next_check(statuses: list[BundleRenewalStatus]) -> list[BundleRenewalStatus]:
    """The statuses written, less each that differs from the one before only in nextCheckTime."""
    kept: list[BundleRenewalStatus] = []
    for status in statuses:
        if (
            kept
            and status.model_copy(update={"next_check_time": kept[-1].next_check_time}) == kept[-1]
        ):
            continue
        kept.append(status)
    return kept


async def test_happy_path_completes_and_persists_after_every_write(
    sim: Sim, factory: SdkTwilioGatewayFactory
) -> None:
    case = seed_due_bundle(sim)
    deps = Dependencies(gateways=factory, objects=with_secret(case.account), policy=FAST)
    sink = RecordingSink(sim, case.account.sid)
    await run_until(sim, deps, sink, renewal_spec(case.bundle_sid), {Phase.COMPLETED})

    assert_renewed(sim, case)
    status = sink.latest
    assert status.completed_at is not None
    assert status.copy_sid is None or status.items_replaced_at is not None
    # Status is written at the renewal's start (before the copy: no Twilio write yet), when it
    # waits for review and when it completes; nothing a restart needs goes unwritten (the crash
    # tests check that), and there is no write per step.
    # (While in review, a poll that sees pending-review become in-review records it too, and a
    # poll whose rounded status.nextCheckTime moved on to the next second writes that alone: how
    # many depends on the machine's pace, so those are not counted.)
    assert sink.writes_seen_at_patch[0] == 0, sink.writes_seen_at_patch
    phases = [s.phase for s in sink.statuses]
    assert [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]] == [
        Phase.IN_PROGRESS,
        Phase.IN_REVIEW,
        Phase.COMPLETED,
    ], phases
    assert phases.count(Phase.IN_PROGRESS) == 1, phases
    assert len(_beyond_next_check(sink.statuses)) <= 4, phases
    in_review = next(s for s in sink.statuses if s.phase == Phase.IN_REVIEW)
    assert in_review.replaced_object_sids  # recorded with the submission, for ReplaceItems
    # Every transition has an event, and no event carries an attribute value.
    assert sink.events
    for event in sink.events:
        assert "Registre" not in event.message
        assert "IssueDate" not in event.message
    calls = requests_by_route(sim, case.account.sid)
    print(f"\nTwilio calls for one renewal: {sum(calls.values())}: {dict(calls)}")


async def test_missing_field_stops_in_needs_input_then_completes_when_fixed(
    sim: Sim, factory: SdkTwilioGatewayFactory
) -> None:
    case = seed_due_bundle(sim)
    deps = Dependencies(gateways=factory, objects=with_secret(case.account), policy=FAST)
    sink = RecordingSink(sim, case.account.sid)
    await run_until(sim, deps, sink, missing_field_spec(case.bundle_sid), {Phase.NEEDS_INPUT})
    evaluation = sink.latest.evaluation
    assert evaluation is not None
    fields = {(f.object_type, f.field) for f in evaluation.failures}
    assert fields == {("business", "business_registration_authority")}
    assert all(f.error_code for f in evaluation.failures)
    await run_until(sim, deps, sink, renewal_spec(case.bundle_sid), {Phase.COMPLETED}, generation=2)
    assert_renewed(sim, case)


async def test_missing_secret_is_reported_without_calling_twilio(
    sim: Sim, factory: SdkTwilioGatewayFactory
) -> None:
    case = seed_due_bundle(sim)
    deps = Dependencies(gateways=factory, objects=FakeObjects(), policy=FAST)
    sink = RecordingSink(sim, case.account.sid)
    before = sum(requests_by_route(sim, case.account.sid).values())
    outcome = await reconcile(
        make_resource(renewal_spec(case.bundle_sid), BundleRenewalStatus()), deps, sink
    )
    assert outcome.error is not None
    assert sink.latest.phase == Phase.FAILED
    assert "Secret twilio-credentials not found in namespace telecom" in (sink.latest.message or "")
    assert sum(requests_by_route(sim, case.account.sid).values()) == before


async def test_a_document_the_regulation_now_requires_is_created_with_its_file(
    sim: Sim, factory: SdkTwilioGatewayFactory
) -> None:
    case = seed_due_bundle_needing_new_document(sim)
    objects = with_secret(case.account)
    objects.secrets[("telecom", DOCUMENTS_SECRET)] = {"bill.pdf": NEW_DOCUMENT_FILE}
    deps = Dependencies(gateways=factory, objects=objects, policy=FAST)
    sink = RecordingSink(sim, case.account.sid)
    await run_until(sim, deps, sink, new_document_spec(case.bundle_sid), {Phase.COMPLETED})
    assert_new_document_renewed(sim, case)


async def test_a_missing_document_file_is_reported_as_the_users_to_fix(
    sim: Sim, factory: SdkTwilioGatewayFactory
) -> None:
    case = seed_due_bundle_needing_new_document(sim)
    deps = Dependencies(gateways=factory, objects=with_secret(case.account), policy=FAST)
    sink = RecordingSink(sim, case.account.sid)
    await run_until(sim, deps, sink, new_document_spec(case.bundle_sid), {Phase.FAILED})
    assert f"Secret {DOCUMENTS_SECRET} not found in namespace telecom" in (
        sink.latest.message or ""
    )


async def test_the_copy_is_submitted_with_the_operator_s_status_callback(
    sim: Sim, factory: SdkTwilioGatewayFactory
) -> None:
    sim.set_config(review={"mode": "manual"})
    case = seed_due_bundle(sim)
    callback = "https://operator.example/twilio/status"
    deps = Dependencies(
        gateways=factory, objects=with_secret(case.account), policy=FAST, status_callback=callback
    )
    sink = RecordingSink(sim, case.account.sid)
    await run_until(sim, deps, sink, renewal_spec(case.bundle_sid), {Phase.IN_REVIEW})
    copy_sid = sink.latest.copy_sid
    assert copy_sid is not None
    copy = sim.admin.bundle(copy_sid)
    assert copy["status"] in ("pending-review", "in-review")
    assert copy["status_callback"] == callback
    # The original keeps its own callback (it is never updated).
    assert sim.admin.bundle(case.bundle_sid)["status_callback"] != callback
