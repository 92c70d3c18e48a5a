"""Sharding a fleet one replica cannot hold: two operator Deployments, each owning a set of
namespaces (WATCH_NAMESPACES) and peering in a group of its own (PEERING_NAME), so neither pauses
the other. Each renews exactly the resources of its namespaces, once; neither touches the
other's (docs/operations/sharding.md)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.integration.operator_fixtures import KubeCluster, OperatorFactory, Renewals
from tests.integration.scenario import bundle_state, copies_created, renewal_spec
from tests.sim_fixtures import Sim

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("peering_crds")]

RESUMED = "Resuming operations after the pause"


@pytest.fixture
def second_namespace(kube_api: client.ApiClient, namespace: str) -> Iterator[str]:
    core = client.CoreV1Api(kube_api)
    name = f"{namespace[:50]}-b"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def test_two_shards_each_renew_their_own_namespaces_once(
    sim: Sim,
    kube: KubeCluster,
    renewals: Renewals,
    second_namespace: str,
    operator_factory: OperatorFactory,
    tmp_path: Path,
) -> None:
    with kube.api_client() as api:
        other = Renewals(kube, api, second_namespace)
        accounts, originals = [], []
        for _ in range(4):
            accounts.append(sim.new_account())
            originals.append(sim.seed_approved_bundle(accounts[-1].sid, phone_numbers=1))
        change = sim.change_regulation()
        assert {o["bundle_sid"] for o in originals} <= set(change["affected_bundle_sids"])
        placed = {}
        for i, (account, original) in enumerate(zip(accounts, originals, strict=True)):
            shard, where = ("a", renewals) if i < 2 else ("b", other)
            name = f"renewal-{shard}{i}"
            where.create_credentials(account, name=f"twilio-{i}")
            where.create(name, renewal_spec(original["bundle_sid"], secret_name=f"twilio-{i}"))
            placed[name] = (where, account.sid, original["bundle_sid"])

        shards = {}
        for shard, watched in (("a", renewals.namespace), ("b", second_namespace)):
            operator = operator_factory(
                log_path=tmp_path / f"shard-{shard}.log",
                WATCH_NAMESPACES=watched,
                PEERING_NAME=f"bundle-renewal-shard-{shard}",
                POD_NAME=f"shard-{shard}-0",
            )
            operator.start()
            shards[shard] = (operator, watched)

        for name, (where, account_sid, bundle_sid) in placed.items():
            where.wait_for_phase(name, "Completed", timeout=90)
            assert bundle_state(sim, bundle_sid)["valid_until"] is None
            assert copies_created(sim, account_sid) == 1
        time.sleep(1.0)  # anything late would show in the logs now

        for shard, (operator, watched) in shards.items():
            output = operator.output()
            assert RESUMED in output  # its own peering group: never paused by the other
            namespaces = set(re.findall(r"\[([a-z0-9-]+)/renewal-[ab]\d\]", output))
            assert namespaces == {watched}, (shard, namespaces)
