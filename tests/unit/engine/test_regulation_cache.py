"""The regulation cache (one read per account and regulation per TTL, shared by concurrent
misses, failures not kept) and what a regulation accepts, from the simulator's real shape."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from controller.adapters.twilio_gateway.port import TwilioNotFoundError, TwilioTransientError
from controller.core.plan import regulation_terms
from controller.core.twilio_models import ItemType, Regulation
from controller.engine.regulation_cache import RegulationCache
from twilio_sim import regulations, render

RN = "RN" + "1" * 32
FR = regulations.FRANCE_MOBILE_BUSINESS_SID


def sim_regulation(sid: str, *, change: dict[str, object] | None = None) -> Regulation:
    """The simulator's answer to GET Regulations/{sid}?IncludeConstraints=true, parsed."""
    catalogue = regulations.builtin_catalogue()
    reg = catalogue[sid]
    if change is not None:
        reg = regulations.apply_change(reg, change)
    return Regulation.model_validate(render.regulation(reg, "http://sim", True))


def sim_types(end_user: bool) -> list[ItemType]:
    catalogue = regulations.builtin_catalogue()
    types = (
        regulations.end_user_types(catalogue) if end_user else regulations.document_types(catalogue)
    )
    return [
        ItemType.model_validate(render.item_type(t, "OY" + f"{i:032x}", "http://sim", "Types"))
        for i, t in enumerate(types.values())
    ]


def test_terms_of_the_simulators_france_mobile_business_regulation() -> None:
    terms = regulation_terms(sim_regulation(FR), sim_types(True), sim_types(False))
    assert terms.end_user_type == "business"
    assert {"business_name", "business_registration_number", "first_name", "last_name"} <= (
        terms.end_user_fields
    )
    assert set(terms.document_fields) == {
        "commercial_registrar_excerpt",
        "government_issued_document",
        "power_of_attorney",
    }
    excerpt = terms.document_fields["commercial_registrar_excerpt"]
    assert {"business_name", "address_sids", "document_number"} <= excerpt
    assert terms.accepted_types_for("power_of_attorney_info") == ("power_of_attorney",)


def test_a_published_change_adds_the_new_names() -> None:
    before = regulation_terms(sim_regulation(FR), [], [])
    after = regulation_terms(sim_regulation(FR, change={}), [], [])
    assert "business_registration_authority" not in before.end_user_fields
    assert "business_registration_authority" in after.end_user_fields
    assert "issue_date" in after.document_fields["commercial_registrar_excerpt"]


class Reader:
    """Answers the three reads, counting them; `fail` raises instead, `delay` slows them."""

    def __init__(self, regulation: Regulation, *, delay: float = 0.0) -> None:
        self.regulation = regulation
        self.delay = delay
        self.calls = 0
        self.fail: Exception | None = None

    async def fetch_regulation(self, sid: str, include_constraints: bool = True) -> Regulation:
        assert include_constraints
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        if sid != self.regulation.sid:
            raise TwilioNotFoundError("not found", status=404, code=20404)
        return self.regulation

    async def list_end_user_types(self) -> list[ItemType]:
        return []

    async def list_supporting_document_types(self) -> list[ItemType]:
        return []


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache(clock: Clock, ttl: float = 3600.0) -> RegulationCache:
    return RegulationCache(
        ttl_seconds=ttl, monotonic=clock, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC)
    )


async def test_one_read_per_account_and_regulation_until_the_ttl_runs_out() -> None:
    clock = Clock()
    regs = cache(clock, ttl=60)
    reader = Reader(Regulation(sid=RN))
    for _ in range(5):
        assert await regs.terms(reader, "AC1", RN) is not None
    assert reader.calls == 1
    await regs.terms(reader, "AC2", RN)  # another account: its own entry
    assert reader.calls == 2
    clock.now = 59.0
    await regs.terms(reader, "AC1", RN)
    assert reader.calls == 2
    clock.now = 61.0
    await regs.terms(reader, "AC1", RN)
    assert reader.calls == 3


async def test_concurrent_misses_share_one_read() -> None:
    regs = cache(Clock())
    reader = Reader(Regulation(sid=RN), delay=0.01)
    answers = await asyncio.gather(*(regs.terms(reader, "AC1", RN) for _ in range(20)))
    assert reader.calls == 1
    assert all(a is answers[0] for a in answers)
    assert regs.reads == 1


async def test_refresh_reads_past_the_cache_and_refills_it() -> None:
    regs = cache(Clock())
    reader = Reader(Regulation(sid=RN))
    await regs.terms(reader, "AC1", RN)
    await regs.terms(reader, "AC1", RN, refresh=True)
    await regs.terms(reader, "AC1", RN)
    assert reader.calls == 2


async def test_a_failed_read_is_not_kept_and_a_404_is() -> None:
    regs = cache(Clock())
    reader = Reader(Regulation(sid=RN))
    reader.fail = TwilioTransientError("503", status=503)
    with pytest.raises(TwilioTransientError):
        await regs.terms(reader, "AC1", RN)
    reader.fail = None
    assert await regs.terms(reader, "AC1", RN) is not None
    assert reader.calls == 2

    other = "RN" + "2" * 32
    assert await regs.terms(reader, "AC1", other) is None
    assert await regs.terms(reader, "AC1", other) is None
    assert reader.calls == 3


def test_a_gateway_that_cannot_read_regulations_gets_no_reader() -> None:
    assert RegulationCache().for_account(object(), "AC1") is None
    assert RegulationCache().for_account(Reader(Regulation(sid=RN)), "AC1") is not None
