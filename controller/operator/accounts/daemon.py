"""A ComplianceAccount's loop (its Kopf daemon): look at the account, write what was found,
sleep until the next scan, a spec change or a status callback about one of its bundles.

Each pass is a whole scan, or, when callbacks named bundles since the last pass and the spec is
unchanged, a re-check of just those bundles (reads.py). After a whole scan with
`statusCallbacks: Register`, the account's approved bundles without a StatusCallback get the
operator's (callbacks.py), and the bundles calling the operator are routed to this resource;
with `renewals.create: DryRun`, uncovered bundles get a dry-run BundleRenewal (actions.py).

A pass that fails keeps the last findings in status and says why in the conditions: a problem
only a person can fix (the Secret, refused credentials, a list Twilio forbids, a template, a
missing WEBHOOK_PUBLIC_URL) is Stalled and tried again at the next scan interval, never sooner
(no retry storm); anything else is retried with a growing delay, capped at the interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
from pydantic import ValidationError

from controller.adapters.cluster import ClusterAccessError
from controller.adapters.twilio_gateway.port import (
    TwilioAuthenticationError,
    TwilioError,
    TwilioPermanentError,
)
from controller.core.bundle_owners import BundleOwner
from controller.core.models.account import (
    ComplianceAccountSpec,
    ComplianceAccountStatus,
    RenewalCreation,
    StatusCallbacks,
)
from controller.engine.accounts.callbacks import AccountGateway, approved_originals, register
from controller.engine.accounts.coverage import failed_status, scanned_status
from controller.engine.accounts.reads import Findings, recheck, scan_account
from controller.engine.credentials import CredentialsError, load_credentials
from controller.operator.accounts.actions import create_dry_runs, post_events, write_status
from controller.operator.runtime import Runtime

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]
FIRST_RETRY = timedelta(seconds=15)
#: A spec the models refuse waits for the next spec change (which wakes the daemon).
UNTIL_SPEC_CHANGE = timedelta(days=365)


@dataclass
class _State:
    """What the loop keeps between passes (a restart starts with a whole scan)."""

    status: ComplianceAccountStatus
    failures: int = 0
    findings: Findings | None = None
    generation: int | None = None
    """The generation the findings were read for."""


class _Stop(Exception):
    def __init__(self, reason: str, message: str, permanent: bool):
        super().__init__(message)
        self.reason, self.message, self.permanent = reason, message, permanent


async def run_account_daemon(
    runtime: Runtime,
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    logger: AnyLogger,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Look at the account until the daemon is stopped (deletion, operator shutdown)."""
    uid = str(body.metadata.uid)
    runtime.accounts.add(uid)
    wakeup = runtime.wakeup(uid)
    state = _State(_status_of(body))
    try:
        while not stopped:
            generation = body.metadata.get("generation")
            runtime.reconciling_generation(uid, generation if isinstance(generation, int) else 0)
            await _pass(runtime, body, state, logger, clock())
            if stopped:
                break
            delay = (state.status.next_scan_time or clock()) - clock()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay.total_seconds(), 0.0)):
                    await wakeup.wait()
            wakeup.clear()
    finally:  # (deleted, paused or shutting down: a new daemon starts from the status)
        runtime.metrics.forget(uid)
        runtime.owners.forget(uid)
        runtime.accounts.discard(uid)
        runtime.rechecks.pop(uid, None)
        runtime.wakeups.pop(uid, None)
        runtime.generations.pop(uid, None)


def _status_of(body: kopf.Body) -> ComplianceAccountStatus:
    try:
        return ComplianceAccountStatus.model_validate(dict(body.get("status") or {}))
    except ValidationError:
        return ComplianceAccountStatus()


async def _pass(
    runtime: Runtime, body: kopf.Body, state: _State, logger: AnyLogger, now: datetime
) -> None:
    """One look at the account and its status write."""
    assert runtime.cluster is not None
    previous = state.status
    generation = body.metadata.get("generation")
    generation = generation if isinstance(generation, int) else None
    uid = str(body.metadata.uid)
    rechecks = runtime.rechecks.pop(uid, set())
    spec: ComplianceAccountSpec | None = None
    try:
        spec = _spec(body)
        status, created, registered = await _look(
            runtime, body, spec, state, rechecks, generation, logger, now
        )
        state.failures = 0
    except _Stop as stop:
        if spec is None:
            retry = UNTIL_SPEC_CHANGE
        elif stop.permanent:
            retry = spec.interval
        else:
            retry = min(FIRST_RETRY * 2**state.failures, spec.interval)
        state.failures += 1
        status = failed_status(
            previous,
            stop.reason,
            stop.message,
            permanent=stop.permanent,
            generation=generation,
            now=now,
            next_scan=now + retry,
        )
        created = registered = 0
        logger.warning("look at the account failed (%s): %s", stop.reason, stop.message)
    state.status = status
    await write_status(runtime.cluster, runtime.metrics, body, previous, status, logger)
    post_events(body, previous, status, created, registered)


def _spec(body: kopf.Body) -> ComplianceAccountSpec:
    try:
        return ComplianceAccountSpec.model_validate(dict(body.spec))
    except ValidationError as exc:
        problem = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise _Stop("InvalidSpec", f"invalid spec: {problem}", permanent=True) from None


async def _look(
    runtime: Runtime,
    body: kopf.Body,
    spec: ComplianceAccountSpec,
    state: _State,
    rechecks: set[str],
    generation: int | None,
    logger: AnyLogger,
    now: datetime,
) -> tuple[ComplianceAccountStatus, int, int]:
    """(the status after this pass, renewals created, callbacks registered)."""
    assert runtime.cluster is not None
    assert runtime.gateways is not None
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    previous = state.status
    due = previous.next_scan_time is None or now >= previous.next_scan_time
    whole = due or state.findings is None or generation != state.generation or not rechecks
    try:
        credentials = await load_credentials(
            runtime.cluster, namespace, spec.credentials_secret_ref.name
        )
        gateway = runtime.gateways.for_credentials(credentials)
        namespaces, account = runtime.settings.watch_namespaces, credentials.account_sid
        if whole or state.findings is None:
            findings = await scan_account(gateway, runtime.cluster, namespaces, account)
        else:
            findings = await recheck(
                gateway, runtime.cluster, namespaces, account, state.findings, rechecks
            )
        calling_us, registered = None, 0
        if whole and spec.status_callbacks is StatusCallbacks.REGISTER:
            calling_us, registered = await _register(runtime, gateway, account, logger)
    except (CredentialsError, ClusterAccessError, TwilioError) as exc:
        raise _Stop(*_failure(exc)) from None
    state.findings, state.generation = findings, generation
    owner = BundleOwner(str(body.metadata.uid), namespace, name, spec.credentials_secret_ref.name)
    if calling_us is not None:
        runtime.owners.track(owner, calling_us)  # callbacks about them now reach this resource
    elif spec.status_callbacks is StatusCallbacks.KEEP:
        runtime.owners.forget(owner.uid)

    found, created, trouble = findings.coverage, 0, None
    if spec.renewals.create is RenewalCreation.DRY_RUN:
        created, found, trouble = await create_dry_runs(
            runtime.cluster, namespace, name, spec, found
        )
    next_scan = now + spec.interval if whole else previous.next_scan_time or now + spec.interval
    status = scanned_status(previous, found, generation=generation, now=now, next_scan=next_scan)
    status = status.model_copy(
        update={
            "last_scan_time": now if whole else previous.last_scan_time,
            "renewals_created": (previous.renewals_created or 0) + created or None,
            "callbacks_registered": len(calling_us)
            if calling_us is not None
            else (previous.callbacks_registered if not whole else None),
        }
    )
    if trouble is None and calling_us is None and _register_impossible(runtime, spec):
        trouble = (
            "WebhookDisabled",
            "statusCallbacks: Register needs the operator's callback receiver"
            " (WEBHOOK_PUBLIC_URL); nothing was registered",
        )
    if trouble is not None:
        status = failed_status(
            status,
            *trouble,
            permanent=True,
            generation=generation,
            now=now,
            next_scan=status.next_scan_time or next_scan,
        )
    return status, created, registered


def _register_impossible(runtime: Runtime, spec: ComplianceAccountSpec) -> bool:
    return (
        spec.status_callbacks is StatusCallbacks.REGISTER
        and runtime.settings.status_callback_url() is None
    )


async def _register(
    runtime: Runtime, gateway: AccountGateway, account: str, logger: AnyLogger
) -> tuple[list[str] | None, int]:
    """(the approved bundles calling the operator, how many were registered now); (None, 0)
    without a callback receiver."""
    url = runtime.settings.status_callback_url()
    if url is None:
        return None, 0
    lock = runtime.account_locks.setdefault(account, asyncio.Lock())
    done = await register(gateway, await approved_originals(gateway), url, lock, logger)
    return done.calling_us, done.registered


def _failure(exc: Exception) -> tuple[str, str, bool]:
    """(reason, message, whether only a person can fix it)."""
    message = f"scan failed: {exc}"
    if isinstance(exc, CredentialsError):
        return "CredentialsInvalid", message, True
    if isinstance(exc, TwilioAuthenticationError):
        return "AuthenticationFailed", message, True
    if isinstance(exc, TwilioPermanentError):
        return "TwilioRefused", message, True
    if isinstance(exc, ClusterAccessError) and exc.status in (401, 403):
        return "ClusterAccessDenied", message, True
    return "TransientError", message, False
