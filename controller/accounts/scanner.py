"""One ComplianceAccount scan: what it reads, and nothing more.

- Twilio: the Bundles list filtered on a deadline (`deadline_query`, the scanner the CLI uses
  too), plus its pages, and each named regulation once, for its country and number type; never a
  fetch per bundle.
- Kubernetes: the BundleRenewals of the watched namespaces (one list), and the credentials
  Secret of each renewal that names a dated bundle (once per Secret), for the account it is of.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Sequence
from typing import Any, Protocol

from controller.accounts.coverage import Coverage, RenewalRef, coverage, dated_originals
from controller.accounts.scan import deadline_query, fetch_regulations
from controller.cluster import ClusterAccessError, ObjectNotFound
from controller.credentials import CredentialsError, credentials_from_secret_data
from controller.twilio_gateway.port import TwilioAccountReader

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


async def scan_account(
    reader: TwilioAccountReader,
    source: RenewalSource,
    namespaces: Sequence[str],
    account_sid: str,
) -> Coverage:
    """Every dated bundle of the account, with the BundleRenewals covering it."""
    dated = dated_originals(await reader.list_bundles(deadline_query(page_size=DEADLINE_PAGE_SIZE)))
    regulations = await fetch_regulations(
        reader, {b.regulation_sid for b in dated}, include_constraints=False
    )
    items = await list_watched_renewals(source, namespaces)
    refs = await renewal_refs(source, items, {b.sid for b in dated})
    return coverage(dated, regulations, refs, account_sid)
