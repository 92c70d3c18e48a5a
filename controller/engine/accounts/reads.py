"""What a ComplianceAccount reads: a whole scan, or a re-check of the bundles a callback named.

- Twilio: the Bundles list filtered on a deadline (`deadline_query`, the scanner the CLI uses
  too), plus its pages, and each named regulation once, for its country and number type; never a
  fetch per bundle.
- Kubernetes: the BundleRenewals of the watched namespaces (one list), and the credentials
  Secret of each renewal that names a dated bundle (once per Secret), for the account it is of.
- A re-check (a status callback about some bundles): a fetch of each of them instead of the
  list, and the same Kubernetes reads.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from controller.adapters.cluster import ClusterAccessError, ObjectNotFound
from controller.adapters.twilio_gateway.port import TwilioAccountReader, TwilioNotFoundError
from controller.core.twilio_models import Bundle, Regulation
from controller.engine.accounts.coverage import Coverage, RenewalRef, coverage, dated_originals
from controller.engine.accounts.scan import deadline_query, fetch_regulations
from controller.engine.credentials import CredentialsError, credentials_from_secret_data

_GLOB = frozenset("*?[")
#: Twilio's largest page: 10,000 bundles with 500 deadlines are one request.
DEADLINE_PAGE_SIZE = 1000


class RenewalSource(Protocol):
    async def list_renewals(self, namespace: str | None) -> list[dict[str, Any]]: ...

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]: ...


async def list_watched_renewals(
    source: RenewalSource, namespaces: Sequence[str]
) -> list[dict[str, Any]]:
    """The BundleRenewals this operator watches: of every namespace (none named), of each named
    one, or of those matching a glob (Kopf's namespace patterns)."""
    if not namespaces:
        return await source.list_renewals(None)
    if any(_GLOB & set(ns) for ns in namespaces):
        items = await source.list_renewals(None)
        return [
            i
            for i in items
            if any(fnmatch.fnmatchcase(_meta(i).get("namespace", ""), ns) for ns in namespaces)
        ]
    lists = await asyncio.gather(*(source.list_renewals(ns) for ns in namespaces))
    return [item for items in lists for item in items]


def _meta(item: dict[str, Any]) -> dict[str, Any]:
    meta = item.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(item: dict[str, Any]) -> dict[str, Any]:
    spec = item.get("spec")
    return spec if isinstance(spec, dict) else {}


async def renewal_refs(
    source: RenewalSource, items: list[dict[str, Any]], bundle_sids: set[str]
) -> list[RenewalRef]:
    """The renewals naming one of `bundle_sids`, each with the account of its credentials."""
    naming = [i for i in items if _spec(i).get("bundleSid") in bundle_sids]
    accounts: dict[tuple[str, str], str | None] = {}

    async def account_of(namespace: str, secret: str) -> str | None:
        key = (namespace, secret)
        if key not in accounts:
            try:
                data = await source.read_secret(namespace, secret)
                accounts[key] = credentials_from_secret_data(secret, data).account_sid
            except (ObjectNotFound, CredentialsError, ClusterAccessError):
                accounts[key] = None  # covers nothing: its account cannot be told
        return accounts[key]

    refs = []
    for item in naming:
        meta, spec = _meta(item), _spec(item)
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        secret = (spec.get("credentialsSecretRef") or {}).get("name")
        account = await account_of(namespace, secret) if isinstance(secret, str) else None
        refs.append(RenewalRef(namespace, name, str(spec["bundleSid"]), account))
    return refs


@dataclass(frozen=True)
class Findings:
    """What a scan read: the dated originals, their regulations, and the coverage."""

    dated: list[Bundle]
    regulations: dict[str, Regulation]
    coverage: Coverage


async def scan_account(
    reader: TwilioAccountReader,
    source: RenewalSource,
    namespaces: Sequence[str],
    account_sid: str,
) -> Findings:
    """Every dated bundle of the account, with the BundleRenewals covering it."""
    dated = dated_originals(await reader.list_bundles(deadline_query(page_size=DEADLINE_PAGE_SIZE)))
    regulations = await fetch_regulations(
        reader, {b.regulation_sid for b in dated}, include_constraints=False
    )
    return await _covered(source, namespaces, account_sid, dated, regulations)


async def recheck(
    reader: TwilioAccountReader,
    source: RenewalSource,
    namespaces: Sequence[str],
    account_sid: str,
    last: Findings,
    sids: set[str],
) -> Findings:
    """The last findings with these bundles read again (a callback said they changed): one
    fetch each instead of the whole list; a bundle gone from Twilio is gone from the list."""
    dated = {b.sid: b for b in last.dated}
    for sid in sorted(sids):
        try:
            bundle = await reader.fetch_bundle(sid)
        except TwilioNotFoundError:
            dated.pop(sid, None)
            continue
        if bundle.valid_until is None:
            dated.pop(sid, None)
        else:
            dated[sid] = bundle
    kept = dated_originals(dated.values())
    regulations = dict(last.regulations)
    regulations.update(
        await fetch_regulations(
            reader,
            {b.regulation_sid for b in kept if (b.regulation_sid or "") not in regulations},
            include_constraints=False,
        )
    )
    return await _covered(source, namespaces, account_sid, kept, regulations)


async def _covered(
    source: RenewalSource,
    namespaces: Sequence[str],
    account_sid: str,
    dated: list[Bundle],
    regulations: dict[str, Regulation],
) -> Findings:
    items = await list_watched_renewals(source, namespaces)
    refs = await renewal_refs(source, items, {b.sid for b in dated})
    return Findings(dated, regulations, coverage(dated, regulations, refs, account_sid))
