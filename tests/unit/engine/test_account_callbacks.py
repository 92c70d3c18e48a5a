"""`statusCallbacks: Register` on a fake account: the operator's URL goes only on approved
bundles that have none, after a fresh read; never over another URL; once per bundle even for
two ComplianceAccounts of one account."""

from __future__ import annotations

import asyncio
import logging

from controller.adapters.twilio_gateway.port import BundleQuery, PageProgress
from controller.core.twilio_models import Bundle, BundleStatus
from controller.engine.accounts.callbacks import register

URL = "https://renewals.example.com/twilio/bundle-status"
CUSTOMER = "https://customer.example/hook"
LOG = logging.getLogger("test")


def bundle(i: int, callback: str | None) -> Bundle:
    return Bundle(sid=f"BU{i:032x}", status=BundleStatus.TWILIO_APPROVED, status_callback=callback)


class Account:
    """Bundles by SID; records every write."""

    def __init__(self, bundles: list[Bundle]):
        self.bundles = {b.sid: b for b in bundles}
        self.writes: list[str] = []
        self.fetches = 0

    async def fetch_bundle(self, sid: str) -> Bundle:
        self.fetches += 1
        await asyncio.sleep(0)  # let another registration interleave
        return self.bundles[sid]

    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle:
        self.writes.append(sid)
        await asyncio.sleep(0)
        self.bundles[sid] = self.bundles[sid].model_copy(
            update={"status_callback": status_callback}
        )
        return self.bundles[sid]

    async def list_bundles(
        self, query: BundleQuery, on_page: PageProgress | None = None
    ) -> list[Bundle]:
        return list(self.bundles.values())


async def test_only_bundles_without_a_callback_get_ours_after_a_fresh_read() -> None:
    listed = [bundle(0, None), bundle(1, CUSTOMER), bundle(2, URL), bundle(3, None)]
    account = Account(listed)
    # The customer sets a URL on bundle 3 after the list was read.
    account.bundles[listed[3].sid] = bundle(3, CUSTOMER)
    done = await register(account, listed, URL, asyncio.Lock(), LOG)  # type: ignore[arg-type]
    assert account.writes == [listed[0].sid]
    assert sorted(done.calling_us) == sorted([listed[0].sid, listed[2].sid])
    assert done.registered == 1
    assert account.bundles[listed[1].sid].status_callback == CUSTOMER
    assert account.bundles[listed[3].sid].status_callback == CUSTOMER
    assert account.fetches == 2  # the two listed without a callback, nothing else


async def test_two_accounts_of_one_account_register_each_bundle_once() -> None:
    listed = [bundle(i, None) for i in range(5)]
    account = Account(listed)
    lock = asyncio.Lock()  # the runtime's, per account SID
    first, second = await asyncio.gather(
        register(account, listed, URL, lock, LOG),  # type: ignore[arg-type]
        register(account, listed, URL, lock, LOG),  # type: ignore[arg-type]
    )
    assert sorted(account.writes) == sorted(b.sid for b in listed)  # once each
    assert first.registered + second.registered == 5
    assert sorted(first.calling_us) == sorted(second.calling_us) == sorted(b.sid for b in listed)
