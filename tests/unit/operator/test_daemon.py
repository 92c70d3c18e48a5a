"""The daemon around the reconcile loop: a status write the API server does not take is one log
line and a backoff (no traceback, no daemon restart), retried before any Twilio call; a daemon
started on a settled status waits for its next check before calling Twilio."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import kopf
import pytest

from controller.adapters.cluster import ClusterAccessError
from controller.core.models import BundleRenewalStatus, Phase
from controller.core.plan import copy_marker
from controller.core.settings import OperatorSettings
from controller.operator import daemon
from controller.operator.runtime import Runtime
from controller.operator.status_sink import StatusWriteFailed
from controller.telemetry.metrics import RECONCILE_STATUS_WRITE_FAILED
from tests.fakes.fake_twilio import FakeTwilio, Gateways, Objects
from tests.unit.core.test_workflow_scenarios import seed_spec

UID = "5f0e2a61-7c1b-4b8e-9d3a-2f6c8e1a9b70"


class Cluster(Objects):
    """The cluster as the daemon reaches it: Secrets, and status patches that fail while
    `down` (the API server restarting)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        if self.down:
            raise ClusterAccessError(
                f"patching status of {namespace}/{name}", None, "MaxRetryError"
            )
        self.patches.append(status)


@pytest.fixture(autouse=True)
def events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Kopf's event poster needs a running operator; these tests keep the events instead."""
    posted: list[dict[str, Any]] = []
    monkeypatch.setattr(kopf, "event", lambda *_, **event: posted.append(event))
    return posted


class _Running:
    """A daemon that is not being stopped (Kopf's DaemonStopped is false)."""

    def __bool__(self) -> bool:
        return False


RUNNING = cast(kopf.DaemonStopped, _Running())


def runtime(twilio: FakeTwilio, cluster: Cluster) -> Runtime:
    rt = Runtime(settings=OperatorSettings())
    rt.cluster = cluster  # type: ignore[assignment]
    rt.gateways = Gateways(twilio)  # type: ignore[assignment]
    return rt


def body(twilio: FakeTwilio, status: BundleRenewalStatus | None = None) -> kopf.Body:
    spec = {"bundleSid": twilio.original_sid, "credentialsSecretRef": {"name": "creds"}}
    raw: dict[str, Any] = {
        "apiVersion": "twilio-compliance.io/v1alpha1",
        "kind": "BundleRenewal",
        "metadata": {"uid": UID, "namespace": "telecom", "name": "acme", "generation": 1},
        "spec": {**spec, **seed_spec()},
    }
    if status is not None:
        raw["status"] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return kopf.Body(raw)


async def test_a_failed_status_write_is_one_line_a_backoff_and_no_twilio_call_until_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    twilio, cluster = FakeTwilio.seed(), Cluster()
    rt = runtime(twilio, cluster)
    logger = logging.getLogger("test.daemon")
    unwritten = daemon.Unwritten()
    with caplog.at_level(logging.DEBUG, logger="test.daemon"):
        first = await daemon._reconcile_once(rt, body(twilio), RUNNING, logger, unwritten)
        reads = dict(twilio.calls)
        assert reads  # the reconcile read Twilio before its first status write failed
        second = await daemon._write_pending(rt, body(twilio), logger, unwritten)
    assert twilio.calls == reads  # the retry tried the status alone: no Twilio call
    assert first is not None
    assert second is not None
    assert 0 < first < second
    assert unwritten.attempts == 2
    assert unwritten.status is not None
    # The renewal's start is a checkpoint: with no status written, no copy was made.
    assert twilio.writes() == {}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(r.exc_info is None for r in caplog.records)
    assert "no answer from the API server" in warnings[0].getMessage()
    assert "Traceback" not in caplog.text
    assert rt.metrics._reconciles[RECONCILE_STATUS_WRITE_FAILED] == 2

    cluster.down = False  # back: the status is written first, then the renewal carries on
    assert await daemon._write_pending(rt, body(twilio), logger, unwritten) is None
    assert unwritten.status is None
    assert unwritten.attempts == 0
    assert cluster.patches[0]["phase"] == "InProgress"  # the checkpoint before the copy
    await daemon._reconcile_once(rt, body(twilio), RUNNING, logger, unwritten)
    assert len(twilio.live_copies()) == 1


async def test_a_status_written_late_is_trusted_until_its_next_check() -> None:
    """A reconcile that ended (nextCheckTime set) but could not write its status: once written,
    the daemon waits for that check instead of reconciling again."""
    twilio, cluster = FakeTwilio.seed(), Cluster()
    rt = runtime(twilio, cluster)
    settled = BundleRenewalStatus(
        phase=Phase.IN_REVIEW,
        observed_generation=1,
        next_check_time=datetime.now(UTC) + timedelta(minutes=5),
    )
    unwritten = daemon.Unwritten(status=settled, attempts=1)
    cluster.down = False
    delay = await daemon._write_pending(rt, body(twilio), logging.getLogger("t"), unwritten)
    assert delay is not None
    assert 200 < delay <= 300
    assert twilio.calls == {}


async def test_a_refused_status_write_is_not_repeated_as_is() -> None:
    twilio, cluster = FakeTwilio.seed(), Cluster()
    rt = runtime(twilio, cluster)
    unwritten = daemon.Unwritten()
    exc = StatusWriteFailed(ClusterAccessError("patching", 422, "Invalid"), BundleRenewalStatus())
    assert unwritten.failed(exc, rt, logging.getLogger("t")) > 0
    assert unwritten.status is None  # the next attempt reconciles afresh


async def test_a_daemon_started_on_a_settled_status_waits_for_its_next_check() -> None:
    twilio, cluster = FakeTwilio.seed(), Cluster()
    cluster.down = False
    rt = runtime(twilio, cluster)
    settled = BundleRenewalStatus(
        phase=Phase.IN_REVIEW,
        observed_generation=1,
        next_check_time=datetime.now(UTC) + timedelta(hours=1),
    )
    task = asyncio.create_task(
        daemon.run_daemon(rt, body(twilio, settled), RUNNING, logging.getLogger("t"))
    )
    await asyncio.sleep(0.2)
    assert twilio.calls == {}  # nothing read: the status said when to look next
    assert rt.generations[UID] == 1  # a spec change would still wake it
    rt.wakeup(UID).set()  # a status callback, say
    for _ in range(50):
        await asyncio.sleep(0.02)
        if twilio.calls:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert twilio.calls  # woken, it reconciled


async def test_a_clean_up_whose_status_write_fails_is_retried_without_a_traceback() -> None:
    twilio, cluster = FakeTwilio.seed(), Cluster()
    rt = runtime(twilio, cluster)
    await twilio.create_bundle_copy(twilio.original_sid, copy_marker(UID))
    with pytest.raises(kopf.TemporaryError, match="no answer from the API server"):
        await daemon.clean_up(rt, body(twilio), logging.getLogger("t"))
    assert twilio.live_copies() == []  # the copy went; only the status write waits
