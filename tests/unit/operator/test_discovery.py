"""The start-up gate (controller/operator/discovery.py): what counts as served, how it waits,
and the peering object it creates."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from controller.operator.discovery import (
    BUNDLE_RENEWALS,
    PeeringObject,
    ServedKind,
    ensure_exists,
    needed_kinds,
    peering_objects,
    served_resources,
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


def test_with_peering_the_peering_kind_is_needed_too() -> None:
    assert needed_kinds(None) == [BUNDLE_RENEWALS]
    assert needed_kinds("kopfpeerings") == [
        BUNDLE_RENEWALS,
        ServedKind("kopf.dev", "v1", "kopfpeerings"),
    ]


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


class FakeCustomObjects:
    """The two CustomObjectsApi calls the gate makes, answering as told."""

    def __init__(self, *, discovery: Any = None, create_status: int | None = None) -> None:
        self.discovery = discovery
        self.create_status = create_status
        self.created: list[tuple[Any, ...]] = []

    def get_api_resources(self, group: str, version: str, **_: Any) -> Any:
        if isinstance(self.discovery, int):
            raise ApiException(status=self.discovery)
        return SimpleNamespace(resources=self.discovery)

    def create_cluster_custom_object(self, *args: Any, **_: Any) -> None:
        self.created.append(args)
        if self.create_status is not None:
            raise ApiException(status=self.create_status)

    def create_namespaced_custom_object(self, *args: Any, **_: Any) -> None:
        self.create_cluster_custom_object(*args)


def test_a_group_version_the_server_does_not_know_is_not_served() -> None:
    custom: Any = FakeCustomObjects(discovery=404)
    assert served_resources(custom, BUNDLE_RENEWALS) is None
    with pytest.raises(ApiException):
        served_resources(FakeCustomObjects(discovery=503), BUNDLE_RENEWALS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "problem"),
    [
        (None, None),  # created
        (409, None),  # another replica created it first
        (
            403,
            "ClusterKopfPeering 'bro' cluster-wide does not exist and creating it failed: HTTP 403",
        ),
    ],
)
def test_the_peering_object_is_created_when_missing(
    status: int | None, problem: str | None
) -> None:
    custom: Any = FakeCustomObjects(create_status=status)
    assert ensure_exists(custom, PeeringObject("bro", None)) == problem
    group, version, plural, body = custom.created[0]
    assert (group, version, plural) == ("kopf.dev", "v1", "clusterkopfpeerings")
    assert body == {
        "apiVersion": "kopf.dev/v1",
        "kind": "ClusterKopfPeering",
        "metadata": {"name": "bro"},
    }


def test_a_namespaced_peering_object_is_a_kopfpeering_in_its_namespace() -> None:
    custom: Any = FakeCustomObjects()
    assert ensure_exists(custom, PeeringObject("bro", "telecom")) is None
    _, _, namespace, plural, body = custom.created[0]
    assert (namespace, plural, body["kind"]) == ("telecom", "kopfpeerings", "KopfPeering")
