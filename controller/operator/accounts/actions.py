"""What a ComplianceAccount writes: dry-run BundleRenewals for uncovered bundles, its status (the
merge patch a BundleRenewal's is written with) and the events on transitions. Reads are
reads.py's, decisions coverage.py's.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from controller.adapters.cluster import ClusterAccessError, ClusterClient, ObjectNotFound
from controller.core.models.account import (
    ACCOUNT_KIND,
    ACCOUNT_PLURAL,
    ComplianceAccountSpec,
    ComplianceAccountStatus,
)
from controller.engine.accounts.coverage import Coverage
from controller.engine.accounts.renewals import TemplateInvalid, renewal_body
from controller.operator.status_sink import status_patch
from controller.telemetry.metrics import OperatorMetrics

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]


async def create_dry_runs(
    cluster: ClusterClient,
    namespace: str,
    name: str,
    spec: ComplianceAccountSpec,
    found: Coverage,
) -> tuple[int, Coverage, tuple[str, str] | None]:
    """A dry-run BundleRenewal for each uncovered bundle, one at a time; (how many were
    created, the coverage counting them, why it stopped if it did). One that exists already
    (a crash after creating it, another replica) is left as it is."""
    created: dict[str, str] = {}
    problem: tuple[str, str] | None = None
    for deadline in found.uncovered:
        try:
            renewal = renewal_body(name, spec, deadline.bundle_sid)
            if await cluster.create_renewal(namespace, renewal):
                created[deadline.bundle_sid] = f"{namespace}/{renewal['metadata']['name']}"
        except TemplateInvalid as exc:
            problem = ("TemplateInvalid", str(exc))
            break
        except ClusterAccessError as exc:
            reason = "TemplateInvalid" if exc.status == 422 else "CreateFailed"
            problem = (reason, f"creating dry-run renewals: {exc}")
            break
    return len(created), found.covering(created), problem


async def write_status(
    cluster: ClusterClient,
    metrics: OperatorMetrics,
    body: kopf.Body,
    previous: ComplianceAccountStatus,
    status: ComplianceAccountStatus,
    logger: AnyLogger,
) -> None:
    """Patch `status` over `previous` (nothing when equal); the metrics follow it."""
    namespace, name, uid = str(body.metadata.namespace), str(body.metadata.name), body.metadata.uid
    metrics.account_scanned(str(uid), namespace, name, status)
    if status == previous:
        return
    try:
        await cluster.patch_status(
            namespace, name, status_patch(status), plural=ACCOUNT_PLURAL, kind=ACCOUNT_KIND
        )
    except ObjectNotFound:
        pass  # deleted: the daemon is about to stop
    except ClusterAccessError as exc:
        logger.warning("cannot write the status: %s", exc)


def post_events(
    body: kopf.Body,
    previous: ComplianceAccountStatus,
    status: ComplianceAccountStatus,
    created: int,
    registered: int,
) -> None:
    """A Warning for bundles found uncovered since the last look; Normal ones once all are,
    and for the renewals created and the callbacks registered."""
    before = {d.bundle_sid for d in previous.deadlines if d.covered_by is None}
    new = [d for d in status.deadlines if d.covered_by is None and d.bundle_sid not in before]
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
    if created:
        kopf.event(
            body,
            type="Normal",
            reason="RenewalsCreated",
            message=f"created {created} dry-run BundleRenewal(s) for uncovered bundles",
        )
    if registered:
        kopf.event(
            body,
            type="Normal",
            reason="CallbacksRegistered",
            message=f"set the operator's StatusCallback on {registered} bundle(s) that had none",
        )
