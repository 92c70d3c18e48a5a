"""The gateway's account-wide reads (TwilioAccountReader) against the simulator: the Bundles list
with Twilio's filters, sort and paging, regulations with constraints, the type catalogues, and the
v2010 phone-number list with which a bundle's numbers are counted."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.adapters.twilio_gateway.port import BundleQuery, TwilioCredentials
from controller.core.twilio_models import BundleStatus
from tests.gateway.conftest import FactoryMaker
from tests.sim_fixtures import PrismProxy, Sim
from twilio_sim.regulations import FRANCE_MOBILE_BUSINESS_SID


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _route_count(sim: Sim, suffix: str) -> int:
    return sum(
        row["count"] for row in sim.admin.stats()["requests"] if row["route"].endswith(suffix)
    )


async def test_list_bundles_pages_filters_and_sorts_soonest_first(
    sim: Sim,
    account: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    dates = [now + timedelta(days=d) for d in (40, 5, 20, 90, 12)]
    for when in dates:
        sim.seed_approved_bundle(account["account_sid"], valid_until=_iso(when))
    for _ in range(3):  # no deadline: never listed with HasValidUntilDate=true
        sim.seed_approved_bundle(account["account_sid"])
    gateway = make_factory(page_size=2).for_credentials(token_credentials)

    progress: list[int] = []
    query = BundleQuery(has_valid_until_date=True, sort_by="valid-until", sort_direction="ASC")
    listed = await gateway.list_bundles(query, progress.append)

    assert [b.valid_until for b in listed] == sorted(dates)
    assert progress == [2, 4, 5]  # one report per page of two
    assert _route_count(sim, "/RegulatoryCompliance/Bundles") == 3

    window = BundleQuery(
        has_valid_until_date=True,
        valid_until_date_after=now + timedelta(days=12),
        valid_until_date_before=now + timedelta(days=40),
        sort_by="valid-until",
        sort_direction="DESC",
    )
    inside = await gateway.list_bundles(window)
    # Both bounds are inclusive (ValidUntilDate> and ValidUntilDate< are >= and <=).
    assert [b.valid_until for b in inside] == [dates[0], dates[2], dates[4]]
    assert all(b.status == BundleStatus.TWILIO_APPROVED for b in inside)


async def test_fetch_regulation_with_and_without_constraints(
    sim: Sim, token_credentials: TwilioCredentials, make_factory: FactoryMaker
) -> None:
    gateway = make_factory().for_credentials(token_credentials)
    plain = await gateway.fetch_regulation(FRANCE_MOBILE_BUSINESS_SID, include_constraints=False)
    full = await gateway.fetch_regulation(FRANCE_MOBILE_BUSINESS_SID)

    assert plain.end_user_type == "business"
    fields = plain.requirements.end_user[0].detailed_fields
    assert fields
    assert all(f.constraint is None for f in fields)
    constrained = {
        f.machine_name: f.constraint
        for group in full.requirements.supporting_document
        for requirement in group
        for accepted in requirement.accepted_documents
        for f in accepted.detailed_fields
    }
    assert constrained["address_sids"] == "Array"
    assert constrained["document_number"] == "String"


async def test_type_catalogues_list_their_fields(
    sim: Sim, token_credentials: TwilioCredentials, make_factory: FactoryMaker
) -> None:
    gateway = make_factory(page_size=2).for_credentials(token_credentials)
    end_user_types = {t.machine_name: t for t in await gateway.list_end_user_types()}
    document_types = {t.machine_name: t for t in await gateway.list_supporting_document_types()}

    assert set(end_user_types) == {"business", "individual"}
    assert "business_name" in {f.machine_name for f in end_user_types["business"].fields}
    excerpt = document_types["commercial_registrar_excerpt"]
    assert {f.machine_name: f.constraint for f in excerpt.fields}["address_sids"] == "Array"
    assert all(t.sid.startswith("OY") for t in document_types.values())


async def test_phone_numbers_list_names_each_numbers_bundle(
    sim: Sim,
    account: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    counts = {
        sim.seed_approved_bundle(account["account_sid"], phone_numbers=n)["bundle_sid"]: n
        for n in (3, 0, 1, 2)
    }
    other = sim.admin.create_account()
    sim.seed_approved_bundle(other["account_sid"], phone_numbers=4)  # never seen by `account`
    gateway = make_factory(page_size=4).for_credentials(token_credentials)

    progress: list[int] = []
    numbers = await gateway.list_phone_numbers(progress.append)

    assert Counter(n.bundle_sid for n in numbers) == {s: n for s, n in counts.items() if n}
    assert progress == [4, 6]
    assert len({n.sid for n in numbers}) == 6
    assert all(n.sid.startswith("PN") for n in numbers)


@pytest.mark.prism
async def test_every_read_is_valid_by_twilios_spec(
    sim: Sim,
    account: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
    prism: PrismProxy,
) -> None:
    """The numbers v2 reads through Prism's validating proxy: no violation, every one seen."""
    sim.set_config(public_base_url=prism.url)
    sim.seed_approved_bundle(account["account_sid"], valid_until="2030-01-01T00:00:00Z")
    gateway = make_factory(base_url=prism.url, page_size=2).for_credentials(token_credentials)
    query = BundleQuery(
        status="twilio-approved",
        has_valid_until_date=True,
        valid_until_date_before=datetime(2031, 1, 1, tzinfo=UTC),
        valid_until_date_after=datetime(2029, 1, 1, tzinfo=UTC),
        sort_by="valid-until",
        sort_direction="ASC",
    )
    assert len(await gateway.list_bundles(query)) == 1
    assert (await gateway.fetch_regulation(FRANCE_MOBILE_BUSINESS_SID)).sid
    assert (await gateway.fetch_regulation(FRANCE_MOBILE_BUSINESS_SID, False)).sid
    assert len(await gateway.list_end_user_types()) == 2
    assert len(await gateway.list_supporting_document_types()) > 2

    log = prism.log_path.read_text()
    violations = [
        line
        for line in log.splitlines()
        if ("violation" in line.lower() or "✖" in line) and "get / " not in line
    ]
    assert violations == [], "\n".join(violations)
    for route in ("/Bundles has returned 200", "/Regulations/", "/EndUserTypes has returned",
                  "/SupportingDocumentTypes has returned", "IncludeConstraints=false"):  # fmt: skip
        assert route in log, log[-3000:]
