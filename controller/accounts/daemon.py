"""A ComplianceAccount's loop (its Kopf daemon): scan, write what was found, sleep until the next
scan, a spec change or a callback about one of the account's bundles.

A scan that fails keeps the last findings in status and says why in the conditions: a problem
only a person can fix (the Secret, refused credentials, a list Twilio forbids) is Stalled and
tried again at the next scan interval, never sooner (no retry storm); anything else is retried
with a growing delay, capped at the interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import kopf
from pydantic import ValidationError

from controller.accounts.coverage import Coverage, failed_status, scanned_status
from controller.accounts.renewals import TemplateInvalid, renewal_body
from controller.accounts.scanner import scan_account
from controller.cluster import ClusterAccessError, ObjectNotFound
from controller.credentials import CredentialsError, load_credentials
from controller.models.account import (
    ACCOUNT_KIND,
    ACCOUNT_PLURAL,
    ComplianceAccountSpec,
    ComplianceAccountStatus,
    RenewalCreation,
)
from controller.runtime import Runtime
from controller.twilio_gateway.port import (
    TwilioAuthenticationError,
    TwilioError,
    TwilioPermanentError,
)

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]
FIRST_RETRY = timedelta(seconds=15)


async def run_account_daemon(
    runtime: Runtime,
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    logger: AnyLogger,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Scan the account until the daemon is stopped (deletion, operator shutdown)."""
    uid = str(body.metadata.uid)
    wakeup = runtime.wakeup(uid)
    status = _status_of(body)
    failures = 0
    try:
        while not stopped:
            generation = body.metadata.get("generation")
            runtime.reconciling_generation(uid, generation if isinstance(generation, int) else 0)
            status, failed = await _scan_once(runtime, body, status, failures, logger, clock())
            failures = failures + 1 if failed else 0
            if stopped:
                break
            delay = (status.next_scan_time or clock()) - clock()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay.total_seconds(), 0.0)):
                    await wakeup.wait()
            wakeup.clear()
    finally:
        runtime.metrics.forget(uid)


def _status_of(body: kopf.Body) -> ComplianceAccountStatus:
    try:
        return ComplianceAccountStatus.model_validate(dict(body.get("status") or {}))
    except ValidationError:
        return ComplianceAccountStatus()


async def _scan_once(
    runtime: Runtime,
    body: kopf.Body,
    previous: ComplianceAccountStatus,
    failures: int,
    logger: AnyLogger,
    now: datetime,
) -> tuple[ComplianceAccountStatus, bool]:
    """One scan and its status write; (the status written, whether the scan failed)."""
    namespace = str(body.metadata.namespace)
    generation = body.metadata.get("generation")
    generation = generation if isinstance(generation, int) else None
    try:
        spec = ComplianceAccountSpec.model_validate(dict(body.spec))
    except ValidationError as exc:
        problem = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        status = failed_status(
            previous,
            "InvalidSpec",
            f"invalid spec: {problem}",
            permanent=True,
            generation=generation,
            now=now,
            next_scan=now + timedelta(days=365),  # a spec change wakes it
        )
        await _write(runtime, body, previous, status, logger)
        return status, True
    interval = spec.interval
    assert runtime.cluster is not None
    assert runtime.gateways is not None
    try:
        credentials = await load_credentials(
            runtime.cluster, namespace, spec.credentials_secret_ref.name
        )
        reader = runtime.gateways.for_credentials(credentials)
        found = await scan_account(
            reader, runtime.cluster, runtime.settings.watch_namespaces, credentials.account_sid
        )
    except (CredentialsError, ClusterAccessError, TwilioError) as exc:
        reason, permanent = _failure(exc)
        retry = interval if permanent else min(FIRST_RETRY * 2**failures, interval)
        status = failed_status(
            previous,
            reason,
            f"scan failed: {exc}",
            permanent=permanent,
            generation=generation,
            now=now,
            next_scan=now + retry,
        )
        logger.warning("scan of the account failed (%s): %s", reason, exc)
        await _write(runtime, body, previous, status, logger)
        return status, True
    created, trouble = 0, cast(tuple[str, str] | None, None)
    if spec.renewals.create is RenewalCreation.DRY_RUN:
        created, found, trouble = await _create_dry_runs(
            runtime, namespace, str(body.metadata.name), spec, found
        )
    status = scanned_status(
        previous, found, generation=generation, now=now, next_scan=now + interval
    )
    status = status.model_copy(
        update={"renewals_created": (previous.renewals_created or 0) + created or None}
    )
    if trouble is not None:
        status = failed_status(
            status,
            *trouble,
            permanent=True,
            generation=generation,
            now=now,
            next_scan=now + interval,
        )
    await _write(runtime, body, previous, status, logger)
    _events(body, previous, status)
    if created:
        kopf.event(
            body,
            type="Normal",
            reason="RenewalsCreated",
            message=f"created {created} dry-run BundleRenewal(s) for uncovered bundles",
        )
    return status, trouble is not None


async def _create_dry_runs(
    runtime: Runtime,
    namespace: str,
    name: str,
    spec: ComplianceAccountSpec,
    found: Coverage,
) -> tuple[int, Coverage, tuple[str, str] | None]:
    """A dry-run BundleRenewal for each uncovered bundle, one at a time; (how many were
    created, the coverage counting them, why it stopped if it did). One that exists already
    (a crash after creating it, another replica) is left as it is."""
    assert runtime.cluster is not None
    created: dict[str, str] = {}
    problem: tuple[str, str] | None = None
    for deadline in found.uncovered:
        try:
            renewal = renewal_body(name, spec, deadline.bundle_sid)
            if await runtime.cluster.create_renewal(namespace, renewal):
                created[deadline.bundle_sid] = f"{namespace}/{renewal['metadata']['name']}"
        except TemplateInvalid as exc:
            problem = ("TemplateInvalid", str(exc))
            break
        except ClusterAccessError as exc:
            reason = "TemplateInvalid" if exc.status == 422 else "CreateFailed"
            problem = (reason, f"creating dry-run renewals: {exc}")
            break
    return len(created), found.covering(created), problem


def _failure(exc: Exception) -> tuple[str, bool]:
    """(reason, whether only a person can fix it)."""
    if isinstance(exc, CredentialsError):
        return "CredentialsInvalid", True
    if isinstance(exc, TwilioAuthenticationError):
        return "AuthenticationFailed", True
    if isinstance(exc, TwilioPermanentError):
        return "TwilioRefused", True
    if isinstance(exc, ClusterAccessError) and exc.status in (401, 403):
        return "ClusterAccessDenied", True
    return "TransientError", False


async def _write(
    runtime: Runtime,
    body: kopf.Body,
    previous: ComplianceAccountStatus,
    status: ComplianceAccountStatus,
    logger: AnyLogger,
) -> None:
    namespace, name, uid = str(body.metadata.namespace), str(body.metadata.name), body.metadata.uid
    runtime.metrics.account_scanned(str(uid), namespace, name, status)
    if status == previous:
        return
    assert runtime.cluster is not None
    try:
        await runtime.cluster.patch_status(
            namespace,
            name,
            _merge_patch(status),
            plural=ACCOUNT_PLURAL,
            kind=ACCOUNT_KIND,
        )
    except ObjectNotFound:
        pass  # deleted: the daemon is about to stop
    except ClusterAccessError as exc:
        logger.warning("cannot write the status: %s", exc)


def _merge_patch(status: ComplianceAccountStatus) -> dict[str, Any]:
    """The status as a merge patch: unset top-level fields as null (cleared), nested objects
    without their unset fields (a list is replaced whole, and its items may hold no null)."""
    patch: dict[str, Any] = {
        (info.alias or name): None for name, info in type(status).model_fields.items()
    }
    patch.update(status.to_wire())
    return patch


def _events(
    body: kopf.Body, previous: ComplianceAccountStatus, status: ComplianceAccountStatus
) -> None:
    """A Warning for bundles found uncovered since the last scan; Normal once all are."""
    before = {d.bundle_sid for d in previous.deadlines if d.covered_by is None}
    now_open = [d for d in status.deadlines if d.covered_by is None]
    new = [d for d in now_open if d.bundle_sid not in before]
    if new:
        listed = ", ".join(f"{d.bundle_sid} ({d.valid_until:%Y-%m-%d})" for d in new[:5])
        more = f" and {len(new) - 5} more" if len(new) > 5 else ""
        kopf.event(
            body,
            type="Warning",
            reason="DeadlineUncovered",
            message=f"no BundleRenewal covers {listed}{more}",
        )
    elif (previous.uncovered or 0) > 0 and status.uncovered == 0:
        kopf.event(body, type="Normal", reason="AllCovered", message="every deadline is covered")
