"""Fixtures for the gateway tests on the real simulator (`sim` comes from tests/sim_fixtures.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from controller.adapters.twilio_gateway.config import GatewaySettings
from controller.adapters.twilio_gateway.factory import SdkTwilioGatewayFactory
from controller.adapters.twilio_gateway.port import TwilioCredentials
from controller.adapters.twilio_gateway.retry import RetryPolicy
from tests.gateway.fault_proxy import FaultProxy
from tests.sim_fixtures import Sim

# Real sleeps, kept short: retries here are about behaviour, not pacing.
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_seconds=0.01, max_delay_seconds=0.05)


@pytest.fixture
def account(sim: Sim) -> dict[str, Any]:
    return sim.admin.create_account(api_keys=1)


@pytest.fixture
def token_credentials(account: dict[str, Any]) -> TwilioCredentials:
    return TwilioCredentials(account_sid=account["account_sid"], auth_token=account["auth_token"])


@pytest.fixture
def key_credentials(account: dict[str, Any]) -> TwilioCredentials:
    key = account["api_keys"][0]
    return TwilioCredentials(
        account_sid=account["account_sid"], api_key_sid=key["sid"], api_key_secret=key["secret"]
    )


@pytest.fixture
def seeded(sim: Sim, account: dict[str, Any]) -> dict[str, Any]:
    """An approved bundle with an end-user, documents, phone numbers and a valid_until."""
    return sim.admin.seed_approved_bundle(
        account["account_sid"], phone_numbers=2, valid_until="2030-01-01T00:00:00Z"
    )


@pytest.fixture
async def proxy(sim: Sim) -> AsyncIterator[FaultProxy]:
    fault_proxy = FaultProxy(sim.base_url)
    await fault_proxy.start()
    yield fault_proxy
    await fault_proxy.stop()


FactoryMaker = Callable[..., SdkTwilioGatewayFactory]


@pytest.fixture
async def make_factory(sim: Sim) -> AsyncIterator[FactoryMaker]:
    """Builds factories on the simulator (or `base_url`), closed after the test."""
    made: list[SdkTwilioGatewayFactory] = []

    def make(base_url: str | None = None, **settings: Any) -> SdkTwilioGatewayFactory:
        settings.setdefault("retry", FAST_RETRY)
        factory = SdkTwilioGatewayFactory(
            GatewaySettings(base_url=base_url or sim.base_url, **settings)
        )
        made.append(factory)
        return factory

    yield make
    for factory in made:
        await factory.close()
