"""The reconcile loop never lets an exception escape: an unexpected one (a bug, a malformed
answer) is recorded in status with backoff like a transient Twilio failure, and logged by type
and code location only, since its message may quote personal data. A clean-up whose Secret is
already gone (namespace deletion) uses the credentials the resource last read."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from controller.adapters.cluster import ObjectNotFound
from controller.adapters.twilio_gateway.port import TwilioCredentials
from controller.core import workflow
from controller.core.models import (
    BundleRenewalSpec,
    BundleRenewalStatus,
    RenewalOutcome,
    RenewalRecord,
    ReviewStatus,
)
from controller.core.plan import ErrorKind, Event, Policy, RenewalResource, copy_marker
from controller.core.twilio_models import Bundle, BundleStatus
from controller.engine.credentials import CredentialsError, LastGoodCredentials
from controller.engine.reconcile import Dependencies, queue_priority, reconcile

ACCOUNT = "AC" + "a" * 32
PERSONAL = "Jane Q. Example"
POLICY = Policy(check_interval=60, review_poll_min=1, review_poll_max=2, backoff_base=5)


class Objects:
    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        return {"accountSid": ACCOUNT.encode(), "authToken": b"t" * 32}

    async def read_config_map(self, namespace: str, name: str) -> dict[str, bytes]:
        raise AssertionError("not read")


class FailingGateway:
    """Every call raises `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return call


class Factory:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def for_credentials(
        self, credentials: TwilioCredentials, *, priority: float | None = None
    ) -> Any:
        return FailingGateway(self.error)


class Sink:
    def __init__(self) -> None:
        self.statuses: list[BundleRenewalStatus] = []
        self.events: list[Event] = []

    async def write_status(self, status: BundleRenewalStatus) -> None:
        self.statuses.append(status)

    def note(self, status: BundleRenewalStatus) -> None:
        pass

    def post_event(self, event: Event) -> None:
        self.events.append(event)


def resource() -> RenewalResource:
    spec = BundleRenewalSpec.model_validate(
        {"bundleSid": "BU" + "0" * 32, "credentialsSecretRef": {"name": "twilio"}}
    )
    return RenewalResource(uid="u-1", namespace="ns", name="r", generation=1, spec=spec)


class _Person(BaseModel):
    age: int


def _validation_error() -> ValidationError:
    try:
        _Person.model_validate({"age": PERSONAL})
    except ValidationError as exc:
        return exc
    raise AssertionError("validated")


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(KeyError(PERSONAL), id="KeyError"),
        pytest.param(ValueError(f"bad value {PERSONAL}"), id="ValueError"),
        pytest.param(_validation_error(), id="ValidationError"),
    ],
)
async def test_an_unexpected_exception_is_recorded_with_backoff_and_no_values(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    sink = Sink()
    deps = Dependencies(gateways=Factory(error), objects=Objects(), policy=POLICY)
    with caplog.at_level(logging.DEBUG):
        outcome = await reconcile(resource(), deps, sink)

    assert outcome.error is ErrorKind.TRANSIENT
    assert outcome.requeue_after is not None
    assert outcome.requeue_after > 0
    status = sink.statuses[-1]
    assert status.failed_attempts == 1
    assert status.last_failure_time is not None
    name = type(error).__name__
    assert status.message is not None
    assert f"failed unexpectedly ({name})" in status.message
    assert any(name in e.message and e.type.value == "Warning" for e in sink.events)
    logged = caplog.text
    assert f"raised {name}" in logged
    assert "test_reconcile_failures.py" in logged  # where it happened, for the bug report
    for text in (logged, status.model_dump_json(), *(e.message for e in sink.events)):
        assert PERSONAL not in text


async def test_cancellation_still_propagates() -> None:
    deps = Dependencies(
        gateways=Factory(asyncio.CancelledError()), objects=Objects(), policy=POLICY
    )
    with pytest.raises(asyncio.CancelledError):
        await reconcile(resource(), deps, Sink())


class SecretThatGoes:
    """The credentials Secret, until `gone` (a namespace being deleted)."""

    def __init__(self) -> None:
        self.gone = False
        self.reads = 0

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        self.reads += 1
        if self.gone:
            raise ObjectNotFound("Secret", namespace, name)
        return {"accountSid": ACCOUNT.encode(), "authToken": b"t" * 32}

    async def read_config_map(self, namespace: str, name: str) -> dict[str, bytes]:
        raise AssertionError("not read")


class CopyHoldingGateway:
    """Twilio with one copy carrying the resource's marker."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def list_bundle_copies(self, bundle_sid: str) -> list[Bundle]:
        return [] if "delete_bundle" in self.log else [COPY]

    async def delete_bundle(self, sid: str) -> None:
        self.log.append("delete_bundle")

    async def list_item_assignments(self, bundle_sid: str) -> list[Any]:
        return []  # the original's items, read by the clean-up's stray-document check


class RecordingFactory:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.credentials: list[TwilioCredentials] = []

    def for_credentials(
        self, credentials: TwilioCredentials, *, priority: float | None = None
    ) -> Any:
        self.credentials.append(credentials)
        return CopyHoldingGateway(self.log)


COPY = Bundle(sid="BU" + "c" * 32, friendly_name=copy_marker("u-1"), status=BundleStatus.DRAFT)


async def test_cleanup_after_the_secret_went_uses_the_credentials_last_read() -> None:
    objects, factory = SecretThatGoes(), RecordingFactory()
    # No freshness window: each reconcile reads the Secret (its going is seen at once).
    deps = Dependencies(
        gateways=factory,
        objects=objects,
        policy=POLICY,
        credentials=LastGoodCredentials(fresh_seconds=0),
    )
    # A first clean-up attempt reads the Secret, which is then remembered; the copy is back
    # below (log cleared) as if that attempt had been interrupted.
    await reconcile(resource(), deps, Sink(), decide=workflow.decide_cleanup)
    assert factory.log == ["delete_bundle"]
    factory.log.clear()
    objects.gone = True

    refused = await reconcile(resource(), deps, Sink())
    assert refused.error is ErrorKind.CREDENTIALS  # normal work never uses remembered ones
    outcome = await reconcile(
        resource(), deps, Sink(), decide=workflow.decide_cleanup, remembered_credentials=True
    )
    assert outcome.error is None
    assert factory.log == ["delete_bundle"]
    assert factory.credentials[-1].account_sid == ACCOUNT


async def test_cleanup_without_remembered_credentials_still_reports_the_missing_secret() -> None:
    objects = SecretThatGoes()
    objects.gone = True
    deps = Dependencies(gateways=RecordingFactory(), objects=objects, policy=POLICY)
    outcome = await reconcile(
        resource(), deps, Sink(), decide=workflow.decide_cleanup, remembered_credentials=True
    )
    assert outcome.error is ErrorKind.CREDENTIALS


async def test_a_fleet_sharing_a_secret_reads_it_once_per_freshness_window() -> None:
    """1,000 resources in one namespace read their shared Secret on every reconcile otherwise."""
    now = [0.0]
    objects = SecretThatGoes()
    remembered = LastGoodCredentials(fresh_seconds=30.0, clock=lambda: now[0])
    for uid in range(100):
        credentials, fell_back = await remembered.load(objects, f"uid-{uid}", "ns", "twilio")
        assert credentials.account_sid == ACCOUNT
        assert not fell_back
    assert objects.reads == 1
    now[0] = 31.0  # a rotation is seen once the window has passed
    await remembered.load(objects, "uid-0", "ns", "twilio")
    assert objects.reads == 2
    objects.gone = True
    now[0] = 62.0
    with pytest.raises(CredentialsError):  # a missing Secret is never served from the window
        await remembered.load(objects, "uid-1", "ns", "twilio")
    with pytest.raises(CredentialsError):
        await remembered.load(objects, "uid-2", "ns", "twilio")
    assert objects.reads == 4


def test_forgotten_credentials_are_gone() -> None:
    remembered = LastGoodCredentials()
    remembered._by_uid["u-1"] = TwilioCredentials(account_sid=ACCOUNT, auth_token="t" * 32)
    remembered.forget("u-1")
    assert len(remembered) == 0
    assert "t" * 32 not in repr(remembered)


def test_renewals_in_flight_queue_by_their_start_and_submitted_ones_first() -> None:
    """A renewal begun earlier goes first, except that one already submitted (what is left is
    its completion) goes before every renewal not yet submitted, whenever that began; a
    reconcile with no renewal in flight goes after every renewal begun."""
    began = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    now = began + timedelta(minutes=5)
    editing = BundleRenewalStatus(history=[RenewalRecord(started_at=began)])
    later = BundleRenewalStatus(history=[RenewalRecord(started_at=began + timedelta(minutes=1))])
    record = RenewalRecord(
        started_at=began + timedelta(minutes=2), submitted_at=began + timedelta(minutes=3)
    )
    in_review = BundleRenewalStatus(
        history=[record], review=ReviewStatus(submitted_at=record.submitted_at)
    )
    earlier_in_review = BundleRenewalStatus(
        history=[record.model_copy(update={"started_at": began - timedelta(minutes=1)})]
    )
    idle = BundleRenewalStatus()
    completed = BundleRenewalStatus(
        history=[record.model_copy(update={"outcome": RenewalOutcome.COMPLETED})]
    )
    ranked = sorted(
        [idle, completed, later, editing, in_review, earlier_in_review],
        key=lambda status: queue_priority(status, now),
    )
    assert ranked[:4] == [earlier_in_review, in_review, editing, later]
    assert queue_priority(editing, now) == began.timestamp()
    assert queue_priority(idle, now) == queue_priority(completed, now) == now.timestamp()
