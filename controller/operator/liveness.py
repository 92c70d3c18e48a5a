"""Liveness that means "serving": the probe fails while Kopf does not watch BundleRenewals.

Why: Kopf's own liveness endpoint answers 200 as long as the process runs. A Kopf whose one
discovery scan missed the kind (an API server coming back, see discovery.py) answers 200 forever
while serving nothing, so Kubernetes never restarts it. The probe below reads what Kopf actually
watches (its `Insights`, which `kopf.run` accepts from the caller) and fails, naming the reason,
when BundleRenewals are not among them, or when the peering kind is unknown to Kopf (with
peering mandatory, Kopf then stays paused for good). A paused standby replica still watches the
kind as far as Insights go, so it stays alive.
"""

from __future__ import annotations

import asyncio
import contextlib

# Kopf keeps the class in a private module, but `kopf.run(insights=...)` takes an instance; the
# integration tests (tests/integration/test_operator_api_outage.py) pin the behaviour relied on.
from kopf._cogs.structs.references import Insights

from controller.operator.discovery import BUNDLE_RENEWALS, PEERING_GROUP

__all__ = ["Insights", "probe_problems", "watch_problems"]

# Kopf's first scan starts with the probe endpoint and takes well under a second; a probe that
# comes first waits for it (less than the kubelet's 5 s time-out) instead of failing.
FIRST_SCAN_WAIT_SECONDS = 3.0


async def probe_problems(
    insights: Insights, peering_plural: str | None, first_scan_wait: float = FIRST_SCAN_WAIT_SECONDS
) -> list[str]:
    """`watch_problems`, once Kopf's first scan is over or `first_scan_wait` seconds passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(first_scan_wait):
            await insights.ready_resources.wait()
    return watch_problems(insights, peering_plural)


def watch_problems(insights: Insights, peering_plural: str | None) -> list[str]:
    """Why the operator is not serving BundleRenewals (an empty list: it is).

    `peering_plural`: the peering kind Kopf must know (clusterkopfpeerings or kopfpeerings), or
    None when the operator runs standalone.
    """
    if not insights.ready_resources.is_set():
        return ["Kopf has not finished its first scan of the API server's discovery"]
    problems = []
    if not any(
        resource.group == BUNDLE_RENEWALS.group and resource.plural == BUNDLE_RENEWALS.plural
        for resource in insights.watched_resources
    ):
        problems.append(
            f"Kopf does not watch {BUNDLE_RENEWALS}: its discovery scan did not find it"
            " (a restart scans again)"
        )
    if peering_plural is not None and not any(
        resource.group == PEERING_GROUP and resource.plural == peering_plural
        for resource in insights.backbone.values()
    ):
        problems.append(
            f"Kopf does not know {peering_plural}.{PEERING_GROUP}: with mandatory peering it"
            " stays paused (a restart scans again)"
        )
    return problems
