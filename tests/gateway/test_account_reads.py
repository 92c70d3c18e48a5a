"""A ComplianceAccount scan through the real SDK gateway on the simulator: what it finds, and
that it costs one filtered list (plus its pages) and one read per regulation, never a read per
bundle. The BundleRenewals and their Secrets come from an in-memory source."""

from __future__ import annotations

import base64
from typing import Any

from controller.adapters.cluster import ObjectNotFound
from controller.adapters.twilio_gateway.port import TwilioCredentials
from controller.engine.accounts.reads import list_watched_renewals, recheck, scan_account
from tests.gateway.conftest import FactoryMaker
from tests.sim_fixtures import Sim
from twilio_sim.regulations import FRANCE_MOBILE_BUSINESS_SID

SOON = "2027-01-15T00:00:00Z"
LATER = "2027-03-01T00:00:00Z"


class Renewals:
    """BundleRenewals by namespace, and their Secrets; counts the reads."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.secrets: dict[tuple[str, str], dict[str, bytes]] = {}
        self.lists: list[str | None] = []
        self.secret_reads = 0

    def add(self, namespace: str, name: str, bundle_sid: str, secret: str) -> None:
        self.items.append(
            {
                "metadata": {"namespace": namespace, "name": name},
                "spec": {"bundleSid": bundle_sid, "credentialsSecretRef": {"name": secret}},
            }
        )

    async def list_renewals(self, namespace: str | None) -> list[dict[str, Any]]:
        self.lists.append(namespace)
        return [i for i in self.items if namespace in (None, i["metadata"]["namespace"])]

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        self.secret_reads += 1
        try:
            return self.secrets[(namespace, name)]
        except KeyError:
            raise ObjectNotFound("Secret", namespace, name) from None


def secret_of(account_sid: str) -> dict[str, bytes]:
    return {"accountSid": account_sid.encode(), "authToken": base64.b64encode(b"t")}


async def test_a_scan_finds_each_deadline_and_its_cover_with_one_list(
    sim: Sim, make_factory: FactoryMaker, account: dict[str, Any]
) -> None:
    sid = account["account_sid"]
    other = sim.admin.create_account()
    bundles = {
        name: sim.admin.seed_approved_bundle(sid, valid_until=when)["bundle_sid"]
        for name, when in (("soon", SOON), ("later", LATER), ("foreign", SOON))
    }
    undated = [sim.admin.seed_approved_bundle(sid)["bundle_sid"] for _ in range(5)]
    sim.admin.seed_approved_bundle(other["account_sid"], valid_until=SOON)  # not this account's

    renewals = Renewals()
    renewals.secrets[("team-a", "twilio")] = secret_of(sid)
    renewals.secrets[("team-b", "twilio")] = secret_of(other["account_sid"])
    renewals.add("team-a", "soon", bundles["soon"], "twilio")
    renewals.add("team-b", "foreign", bundles["foreign"], "twilio")  # another account's Secret
    renewals.add("team-a", "gone", bundles["later"], "no-such-secret")  # unreadable: no cover
    renewals.add("team-a", "undated", undated[0], "twilio")  # no deadline: never read

    factory = make_factory(page_size=2)  # the scan asks for its own, larger pages
    gateway = factory.for_credentials(
        TwilioCredentials(account_sid=sid, auth_token=account["auth_token"])
    )
    before = sim.stats()["total"]
    found = (await scan_account(gateway, renewals, [], sid)).coverage
    requests = sim.stats()["total"] - before

    # Soonest first; on the same date the uncovered first.
    assert [(d.bundle_sid, d.covered_by) for d in found.deadlines] == [
        (bundles["foreign"], None),
        (bundles["soon"], "team-a/soon"),
        (bundles["later"], None),
    ]
    assert found.counts() == (3, 1, 2)
    assert {(d.iso_country, d.number_type) for d in found.deadlines} == {("FR", "mobile")}
    assert {d.regulation_sid for d in found.deadlines} == {FRANCE_MOBILE_BUSINESS_SID}
    # One page (of up to 1,000) and one regulation read. Nothing per bundle.
    assert requests == 2
    assert renewals.lists == [None]
    assert renewals.secret_reads == 3  # one per (namespace, Secret) naming a dated bundle


async def test_watched_namespaces_bound_the_renewals_that_count() -> None:
    renewals = Renewals()
    for namespace in ("team-a", "team-b", "shop-1", "shop-2"):
        renewals.add(namespace, "r", "BU" + "0" * 32, "twilio")

    def names(items: list[dict[str, Any]]) -> list[str]:
        return sorted(i["metadata"]["namespace"] for i in items)

    assert names(await list_watched_renewals(renewals, [])) == [
        "shop-1",
        "shop-2",
        "team-a",
        "team-b",
    ]
    assert names(await list_watched_renewals(renewals, ["team-a", "shop-2"])) == [
        "shop-2",
        "team-a",
    ]
    assert names(await list_watched_renewals(renewals, ["shop-*"])) == ["shop-1", "shop-2"]
    assert renewals.lists == [None, "team-a", "shop-2", None]


async def test_a_recheck_reads_only_the_bundles_named(
    sim: Sim, make_factory: FactoryMaker, account: dict[str, Any]
) -> None:
    sid = account["account_sid"]
    kept = sim.admin.seed_approved_bundle(sid, valid_until=LATER)["bundle_sid"]
    newly = sim.admin.seed_approved_bundle(sid)["bundle_sid"]
    renewals = Renewals()
    gateway = make_factory().for_credentials(
        TwilioCredentials(account_sid=sid, auth_token=account["auth_token"])
    )
    last = await scan_account(gateway, renewals, [], sid)
    assert [b.sid for b in last.dated] == [kept]
    # A regulation change gives `newly` a deadline; Twilio calls back about it.
    sim.admin.change_regulation(FRANCE_MOBILE_BUSINESS_SID, valid_until=SOON)
    before = sim.stats()["total"]
    again = await recheck(gateway, renewals, [], sid, last, {newly})
    assert sim.stats()["total"] - before == 1  # one fetch; its regulation is known already
    assert [d.bundle_sid for d in again.coverage.deadlines] == [newly, kept]
    gone = await recheck(gateway, renewals, [], sid, again, {"BU" + "0" * 32})
    assert [d.bundle_sid for d in gone.coverage.deadlines] == [newly, kept]  # unknown: no change
