"""The factory: shared per-account limits and clients, secrets kept out of reprs and logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import pytest

from controller.adapters.twilio_gateway.config import (
    TWILIO_NUMBERS_BASE_URL,
    TWILIO_UPLOAD_BASE_URL,
    GatewaySettings,
)
from controller.adapters.twilio_gateway.factory import SdkTwilioGatewayFactory
from controller.adapters.twilio_gateway.port import (
    TwilioCredentials,
    TwilioGateway,
    TwilioTransientError,
)
from controller.adapters.twilio_gateway.retry import RetryPolicy
from controller.adapters.twilio_gateway.slots import SlotCounts

ACCOUNT = "AC" + "1" * 32
OTHER_ACCOUNT = "AC" + "2" * 32
TOKEN = "tok-3f9a1c5e7b2d4f6a8c0e2b4d6f8a0c1e"
KEY_SECRET = "sec-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
KEY_SID = "SK" + "3" * 32


def token_credentials(account: str = ACCOUNT, token: str = TOKEN) -> TwilioCredentials:
    return TwilioCredentials(account_sid=account, auth_token=token)


def key_credentials(account: str = ACCOUNT) -> TwilioCredentials:
    return TwilioCredentials(account_sid=account, api_key_sid=KEY_SID, api_key_secret=KEY_SECRET)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gateways_of_one_account_share_one_concurrency_cap() -> None:
    factory = SdkTwilioGatewayFactory(GatewaySettings(max_concurrent_requests_per_account=3))
    assert factory.limiter_for(ACCOUNT) is factory.limiter_for(ACCOUNT)
    assert factory.limiter_for(ACCOUNT) is not factory.limiter_for(OTHER_ACCOUNT)
    a = factory.for_credentials(token_credentials())
    b = factory.for_credentials(key_credentials())
    c = factory.for_credentials(token_credentials(OTHER_ACCOUNT))
    assert a._limiter is b._limiter
    assert a._limiter is not c._limiter
    assert a._limiter.limit == 3  # the initial 8, capped by the ceiling


def test_a_gateway_waits_with_the_priority_it_was_handed_out_with() -> None:
    factory = SdkTwilioGatewayFactory()
    assert factory.for_credentials(token_credentials(), priority=1.5e9)._priority == 1.5e9
    assert factory.for_credentials(token_credentials())._priority is None
    with pytest.raises(ValueError, match="NaN"):
        factory.for_credentials(token_credentials(), priority=float("nan"))


def test_each_account_starts_at_the_initial_limit_below_its_ceiling() -> None:
    adaptive = SdkTwilioGatewayFactory(
        GatewaySettings(
            max_concurrent_requests_per_account=50, initial_concurrent_requests_per_account=6
        )
    )
    policy = adaptive.settings.concurrency_policy()
    assert (policy.initial, policy.floor, policy.ceiling) == (6, 1, 50)
    assert adaptive.limiter_for(ACCOUNT).limit == 6
    fixed = GatewaySettings(max_concurrent_requests_per_account=4, adaptive_concurrency=False)
    policy = fixed.concurrency_policy()
    assert (policy.initial, policy.floor, policy.ceiling) == (4, 4, 4)


async def test_slot_counts_sum_every_account() -> None:
    factory = SdkTwilioGatewayFactory(GatewaySettings(max_concurrent_requests_per_account=3))
    assert factory.slot_counts() == SlotCounts()  # no account used yet
    first, other = factory.limiter_for(ACCOUNT), factory.limiter_for(OTHER_ACCOUNT)
    held = [await first.acquire() for _ in range(3)]
    waiting = asyncio.create_task(first.acquire())
    await asyncio.sleep(0)
    await other.acquire()
    assert factory.slot_counts() == SlotCounts(limit=6, in_flight=4, waiting=1)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert len(held) == 3
    assert factory.slot_counts().waiting == 0


def test_connections_are_cached_per_credentials() -> None:
    factory = SdkTwilioGatewayFactory()
    first = factory.for_credentials(token_credentials())
    again = factory.for_credentials(token_credentials())
    rotated = factory.for_credentials(token_credentials(token=TOKEN + "x"))
    api_key = factory.for_credentials(key_credentials())
    assert first._connection is again._connection
    assert first._connection is not rotated._connection
    assert first._connection is not api_key._connection


def test_the_gateway_satisfies_the_port() -> None:
    gateway: TwilioGateway = SdkTwilioGatewayFactory().for_credentials(token_credentials())
    assert gateway is not None


def test_upload_base_url_defaults() -> None:
    assert GatewaySettings().effective_upload_base_url == TWILIO_UPLOAD_BASE_URL
    assert GatewaySettings().base_url == TWILIO_NUMBERS_BASE_URL
    sim = GatewaySettings(base_url="http://127.0.0.1:8080")
    assert sim.effective_upload_base_url == "http://127.0.0.1:8080"
    explicit = GatewaySettings(base_url="http://a", upload_base_url="http://b")
    assert explicit.effective_upload_base_url == "http://b"


@pytest.mark.parametrize("credentials", [token_credentials(), key_credentials()])
def test_reprs_never_show_secrets(credentials: TwilioCredentials) -> None:
    factory = SdkTwilioGatewayFactory()
    gateway = factory.for_credentials(credentials)
    for text in (repr(credentials), str(credentials), repr(factory), repr(gateway)):
        assert TOKEN not in text
        assert KEY_SECRET not in text
    assert ACCOUNT in repr(gateway)


async def test_failed_calls_log_and_raise_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    settings = GatewaySettings(
        base_url=f"http://127.0.0.1:{closed_port()}",
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.01, max_delay_seconds=0.01),
    )
    factory = SdkTwilioGatewayFactory(settings)
    caplog.set_level(logging.DEBUG)
    try:
        for credentials in (token_credentials(), key_credentials()):
            gateway = factory.for_credentials(credentials)
            with pytest.raises(TwilioTransientError) as info:
                await gateway.update_end_user("IT" + "4" * 32, {"first_name": "Jane-Secretive"})
            assert "cannot connect" in str(info.value)
            assert TOKEN not in str(info.value)
            assert KEY_SECRET not in str(info.value)
    finally:
        await factory.close()
    assert factory.counter.calls() == {"update_end_user": 4}
    assert "IT" + "4" * 32 in caplog.text
    for secret in (TOKEN, KEY_SECRET, "Jane-Secretive"):
        assert secret not in caplog.text


def test_a_rotated_secret_replaces_the_cached_connection() -> None:
    factory = SdkTwilioGatewayFactory()
    first = factory.for_credentials(token_credentials())
    for n in range(3):
        factory.for_credentials(token_credentials(token=f"{TOKEN}-{n}"))
    current = factory.for_credentials(token_credentials(token=f"{TOKEN}-2"))
    assert list(factory._connections.values()) == [current._connection]
    assert first._connection in factory._retired
    assert not any(c.uses_secret_of(token_credentials()) for c in factory._connections.values())


async def test_a_retired_connection_is_closed_once_its_requests_had_time() -> None:
    factory = SdkTwilioGatewayFactory()
    factory.retire_after = 0.05
    try:
        old = factory.for_credentials(token_credentials())._connection
        old_session = old.session()
        new = factory.for_credentials(token_credentials(token=TOKEN + "x"))._connection
        new_session = new.session()
        assert not old_session.closed
        await asyncio.sleep(0.2)
        assert old_session.closed
        assert not new_session.closed
        assert factory._retired == set()
        with pytest.raises(TwilioTransientError, match="closed"):
            old.session()
    finally:
        await factory.close()
    assert new_session.closed


async def test_close_closes_connections_still_waiting_to_retire() -> None:
    factory = SdkTwilioGatewayFactory()
    old_session = factory.for_credentials(token_credentials())._connection.session()
    factory.for_credentials(token_credentials(token=TOKEN + "x"))
    await factory.close()
    assert old_session.closed


async def test_the_connection_pool_holds_as_many_connections_as_the_ceiling() -> None:
    """aiohttp's default pool (100) would queue requests the limit let through beyond it, and
    the queueing would read as Twilio slowing down."""
    factory = SdkTwilioGatewayFactory(GatewaySettings(max_concurrent_requests_per_account=137))
    try:
        session = factory.for_credentials(token_credentials())._connection.session()
        assert session.connector is not None
        assert session.connector.limit == 137
    finally:
        await factory.close()
