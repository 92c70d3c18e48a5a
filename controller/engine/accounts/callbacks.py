"""`statusCallbacks: Register`: the operator's StatusCallback on the account's approved bundles
that have none, so that Twilio tells the operator at once when a regulation change sets a
bundle's valid_until (the seed guide's advice: a callback on every bundle).

The write is original_callback's (StatusCallback alone, never over a URL someone set), after a
fresh read of the bundle: the list it was picked from may be an hour old, and the customer may
have set a URL since. Registrations on one account go one at a time (a lock per account), so
two ComplianceAccounts of one account write each bundle once: the second reads the first's URL.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from controller.adapters.twilio_gateway.port import BundleQuery, TwilioAccountReader
from controller.core.plan.markers import copy_owner
from controller.core.twilio_models import Bundle
from controller.engine.original_callback import register_on_original

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]
APPROVED_PAGE_SIZE = 1000


class AccountGateway(TwilioAccountReader, Protocol):
    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle: ...


@dataclass(frozen=True)
class Registration:
    calling_us: list[str]
    """Approved originals whose StatusCallback is the operator's URL (now)."""
    registered: int
    """Of those, the ones given it by this pass."""


async def approved_originals(reader: TwilioAccountReader) -> list[Bundle]:
    """The account's twilio-approved bundles, renewal copies aside (1,000 a page)."""
    query = BundleQuery(status="twilio-approved", page_size=APPROVED_PAGE_SIZE)
    return [b for b in await reader.list_bundles(query) if copy_owner(b.friendly_name) is None]


async def register(
    gateway: AccountGateway,
    bundles: list[Bundle],
    url: str,
    lock: asyncio.Lock,
    logger: AnyLogger,
) -> Registration:
    """Give `url` to each of `bundles` without a StatusCallback; never replace another URL."""
    calling_us = [b.sid for b in bundles if b.status_callback == url]
    registered = 0
    for bundle in bundles:
        if bundle.status_callback:
            continue  # ours already, or the customer's: left alone
        async with lock:
            fresh = await gateway.fetch_bundle(bundle.sid)
            if fresh.status_callback == url:
                calling_us.append(fresh.sid)  # another ComplianceAccount of the account did it
            elif await register_on_original(gateway, fresh, url, logger):
                calling_us.append(fresh.sid)
                registered += 1
    return Registration(calling_us, registered)
