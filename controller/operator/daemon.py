"""What the Kopf handlers run: a resource's reconcile loop (its daemon) and its clean-up.

- One daemon per BundleRenewal runs `reconcile`, then sleeps for the decision's `requeue_after`
  (review polling, light checks, error backoff) or until woken (a spec change, a verified status
  callback). A single long-lived task per resource means reconciles of one resource never
  overlap; clean-up takes the same lock.
- A spec the models refuse gets the workflow's `decide_invalid_spec` status and waits for the
  next spec change.
- A daemon (re)started with a settled status (workflow `settled_for`: its nextCheckTime is
  ahead, for this generation) sleeps until then before its first reconcile: an operator restart
  costs no Twilio request for resources that were not due.
- A status write the API server does not take (it restarts, it refuses) ends the reconcile
  with one log line and a backoff inside the daemon, not a traceback and a Kopf restart; the
  next attempt writes that status before any Twilio call (`Unwritten`), so an outage costs no
  Twilio request per retry.
- The clean-up runs the workflow's clean-up decisions; transient trouble retries with backoff
  (kopf.TemporaryError); a permanent problem (credentials gone with the namespace) lets the
  resource go with a Warning event naming what may be left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import kopf

from controller.adapters.cluster import ObjectNotFound
from controller.core import workflow
from controller.core.models import BundleRenewalStatus
from controller.core.parsing import read_object
from controller.core.plan import ErrorKind
from controller.engine.reconcile import Outcome, policy_from_settings, reconcile
from controller.operator.runtime import Runtime
from controller.operator.status_sink import KopfSink, StatusWriteFailed
from controller.telemetry.metrics import (
    RECONCILE_EXCEPTION,
    RECONCILE_INVALID_SPEC,
    RECONCILE_OK,
    RECONCILE_STATUS_WRITE_FAILED,
)

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]

_SKIP_EVENT = {"k8s_skip": True}  # keep a log line out of Kubernetes events


async def run_daemon(
    runtime: Runtime, body: kopf.Body, stopped: kopf.DaemonStopped, logger: AnyLogger
) -> None:
    """Reconcile the resource until its daemon is stopped (deletion, operator shutdown)."""
    uid = str(body.metadata.uid)
    wakeup = runtime.wakeup(uid)
    unwritten = Unwritten()
    woken = False  # by a callback or a spec change, not by the clock
    try:
        if (settled := _settled_for(runtime, body)) is not None:
            await _sleep(wakeup, settled)
        while not stopped:
            async with runtime.lock(uid):
                delay = await _write_pending(runtime, body, logger, unwritten)
                if unwritten.status is None and (delay is None or woken):
                    delay = await _reconcile_once(runtime, body, stopped, logger, unwritten)
            if stopped:
                break
            woken = await _sleep(wakeup, delay)
    finally:
        runtime.untrack(uid)


@dataclass
class Unwritten:
    """A status the API server did not take (it was down, or refused), and how many attempts in
    a row failed: the next attempt writes it before any Twilio call, so an outage costs status
    writes only, not a re-observation of Twilio per retry."""

    status: BundleRenewalStatus | None = None
    attempts: int = 0

    def failed(self, exc: StatusWriteFailed, runtime: Runtime, logger: AnyLogger) -> float:
        # A refusal (RBAC, a schema the status breaks) is not written again as is: the next
        # attempt reconciles afresh.
        self.status = exc.status if exc.transient else None
        self.attempts += 1
        runtime.metrics.record_reconcile(RECONCILE_STATUS_WRITE_FAILED)
        delay = workflow.backoff_delay(self.attempts, policy_from_settings(runtime.settings))
        logger.warning("%s; next attempt in %.1fs", exc, delay, extra=_SKIP_EVENT)
        return delay

    def written(self) -> None:
        self.status, self.attempts = None, 0


async def _write_pending(
    runtime: Runtime, body: kopf.Body, logger: AnyLogger, unwritten: Unwritten
) -> float | None:
    """Write the status a failed attempt left (None: there was none, or it is written and the
    resource needs a reconcile now; else how long to wait: the backoff after another failure,
    or the next check of the status now written, as after a restart, unless the daemon was
    woken meanwhile)."""
    pending = unwritten.status
    if pending is None:
        return None
    obj = read_object(body, pending)
    try:
        await KopfSink(runtime, body, obj).write_status(pending)
    except StatusWriteFailed as exc:
        return unwritten.failed(exc, runtime, logger)
    unwritten.written()
    logger.info("status written; the API server answers again", extra=_SKIP_EVENT)
    if obj.resource is None:
        return None
    return workflow.settled_for(obj.resource, runtime.dependencies().clock())


def _settled_for(runtime: Runtime, body: kopf.Body) -> float | None:
    """How long a daemon just started may trust the stored status (None: reconcile now). The
    resource is tracked meanwhile (metrics, callback routing, spec-change wake-ups)."""
    obj = read_object(body, runtime.last_written(str(body.metadata.uid)))
    if obj.resource is None:
        return None
    runtime.reconciling_generation(obj.uid, obj.generation)
    runtime.track(obj.owner, obj.bundle_sid, obj.status)
    return workflow.settled_for(obj.resource, runtime.dependencies().clock())


async def clean_up(runtime: Runtime, body: kopf.Body, logger: AnyLogger) -> None:
    """The finalizer's work; raises kopf.TemporaryError to be retried later."""
    uid = str(body.metadata.uid)
    async with runtime.lock(uid):
        try:
            outcome = await _clean_up_once(runtime, body, logger)
        except StatusWriteFailed as exc:  # the API server is away: retried, no traceback
            raise kopf.TemporaryError(str(exc), delay=10.0) from exc
    if outcome is None or outcome.error is None:
        runtime.forget(uid)
        return
    message = outcome.decision.status.message or "clean-up failed"
    if outcome.error is ErrorKind.TRANSIENT:
        raise kopf.TemporaryError(message, delay=outcome.requeue_after or 10.0)
    copy_sid = outcome.decision.status.copy_sid
    kopf.event(
        body,
        type="Warning",
        reason="CleanupAbandoned",
        message=f"{message}; releasing the resource"
        + (f"; copy {copy_sid} may be left at Twilio" if copy_sid else ""),
    )
    runtime.forget(uid)


async def _sleep(wakeup: asyncio.Event, delay: float | None) -> bool:
    """Until `delay` passes or the resource is woken (True). Kopf cancels a daemon it stops
    (deletion, shutdown, peering pause) at once, so a sleep needs no watcher of its own: one
    future per sleeping resource, no task (memory at 10,000 resources)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await wakeup.wait()
    woken = wakeup.is_set()
    wakeup.clear()
    return woken


async def _reconcile_once(
    runtime: Runtime,
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    logger: AnyLogger,
    unwritten: Unwritten,
) -> float | None:
    """One reconcile, counted in the metrics by outcome; returns how long to sleep before the
    next (None: until the spec changes)."""
    try:
        outcome, delay = await _reconcile_and_wait(runtime, body, stopped, logger)
    except StatusWriteFailed as exc:
        # Checkpoints are written before the Twilio writes they guard, so nothing is lost: the
        # status is written first next time, and the reconcile after it re-observes Twilio.
        return unwritten.failed(exc, runtime, logger)
    except Exception:
        runtime.metrics.record_reconcile(RECONCILE_EXCEPTION)
        raise
    if outcome is not None:
        runtime.metrics.record_reconcile(outcome)
    return delay


async def _reconcile_and_wait(
    runtime: Runtime, body: kopf.Body, stopped: kopf.DaemonStopped, logger: AnyLogger
) -> tuple[str | None, float | None]:
    """One reconcile: its outcome for the metrics (None: the resource is gone) and the delay."""
    obj = read_object(body, runtime.last_written(str(body.metadata.uid)))
    runtime.reconciling_generation(obj.uid, obj.generation)
    runtime.track(obj.owner, obj.bundle_sid, obj.status)
    sink = KopfSink(runtime, body, obj)
    deps = runtime.dependencies()
    if obj.resource is None:
        message = obj.problem or "invalid spec"
        decision = workflow.decide_invalid_spec(obj.status, obj.generation, message, deps.clock())
        if decision.status != obj.status:
            await sink.write_status(decision.status)
        if decision.event is not None:
            sink.post_event(decision.event)
        logger.warning("%s", message, extra=_SKIP_EVENT)
        return RECONCILE_INVALID_SPEC, None
    try:
        outcome = await reconcile(
            obj.resource, deps, sink, should_stop=lambda: bool(stopped), logger=logger
        )
    except ObjectNotFound:
        return None, None  # the resource is gone; the daemon is about to be stopped
    return (outcome.error.value if outcome.error else RECONCILE_OK), outcome.requeue_after


async def _clean_up_once(runtime: Runtime, body: kopf.Body, logger: AnyLogger) -> Outcome | None:
    obj = read_object(body, runtime.last_written(str(body.metadata.uid)))
    resource = obj.for_cleanup()
    if resource is None:
        return None  # not even the bundle and the Secret are usable: nothing to clean up with
    try:
        return await reconcile(
            resource,
            runtime.dependencies(),
            KopfSink(runtime, body, obj),
            decide=workflow.decide_cleanup,
            logger=logger,
            remembered_credentials=True,
            resolve_values=False,
        )
    except ObjectNotFound:
        return None
