"""A per-process cache of what regulations accept, so a fleet does not re-read them per resource.

Regulations change rarely (Twilio publishes a change, then sets valid_until on the bundles it
affects), yet every renewal about to copy its bundle, and every dry run, checks its spec against
one. Each check needs three reads (the regulation with IncludeConstraints, EndUserTypes,
SupportingDocumentTypes); a thousand resources under one regulation would make three thousand.
Here they are read once per account and regulation SID and kept for a TTL (an hour by default,
REGULATION_CACHE_SECONDS), and concurrent misses of one key share a single read.

The cache sits outside the pure workflow: the gatherer (observe.py) asks it for the REGULATION
part. A stale answer could only make the preflight refuse a field Twilio added since; so before
refusing, the workflow asks for REGULATION_REFRESHED, which reads past the cache (and refreshes
it). A failed read is not cached (the next reconcile tries again); a 404 is (Twilio's answer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from controller.adapters.twilio_gateway.port import TwilioNotFoundError
from controller.core.plan import RegulationTerms, regulation_terms
from controller.core.twilio_models import ItemType, Regulation

DEFAULT_TTL_SECONDS = 3600.0

_Key = tuple[str, str]


@runtime_checkable
class RegulationReader(Protocol):
    """A gateway that can read regulations and item types (the SDK gateway can; a gateway that
    cannot leaves the REGULATION part empty, and the preflight checks nothing)."""

    async def fetch_regulation(self, sid: str, include_constraints: bool = True) -> Regulation: ...

    async def list_end_user_types(self) -> list[ItemType]: ...

    async def list_supporting_document_types(self) -> list[ItemType]: ...


@dataclass(frozen=True)
class _Entry:
    expires: float
    terms: RegulationTerms | None


@dataclass
class RegulationCache:
    """RegulationTerms by (account SID, regulation SID), each kept `ttl_seconds`. One per
    process, shared by every reconcile (pass the same object in each Dependencies)."""

    ttl_seconds: float = DEFAULT_TTL_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    reads: int = 0
    """Regulations read from Twilio (each read is three requests): for tests and logs."""
    _entries: dict[_Key, _Entry] = field(default_factory=dict)
    _pending: dict[_Key, asyncio.Future[RegulationTerms | None]] = field(default_factory=dict)

    def for_account(self, reader: object, account_sid: str) -> AccountRegulations | None:
        """This cache seen through one account's gateway; None if it cannot read regulations."""
        if not isinstance(reader, RegulationReader):
            return None
        return AccountRegulations(self, reader, account_sid)

    async def terms(
        self,
        reader: RegulationReader,
        account_sid: str,
        regulation_sid: str,
        *,
        refresh: bool = False,
    ) -> RegulationTerms | None:
        """What the regulation accepts (None: Twilio does not know it), from the cache unless it
        expired or `refresh`; a read already under way for the same key is shared."""
        key = (account_sid, regulation_sid)
        entry = self._entries.get(key)
        if not refresh and entry is not None and entry.expires > self.monotonic():
            return entry.terms
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RegulationTerms | None] = asyncio.ensure_future(
            self._read(reader, regulation_sid)
        )
        self._pending[key] = future
        try:
            terms = await asyncio.shield(future)
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]
        self._entries[key] = _Entry(self.monotonic() + self.ttl_seconds, terms)
        return terms

    async def _read(self, reader: RegulationReader, regulation_sid: str) -> RegulationTerms | None:
        self.reads += 1
        read_at = self.clock()
        try:
            regulation, end_user_types, document_types = await asyncio.gather(
                reader.fetch_regulation(regulation_sid, include_constraints=True),
                reader.list_end_user_types(),
                reader.list_supporting_document_types(),
            )
        except TwilioNotFoundError:
            return None
        return regulation_terms(regulation, end_user_types, document_types, read_at)

    def forget(self) -> None:
        """Drop every entry (the next read of each regulation goes to Twilio)."""
        self._entries.clear()


@dataclass(frozen=True)
class AccountRegulations:
    """The cache bound to one account's gateway: what the gatherer is handed."""

    cache: RegulationCache
    reader: RegulationReader
    account_sid: str

    async def terms(self, regulation_sid: str, *, refresh: bool = False) -> RegulationTerms | None:
        return await self.cache.terms(
            self.reader, self.account_sid, regulation_sid, refresh=refresh
        )
