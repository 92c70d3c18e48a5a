"""Hands out SDK-backed gateways per credentials, sharing what must be shared per account.

One AccountConnection (aiohttp session + SDK client) per set of credentials, and one concurrency
semaphore per account SID, so that every gateway for the same account - whatever credentials
(auth token or API keys) and whichever resources use them - stays under one cap. `close()` at
shutdown closes the sessions.
"""

from __future__ import annotations

import asyncio
import random

from controller.twilio_gateway.config import GatewaySettings
from controller.twilio_gateway.connection import AccountConnection, secret_of
from controller.twilio_gateway.metrics import CallCounter
from controller.twilio_gateway.port import TwilioCredentials
from controller.twilio_gateway.retry import Random, Retrier, Sleep
from controller.twilio_gateway.sdk import SdkTwilioGateway


class SdkTwilioGatewayFactory:
    """TwilioGatewayFactory on the twilio SDK. Sleep and randomness are injectable for tests."""

    def __init__(
        self,
        settings: GatewaySettings | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        rand: Random = random.random,
        counter: CallCounter | None = None,
    ) -> None:
        self.settings = settings or GatewaySettings()
        self.counter = counter or CallCounter()
        self._retrier = Retrier(self.settings.retry, sleep, rand)
        self._connections: dict[tuple[str, str, str], AccountConnection] = {}
        self._limiters: dict[str, asyncio.Semaphore] = {}

    def __repr__(self) -> str:
        return f"SdkTwilioGatewayFactory(base_url={self.settings.base_url!r})"

    def for_credentials(self, credentials: TwilioCredentials) -> SdkTwilioGateway:
        key = (credentials.account_sid, credentials.username, secret_of(credentials))
        connection = self._connections.get(key)
        if connection is None:
            connection = AccountConnection(credentials, self.settings)
            self._connections[key] = connection
        return SdkTwilioGateway(
            connection,
            self.limiter_for(credentials.account_sid),
            self.settings,
            self._retrier,
            self.counter,
        )

    def limiter_for(self, account_sid: str) -> asyncio.Semaphore:
        limiter = self._limiters.get(account_sid)
        if limiter is None:
            limiter = asyncio.Semaphore(self.settings.max_concurrent_requests_per_account)
            self._limiters[account_sid] = limiter
        return limiter

    async def close(self) -> None:
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            await connection.close()
