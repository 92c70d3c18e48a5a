"""The start-up gate (controller/discovery.py): what counts as served, and how it waits."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from controller.discovery import (
    BUNDLE_RENEWALS,
    PeeringObject,
    ServedKind,
    peering_objects,
    wait_until_served,
    why_not_served,
)


def resource(name: str, *verbs: str) -> Any:
    """One entry of a discovery document, as the official client returns it."""
    return SimpleNamespace(name=name, verbs=list(verbs))


ALL_VERBS = ("get", "list", "watch", "patch", "create", "delete")


def test_the_kind_is_served_when_discovery_lists_it_with_kopf_s_verbs() -> None:
    listed = [
        resource("bundlerenewals/status", "get", "patch"),
        resource("bundlerenewals", *ALL_VERBS),
    ]
    assert why_not_served(listed, BUNDLE_RENEWALS) is None


@pytest.mark.parametrize(
    ("listed", "reason"),
    [
        (None, "the API server does not serve twilio-compliance.io/v1alpha1"),
        ([], "not in the API server's discovery"),
        ([resource("bundlerenewals/status", *ALL_VERBS)], "not in the API server's discovery"),
        ([resource("bundlerenewals", "get", "list")], "served without verbs patch, watch"),
    ],
    ids=["group-version-absent", "empty", "only-the-subresource", "verbs-missing"],
)
def test_why_the_kind_is_not_served(listed: list[Any] | None, reason: str) -> None:
    problem = why_not_served(listed, BUNDLE_RENEWALS)
    assert problem is not None
    assert problem == f"bundlerenewals.twilio-compliance.io/v1alpha1: {reason}"


def test_peering_objects_follow_the_operator_s_scope() -> None:
    assert peering_objects("", clusterwide=True, namespaces=()) == []
    cluster = peering_objects("bro", clusterwide=True, namespaces=())
    assert cluster == [PeeringObject("bro", None)]
    assert cluster[0].kind == ServedKind("kopf.dev", "v1", "clusterkopfpeerings")
    assert str(cluster[0]) == "ClusterKopfPeering 'bro' cluster-wide"
    # One per exact namespace; globs are Kopf's to expand.
    namespaced = peering_objects("bro", clusterwide=False, namespaces=("telecom", "team-*"))
    assert namespaced == [PeeringObject("bro", "telecom")]
    assert namespaced[0].kind.plural == "kopfpeerings"
    assert str(namespaced[0]) == "KopfPeering 'bro' in namespace telecom"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_waits_while_something_is_missing_and_says_what(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    answers = [
        ["no answer from the API server (ConnectionRefusedError)"],
        ["no answer from the API server (ConnectionRefusedError)"],
        ["bundlerenewals.twilio-compliance.io/v1alpha1: not in the API server's discovery"],
        [],
    ]

    async def missing() -> list[str]:
        clock.now += 10.0
        return answers.pop(0)

    logger = logging.getLogger("test.discovery")
    with caplog.at_level(logging.INFO, logger="test.discovery"):
        waited = await wait_until_served(missing, logger, interval=0, log_every=30, clock=clock)
    assert answers == []
    assert waited == 40.0
    messages = [r.getMessage() for r in caplog.records]
    # Said at once, not repeated within log_every, said again when the reason changes.
    assert messages == [
        "waiting for the API server before watching (10 s so far):"
        " no answer from the API server (ConnectionRefusedError)",
        "waiting for the API server before watching (30 s so far):"
        " bundlerenewals.twilio-compliance.io/v1alpha1: not in the API server's discovery",
        "the API server serves everything needed, after 40.0 s",
    ]


async def test_nothing_is_logged_when_everything_is_served_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def missing() -> list[str]:
        return []

    with caplog.at_level(logging.DEBUG):
        waited = await wait_until_served(missing, logging.getLogger("test.discovery"), interval=0)
    assert waited < 1.0
    assert caplog.records == []
