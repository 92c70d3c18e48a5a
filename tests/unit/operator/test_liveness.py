"""The liveness probe's judgement (controller/operator/liveness.py) on Kopf's own Insights
objects."""

from __future__ import annotations

import asyncio

import kopf
import pytest

from controller.operator.liveness import Insights, probe_problems, watch_problems

RENEWALS = kopf.Resource("twilio-compliance.io", "v1alpha1", "bundlerenewals", namespaced=True)
OTHER = kopf.Resource("example.com", "v1", "bundlerenewals", namespaced=True)
CLUSTER_PEERINGS = kopf.Resource("kopf.dev", "v1", "clusterkopfpeerings", namespaced=False)


def scanned(*watched: kopf.Resource) -> Insights:
    insights = Insights()
    insights.watched_resources.update(watched)
    insights.ready_resources.set()
    return insights


def test_alive_when_kopf_watches_bundlerenewals() -> None:
    assert watch_problems(scanned(RENEWALS), None) == []


def test_not_alive_before_kopf_s_first_scan() -> None:
    insights = Insights()
    insights.watched_resources.add(RENEWALS)
    assert watch_problems(insights, None) == [
        "Kopf has not finished its first scan of the API server's discovery"
    ]


@pytest.mark.parametrize("watched", [(), (OTHER,)], ids=["nothing", "same-plural-other-group"])
def test_not_alive_when_the_scan_missed_the_kind(watched: tuple[kopf.Resource, ...]) -> None:
    problems = watch_problems(scanned(*watched), None)
    assert len(problems) == 1
    assert problems[0].startswith(
        "Kopf does not watch bundlerenewals.twilio-compliance.io/v1alpha1"
    )


async def test_with_peering_kopf_must_know_the_peering_kind() -> None:
    insights = scanned(RENEWALS)
    problems = watch_problems(insights, "clusterkopfpeerings")
    assert problems == [
        "Kopf does not know clusterkopfpeerings.kopf.dev: with mandatory peering it stays"
        " paused (a restart scans again)"
    ]
    await insights.backbone.fill(resources=[CLUSTER_PEERINGS])
    assert watch_problems(insights, "clusterkopfpeerings") == []
    assert watch_problems(insights, "kopfpeerings") != []


async def test_a_probe_during_kopf_s_first_scan_waits_for_it() -> None:
    insights = Insights()

    async def scan() -> None:
        await asyncio.sleep(0.05)
        insights.watched_resources.add(RENEWALS)
        insights.ready_resources.set()

    scanning = asyncio.create_task(scan())
    assert await probe_problems(insights, None, first_scan_wait=5.0) == []
    await scanning


async def test_a_probe_does_not_wait_for_a_scan_that_does_not_end() -> None:
    started = asyncio.get_running_loop().time()
    problems = await probe_problems(Insights(), None, first_scan_wait=0.1)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert problems == ["Kopf has not finished its first scan of the API server's discovery"]
