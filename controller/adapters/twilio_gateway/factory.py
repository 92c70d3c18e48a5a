"""Hands out SDK-backed gateways per credentials, sharing what must be shared per account.

One AccountConnection (aiohttp session + SDK client) per identity (account SID + username: the
account itself or an API key), and one AccountSlots per account SID (slots.py: the adaptive
concurrency limit and the priority queue of waiting requests), so that every gateway for the
same account - whatever credentials (auth token or API keys) and whichever resources use them -
stays under one limit, learnt from all of their answers. When an identity's secret changes (a
rotation), its old connection is retired: dropped from the cache at once (so the old secret is
not kept) and closed once requests already under way on it have had time to end. `close()` at
shutdown closes the rest.
"""

from __future__ import annotations

import asyncio
import math
import random

from controller.adapters.twilio_gateway.config import GatewaySettings
from controller.adapters.twilio_gateway.connection import AccountConnection
from controller.adapters.twilio_gateway.metrics import CallCounter
from controller.adapters.twilio_gateway.port import TwilioCredentials
from controller.adapters.twilio_gateway.retry import Random, Retrier, Sleep
from controller.adapters.twilio_gateway.sdk import SdkTwilioGateway
from controller.adapters.twilio_gateway.slots import AccountSlots, SlotCounts


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
        self._retrier = Retrier(self.settings.retry, sleep, rand, self.counter.record_retry)
        self._connections: dict[tuple[str, str], AccountConnection] = {}
        self._limiters: dict[str, AccountSlots] = {}
        self._retired: set[AccountConnection] = set()
        self._closing: set[asyncio.Task[None]] = set()
        # The longest one gateway operation can still be using a connection: every attempt's
        # time limit plus the backoff between them.
        retry = self.settings.retry
        self.retire_after = (
            self.settings.request_timeout_seconds * retry.max_attempts
            + retry.max_delay_seconds * (retry.max_attempts - 1)
        )

    def __repr__(self) -> str:
        return f"SdkTwilioGatewayFactory(base_url={self.settings.base_url!r})"

    def for_credentials(
        self, credentials: TwilioCredentials, *, priority: float | None = None
    ) -> SdkTwilioGateway:
        """A gateway whose requests wait for the account's slots with `priority` (the
        contract is TwilioGatewayFactory.for_credentials's, in port.py)."""
        if priority is not None and math.isnan(priority):
            raise ValueError("a priority must be a number, not NaN")
        key = (credentials.account_sid, credentials.username)
        connection = self._connections.get(key)
        if connection is not None and not connection.uses_secret_of(credentials):
            self._retire(connection)
            connection = None
        if connection is None:
            connection = AccountConnection(credentials, self.settings)
            self._connections[key] = connection
        return SdkTwilioGateway(
            connection,
            self.limiter_for(credentials.account_sid),
            self.settings,
            self._retrier,
            self.counter,
            priority,
        )

    def limiter_for(self, account_sid: str) -> AccountSlots:
        """The slots of `account_sid` (its limit: `.limit`, `.in_flight`, `.waiting`)."""
        limiter = self._limiters.get(account_sid)
        if limiter is None:
            limiter = AccountSlots(self.settings.concurrency_policy(), name=account_sid)
            self._limiters[account_sid] = limiter
        return limiter

    def slot_counts(self) -> SlotCounts:
        """Every account's slots, summed (for /metrics; one account: its own figures)."""
        return sum((s.counts() for s in self._limiters.values()), SlotCounts())

    def _retire(self, connection: AccountConnection) -> None:
        """Close `connection` after `retire_after` seconds (at `close()` without a running loop)."""
        self._retired.add(connection)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(self.retire_after, self._close_retired, connection)

    def _close_retired(self, connection: AccountConnection) -> None:
        if connection in self._retired:
            self._retired.discard(connection)
            task = asyncio.get_running_loop().create_task(connection.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        connections = [*self._connections.values(), *self._retired]
        self._connections.clear()
        self._retired.clear()
        for connection in connections:
            await connection.close()
        if self._closing:
            await asyncio.gather(*self._closing)
