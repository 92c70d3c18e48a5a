"""The SDK-backed gateway against the real simulator: every port method, errors, faults, limits."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from controller.adapters.twilio_gateway.port import (
    TwilioAmbiguousWriteError,
    TwilioAuthenticationError,
    TwilioCredentials,
    TwilioNotFoundError,
    TwilioPermanentError,
    TwilioTransientError,
)
from controller.adapters.twilio_gateway.retry import RetryPolicy
from controller.adapters.twilio_gateway.sdk import SdkTwilioGateway
from controller.core.twilio_models import BundleStatus, DocumentFile, EvaluationStatus
from tests.gateway.conftest import FAST_RETRY, FactoryMaker
from tests.gateway.fault_proxy import FaultProxy
from tests.sim_fixtures import CallbackReceiver, Sim

COPY_NAME = "bundle-renewal 6f1c2a9e-0000-4000-8000-000000000001"
PDF = DocumentFile(
    filename="power-of-attorney.pdf",
    content_type="application/pdf",
    content=b"%PDF-1.4 power of attorney\n%%EOF",
)


def copies_in_sim(sim: Sim, original_sid: str) -> list[dict[str, Any]]:
    return [
        b
        for account in sim.admin.state()["accounts"]
        for b in account["bundles"]
        if b["copy_of"] == original_sid
    ]


def sim_count(sim: Sim, method: str, route_suffix: str, status: int | None = None) -> int:
    return sum(
        row["count"]
        for row in sim.admin.stats()["requests"]
        if row["method"] == method
        and row["route"].endswith(route_suffix)
        and (status is None or row["status"] == status)
    )


async def wait_for_status(
    gateway: SdkTwilioGateway, sid: str, wanted: BundleStatus, timeout: float = 10.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await gateway.fetch_bundle(sid)).status != wanted:
        assert asyncio.get_running_loop().time() < deadline, f"{sid} never became {wanted}"
        await asyncio.sleep(0.05)


# --- every port method, the renewal sequence of the seed guide ---------------------------------


async def test_renewal_sequence_through_every_port_method(
    sim: Sim,
    account: dict[str, Any],
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
    callback_receiver: CallbackReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    factory = make_factory()
    gateway = factory.for_credentials(token_credentials)
    original_sid = seeded["bundle_sid"]

    original = await gateway.fetch_bundle(original_sid)
    assert original.status is BundleStatus.TWILIO_APPROVED
    assert original.valid_until == datetime(2030, 1, 1, tzinfo=UTC)
    assert original.regulation_sid == seeded["regulation_sid"]
    assert await gateway.list_bundle_copies(original_sid) == []

    copy = await gateway.create_bundle_copy(original_sid, COPY_NAME)
    assert copy.status is BundleStatus.DRAFT
    assert copy.friendly_name == COPY_NAME
    assert [c.sid for c in await gateway.list_bundle_copies(original_sid)] == [copy.sid]

    items = await gateway.list_item_assignments(copy.sid)
    assert len(items) == len(seeded["item_assignment_sids"])
    end_user_sid = next(i.object_sid for i in items if i.object_sid.startswith("IT"))
    document_sids = [i.object_sid for i in items if i.object_sid.startswith("RD")]
    assert len(document_sids) == len(seeded["supporting_document_sids"])

    end_user = await gateway.fetch_end_user(end_user_sid)
    assert end_user.sid == end_user_sid
    assert end_user.attributes
    changed = {**end_user.attributes, "business_name": "Renamed Telecom SAS"}
    updated = await gateway.update_end_user(end_user_sid, changed)
    assert updated.attributes == changed
    assert (await gateway.fetch_end_user(end_user_sid)).attributes == changed
    # documents must match the end-user's business name: put it back (an absolute update)
    restored = await gateway.update_end_user(end_user_sid, dict(end_user.attributes))
    assert restored.attributes == end_user.attributes

    document = await gateway.fetch_supporting_document(document_sids[0])
    assert document.sid == document_sids[0]
    assert document.type is not None
    doc_attributes = dict(document.attributes)
    updated_doc = await gateway.update_supporting_document(document.sid, doc_attributes)
    assert updated_doc.attributes == doc_attributes

    uploaded = await gateway.create_supporting_document(
        f"{COPY_NAME} power-of-attorney", "power_of_attorney", {"first_name": "X"}, PDF
    )
    assert uploaded.sid.startswith("RD")
    assert uploaded.mime_type == "application/pdf"
    assert uploaded.friendly_name == f"{COPY_NAME} power-of-attorney"
    plain = await gateway.create_supporting_document(
        f"{COPY_NAME} extra", "power_of_attorney", {"first_name": "Y"}, None
    )
    assert plain.sid.startswith("RD")
    assert plain.mime_type is None
    listed = {d.sid for d in await gateway.list_supporting_documents()}
    assert {uploaded.sid, plain.sid} <= listed

    assignment = await gateway.create_item_assignment(copy.sid, plain.sid)
    assert assignment.object_sid == plain.sid
    assert plain.sid in {i.object_sid for i in await gateway.list_item_assignments(copy.sid)}
    await gateway.delete_item_assignment(copy.sid, assignment.sid)
    assert plain.sid not in {i.object_sid for i in await gateway.list_item_assignments(copy.sid)}
    await gateway.delete_supporting_document(plain.sid)  # held by no bundle: it can go
    with pytest.raises(TwilioNotFoundError):
        await gateway.fetch_supporting_document(plain.sid)
    with pytest.raises(TwilioPermanentError):  # the copy holds it: Twilio refuses
        await gateway.delete_supporting_document(document.sid)

    evaluation = await gateway.create_evaluation(copy.sid)
    assert evaluation.bundle_sid == copy.sid
    assert evaluation.status is EvaluationStatus.COMPLIANT
    assert evaluation.results
    # The evaluation is stored on the copy: the simulator lists it (a plain GET, as Twilio's API).
    listed = await asyncio.to_thread(
        requests.get,
        f"{sim.base_url}/v2/RegulatoryCompliance/Bundles/{copy.sid}/Evaluations",
        auth=(account["account_sid"], account["auth_token"]),
        timeout=10,
    )
    assert listed.status_code == 200, listed.text
    assert evaluation.sid in {e["sid"] for e in listed.json()["results"]}

    submitted = await gateway.submit_bundle(copy.sid, callback_receiver.url)
    assert submitted.status in (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)
    assert submitted.status_callback == callback_receiver.url
    await wait_for_status(gateway, copy.sid, BundleStatus.TWILIO_APPROVED)
    await asyncio.to_thread(
        callback_receiver.wait_for, lambda cb: cb.fields.get("bundle_sid") == copy.sid
    )

    replaced = await gateway.replace_items(original_sid, copy.sid)
    assert replaced.sid == original_sid
    assert replaced.valid_until is None
    assert (await gateway.fetch_bundle(original_sid)).valid_until is None
    original_objects = {i.object_sid for i in await gateway.list_item_assignments(original_sid)}
    assert end_user_sid in original_objects

    await gateway.delete_bundle(copy.sid)
    with pytest.raises(TwilioNotFoundError):
        await gateway.fetch_bundle(copy.sid)
    assert sim.admin.bundle(original_sid)["phone_number_sids"] == seeded["phone_number_sids"]

    calls = factory.counter.calls()
    assert calls["create_bundle_copy"] == 1
    assert calls["submit_bundle"] == 1
    assert calls["replace_items"] == 1
    assert factory.counter.failures()[("fetch_bundle", "TwilioNotFoundError")] == 1

    gateway_logs = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("controller", "twilio"))
    )
    assert f"create_bundle_copy {original_sid}" in gateway_logs
    for secret_or_pii in (
        token_credentials.auth_token.get_secret_value() if token_credentials.auth_token else "",
        "Renamed Telecom SAS",
        *(str(v) for v in end_user.attributes.values() if isinstance(v, str)),
    ):
        assert secret_or_pii
        assert secret_or_pii not in gateway_logs


async def test_api_key_credentials_work(
    seeded: dict[str, Any], key_credentials: TwilioCredentials, make_factory: FactoryMaker
) -> None:
    gateway = make_factory().for_credentials(key_credentials)
    assert (await gateway.fetch_bundle(seeded["bundle_sid"])).sid == seeded["bundle_sid"]


async def test_lists_follow_every_page(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    gateway = make_factory(page_size=1).for_credentials(token_credentials)
    items = await gateway.list_item_assignments(seeded["bundle_sid"])
    assert sorted(i.sid for i in items) == sorted(seeded["item_assignment_sids"])
    assert len(items) >= 3
    pages = sim_count(sim, "GET", "/ItemAssignments", 200)
    assert pages == len(items)


# --- a failed list page (the SDK's Page raises a bare TwilioException) -------------------------

# The SDK asks for the first page with PageSize only, then follows meta.next_page_url verbatim.
FIRST_ITEMS_PAGE = r"/ItemAssignments\?PageSize=1$"
SECOND_ITEMS_PAGE = r"/ItemAssignments\?.*\bPage=1&"


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        (FIRST_ITEMS_PAGE, 429, 20429),
        (SECOND_ITEMS_PAGE, 429, 20429),
        (SECOND_ITEMS_PAGE, 503, 20500),
    ],
    ids=["429-first-page", "429-second-page", "503-second-page"],
)
async def test_a_transient_failure_of_one_list_page_retries_that_page(
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
    target: str,
    status: int,
    code: int,
) -> None:
    """Regression (issue 11, item 3): the page answered 429/5xx is asked again and the list
    completes; the pages already read are not fetched a second time."""
    factory = make_factory(proxy.base_url, page_size=1)
    gateway = factory.for_credentials(token_credentials)
    proxy.answer_instead("GET", target, status, code)

    items = await gateway.list_item_assignments(seeded["bundle_sid"])

    assert sorted(i.sid for i in items) == sorted(seeded["item_assignment_sids"])
    assert [answered[2] for answered in proxy.answered] == [status]
    assert proxy.count_target("GET", target) == 2  # the failed try and its retry
    assert proxy.count_target("GET", FIRST_ITEMS_PAGE) == (2 if target == FIRST_ITEMS_PAGE else 1)
    assert proxy.count("GET", r"/ItemAssignments$") == len(items) + 1
    # a list counts once in the metrics, each retry once more
    assert factory.counter.calls()["list_item_assignments"] == 2
    assert factory.counter.failures() == {("list_item_assignments", "TwilioTransientError"): 1}


async def test_a_list_page_that_keeps_failing_ends_in_a_transient_error(
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    gateway = make_factory(proxy.base_url, page_size=1).for_credentials(token_credentials)
    proxy.answer_instead("GET", SECOND_ITEMS_PAGE, 429, 20429, times=100)
    with pytest.raises(TwilioTransientError) as info:
        await gateway.list_item_assignments(seeded["bundle_sid"])
    assert info.value.status == 429
    assert info.value.code == 20429
    assert "list_item_assignments" in str(info.value)
    assert "Injected by the test proxy" in str(info.value)
    assert proxy.count_target("GET", SECOND_ITEMS_PAGE) == 4  # FAST_RETRY.max_attempts
    assert proxy.count_target("GET", FIRST_ITEMS_PAGE) == 1


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, 20404, TwilioNotFoundError),
        (401, 20003, TwilioAuthenticationError),
        (400, 20001, TwilioPermanentError),
    ],
)
async def test_a_client_error_on_a_list_page_is_permanent_and_not_retried(
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
    status: int,
    code: int,
    expected: type[TwilioPermanentError],
) -> None:
    gateway = make_factory(proxy.base_url, page_size=1).for_credentials(token_credentials)
    proxy.answer_instead("GET", SECOND_ITEMS_PAGE, status, code, times=100)
    with pytest.raises(expected) as info:
        await gateway.list_item_assignments(seeded["bundle_sid"])
    assert type(info.value) is expected
    assert info.value.status == status
    assert info.value.code == code
    assert proxy.count_target("GET", SECOND_ITEMS_PAGE) == 1


async def test_lists_refused_by_the_simulator_map_like_single_requests(
    sim: Sim,
    account: dict[str, Any],
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    factory = make_factory(page_size=1)
    with pytest.raises(TwilioNotFoundError) as missing:
        await factory.for_credentials(token_credentials).list_item_assignments("BU" + "0" * 32)
    assert missing.value.code == 20404
    wrong = TwilioCredentials(account_sid=account["account_sid"], auth_token="not-the-token")
    with pytest.raises(TwilioAuthenticationError) as refused:
        await factory.for_credentials(wrong).list_item_assignments(seeded["bundle_sid"])
    assert refused.value.code == 20003
    assert "not-the-token" not in str(refused.value)
    assert sim_count(sim, "GET", "/ItemAssignments", 404) == 1
    assert sim_count(sim, "GET", "/ItemAssignments", 401) == 1


# --- error mapping ------------------------------------------------------------------------------


async def test_refused_credentials_are_an_authentication_error_and_not_retried(
    sim: Sim,
    seeded: dict[str, Any],
    account: dict[str, Any],
    make_factory: FactoryMaker,
) -> None:
    wrong_token = "wrong-" + account["auth_token"][::-1]
    bad = TwilioCredentials(account_sid=account["account_sid"], auth_token=wrong_token)
    gateway = make_factory().for_credentials(bad)
    with pytest.raises(TwilioAuthenticationError) as info:
        await gateway.fetch_bundle(seeded["bundle_sid"])
    assert info.value.status == 401
    assert info.value.code == 20003
    assert wrong_token not in str(info.value)
    assert account["auth_token"] not in str(info.value)
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 401) == 1


async def test_unknown_sids_are_not_found(
    seeded: dict[str, Any], token_credentials: TwilioCredentials, make_factory: FactoryMaker
) -> None:
    gateway = make_factory().for_credentials(token_credentials)
    missing = "BU" + "0" * 32
    with pytest.raises(TwilioNotFoundError) as info:
        await gateway.fetch_bundle(missing)
    assert missing in str(info.value)
    with pytest.raises(TwilioNotFoundError):
        await gateway.delete_item_assignment(seeded["bundle_sid"], "BV" + "0" * 32)
    with pytest.raises(TwilioNotFoundError):
        await gateway.create_bundle_copy(missing, COPY_NAME)


async def test_invalid_requests_are_permanent(
    seeded: dict[str, Any], token_credentials: TwilioCredentials, make_factory: FactoryMaker
) -> None:
    gateway = make_factory().for_credentials(token_credentials)
    with pytest.raises(TwilioPermanentError) as info:
        # ReplaceItems from the bundle into itself: Twilio's 22226
        await gateway.replace_items(seeded["bundle_sid"], seeded["bundle_sid"])
    assert info.value.status == 400
    assert not isinstance(info.value, TwilioNotFoundError)


# --- 429 and the concurrency cap ------------------------------------------------------------


async def test_429_is_retried_up_to_the_bound_even_for_unsafe_writes(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(faults={"rate_limit_rate": 1.0})
    policy = RetryPolicy(max_attempts=3, base_delay_seconds=0.001, max_delay_seconds=0.002)
    gateway = make_factory(retry=policy).for_credentials(token_credentials)
    with pytest.raises(TwilioTransientError) as info:
        await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    assert not isinstance(info.value, TwilioAmbiguousWriteError)
    assert info.value.code == 20429
    assert sim_count(sim, "POST", "/Copies", 429) == 3
    assert sim_count(sim, "GET", "/Copies") == 0  # a 429 is never processed: nothing to re-check

    sim.admin.set_config(faults={"rate_limit_rate": 0.0})
    copy = await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    assert [c["sid"] for c in copies_in_sim(sim, seeded["bundle_sid"])] == [copy.sid]


async def test_the_cap_is_shared_by_every_gateway_of_an_account(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    key_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(
        latency={"distribution": "constant", "mean_ms": 30},
        max_concurrent_requests_per_account=2,
    )
    factory = make_factory(proxy.base_url, max_concurrent_requests_per_account=2)
    by_token = factory.for_credentials(token_credentials)
    by_key = factory.for_credentials(key_credentials)
    bundles = await asyncio.gather(
        *(g.fetch_bundle(seeded["bundle_sid"]) for g in [by_token, by_key] * 6)
    )
    assert {b.sid for b in bundles} == {seeded["bundle_sid"]}
    assert proxy.max_inflight == 2
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 429) == 0
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 200) == 12


async def test_429s_from_a_tighter_limit_at_twilio_are_absorbed_by_retries(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(
        latency={"distribution": "constant", "mean_ms": 20},
        max_concurrent_requests_per_account=1,
    )
    policy = RetryPolicy(max_attempts=60, base_delay_seconds=0.005, max_delay_seconds=0.04)
    factory = make_factory(max_concurrent_requests_per_account=4, retry=policy)
    gateway = factory.for_credentials(token_credentials)
    bundles = await asyncio.gather(*(gateway.fetch_bundle(seeded["bundle_sid"]) for _ in range(8)))
    assert len(bundles) == 8
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 429) > 0
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 200) == 8
    assert factory.counter.failures()[("fetch_bundle", "TwilioTransientError")] == sim_count(
        sim, "GET", "/Bundles/{Sid}", 429
    )


async def test_attempts_are_timed_by_outcome_and_429s_and_retries_are_counted(
    sim: Sim,
    seeded: dict[str, Any],
    account: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(latency={"distribution": "constant", "mean_ms": 30})
    factory = make_factory()
    gateway = factory.for_credentials(token_credentials)
    await gateway.fetch_bundle(seeded["bundle_sid"])
    sim.admin.set_config(faults={"rate_limit_rate": 1.0})
    with pytest.raises(TwilioTransientError):
        await gateway.fetch_bundle(seeded["bundle_sid"])
    sim.admin.set_config(faults={"rate_limit_rate": 0.0})
    wrong = TwilioCredentials(account_sid=account["account_sid"], auth_token="wrong-token")
    with pytest.raises(TwilioAuthenticationError):
        await factory.for_credentials(wrong).fetch_bundle(seeded["bundle_sid"])

    counter, attempts = factory.counter, FAST_RETRY.max_attempts
    durations = counter.durations()
    assert {key: s.count for key, s in durations.items()} == {
        ("fetch_bundle", "ok"): 1,
        ("fetch_bundle", "throttled"): attempts,
        ("fetch_bundle", "authentication"): 1,
    }
    answered = dict(durations[("fetch_bundle", "ok")].buckets)
    assert answered[0.025] == 0  # the simulator took 30 ms
    assert durations[("fetch_bundle", "ok")].sum >= 0.03
    assert counter.throttled() == {"fetch_bundle": attempts}
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 429) == attempts
    assert counter.retries() == {"fetch_bundle": attempts - 1}  # the auth failure: no retry
    assert sum(counter.calls().values()) == attempts + 2


# --- ambiguous writes: the connection drops after Twilio processed the request ---------------


async def test_dropped_copy_creation_adopts_the_copy_instead_of_making_another(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    proxy.drop_after_processing("POST", r"/Copies$")
    gateway = make_factory(proxy.base_url).for_credentials(token_credentials)
    copy = await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    assert proxy.dropped == [
        ("POST", f"/v2/RegulatoryCompliance/Bundles/{seeded['bundle_sid']}/Copies")
    ]
    in_sim = copies_in_sim(sim, seeded["bundle_sid"])
    assert [c["sid"] for c in in_sim] == [copy.sid]
    assert copy.friendly_name == COPY_NAME
    assert proxy.count("POST", r"/Copies$") == 1
    assert proxy.count("GET", r"/Copies$") == 1


async def test_dropped_copy_creation_that_never_reached_twilio_is_created_once(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    """The simulator drops before processing: the re-check finds nothing, so the write is
    repeated; with every request dropped the outcome stays unknown and is reported so."""
    sim.admin.set_config(faults={"drop_rate": 1.0})
    gateway = make_factory().for_credentials(token_credentials)
    with pytest.raises(TwilioAmbiguousWriteError):
        await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    sim.admin.set_config(faults={"drop_rate": 0.0})
    assert copies_in_sim(sim, seeded["bundle_sid"]) == []
    copy = await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    assert [c["sid"] for c in copies_in_sim(sim, seeded["bundle_sid"])] == [copy.sid]


async def test_dropped_item_assignment_is_adopted(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    gateway = make_factory(proxy.base_url).for_credentials(token_credentials)
    copy = await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    document = await gateway.create_supporting_document(
        f"{COPY_NAME} poa", "power_of_attorney", {"first_name": "X"}, None
    )
    proxy.drop_after_processing("POST", r"/ItemAssignments$")
    assignment = await gateway.create_item_assignment(copy.sid, document.sid)
    assert assignment.object_sid == document.sid
    objects = sim.admin.bundle(copy.sid)["item_object_sids"]
    assert objects.count(document.sid) == 1
    assert proxy.count("POST", r"/ItemAssignments$") == 1


async def test_dropped_submit_is_recognised_as_done(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(review={"mode": "manual"})
    gateway = make_factory(proxy.base_url).for_credentials(token_credentials)
    copy = await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    proxy.drop_after_processing("POST", rf"/Bundles/{copy.sid}$")
    submitted = await gateway.submit_bundle(copy.sid, None)
    assert submitted.status in (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)
    assert proxy.count("POST", rf"/Bundles/{copy.sid}$") == 1


async def test_dropped_replace_items_is_recognised_as_done(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    gateway = make_factory(proxy.base_url).for_credentials(token_credentials)
    original_sid = seeded["bundle_sid"]
    copy = await gateway.create_bundle_copy(original_sid, COPY_NAME)
    copy_objects = {i.object_sid for i in await gateway.list_item_assignments(copy.sid)}
    await gateway.submit_bundle(copy.sid, None)
    await wait_for_status(gateway, copy.sid, BundleStatus.TWILIO_APPROVED)

    proxy.drop_after_processing("POST", r"/ReplaceItems$")
    replaced = await gateway.replace_items(original_sid, copy.sid)
    assert replaced.sid == original_sid
    assert replaced.valid_until is None
    assert set(sim.admin.bundle(original_sid)["item_object_sids"]) == copy_objects
    assert proxy.count("POST", r"/ReplaceItems$") == 1


async def test_dropped_delete_is_done_when_the_retry_finds_it_gone(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    gateway = make_factory(proxy.base_url).for_credentials(token_credentials)
    copy = await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    proxy.drop_after_processing("DELETE", rf"/Bundles/{copy.sid}$")
    await gateway.delete_bundle(copy.sid)
    assert copies_in_sim(sim, seeded["bundle_sid"]) == []
    assert proxy.count("DELETE", rf"/Bundles/{copy.sid}$") == 2


async def test_dropped_upload_is_reported_ambiguous_and_the_document_can_be_found(
    sim: Sim,
    token_credentials: TwilioCredentials,
    proxy: FaultProxy,
    make_factory: FactoryMaker,
) -> None:
    gateway = make_factory(proxy.base_url).for_credentials(token_credentials)
    proxy.drop_after_processing("POST", r"/SupportingDocuments$")
    name = f"{COPY_NAME} power-of-attorney"
    with pytest.raises(TwilioAmbiguousWriteError):
        await gateway.create_supporting_document(name, "power_of_attorney", {"a": "b"}, PDF)
    assert proxy.count("POST", r"/SupportingDocuments$") == 1
    found = [d for d in await gateway.list_supporting_documents() if d.friendly_name == name]
    assert len(found) == 1
    assert found[0].mime_type == "application/pdf"


async def test_5xx_on_reads_is_retried(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    sim.admin.set_config(faults={"error_rate": 1.0})
    gateway = make_factory().for_credentials(token_credentials)
    with pytest.raises(TwilioTransientError) as info:
        await gateway.fetch_bundle(seeded["bundle_sid"])
    assert info.value.status == 500
    assert sim_count(sim, "GET", "/Bundles/{Sid}", 500) == 4
    with pytest.raises(TwilioAmbiguousWriteError):
        await gateway.create_supporting_document("n", "power_of_attorney", {}, None)
    assert sim_count(sim, "POST", "/SupportingDocuments", 500) == 1


async def test_upload_errors_are_mapped_like_sdk_errors(
    sim: Sim,
    account: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    factory = make_factory()
    wrong = TwilioCredentials(account_sid=account["account_sid"], auth_token="not-the-token")
    with pytest.raises(TwilioAuthenticationError) as auth:
        await factory.for_credentials(wrong).create_supporting_document(
            "n", "power_of_attorney", {}, PDF
        )
    assert auth.value.code == 20003
    assert "not-the-token" not in str(auth.value)
    with pytest.raises(TwilioPermanentError) as invalid:
        await factory.for_credentials(token_credentials).create_supporting_document(
            "n", "no_such_document_type", {}, PDF
        )
    assert invalid.value.status == 400
    assert "Type" in str(invalid.value)
    assert sim_count(sim, "POST", "/SupportingDocuments") == 2


async def test_a_request_that_outlives_the_time_limit_is_transient_or_ambiguous(
    sim: Sim,
    seeded: dict[str, Any],
    token_credentials: TwilioCredentials,
    make_factory: FactoryMaker,
) -> None:
    """The SDK passes timeout=None to aiohttp (no limit); the gateway's limit must still hold."""
    sim.admin.set_config(latency={"distribution": "constant", "mean_ms": 400})
    policy = RetryPolicy(max_attempts=2, base_delay_seconds=0.001, max_delay_seconds=0.001)
    factory = make_factory(request_timeout_seconds=0.1, retry=policy)
    gateway = factory.for_credentials(token_credentials)
    with pytest.raises(TwilioTransientError, match="did not answer in time") as read:
        await gateway.fetch_bundle(seeded["bundle_sid"])
    assert not isinstance(read.value, TwilioAmbiguousWriteError)
    with pytest.raises(TwilioAmbiguousWriteError):
        await gateway.create_supporting_document("n", "power_of_attorney", {}, None)
    # the copy may be created after the client gave up; re-reading the Copies list times out
    # too, so the outcome is reported as unknown rather than written again
    with pytest.raises(TwilioAmbiguousWriteError, match="outcome unknown"):
        await gateway.create_bundle_copy(seeded["bundle_sid"], COPY_NAME)
    assert factory.counter.calls()["create_bundle_copy"] == 1
    assert factory.counter.calls()["fetch_bundle"] == 2
