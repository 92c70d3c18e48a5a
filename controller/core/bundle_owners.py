"""Which BundleRenewal owns a bundle SID, for routing Twilio's status callbacks.

An in-memory index kept by the reconcile daemons: each one records its resource's original
(spec.bundleSid) and, while a renewal is in flight, its copy (status.copySid), every time it
reconciles or writes its status, and drops them when the resource goes. The webhook looks a
callback's bundle SID up here to learn whose credentials verify it and whose daemon to wake.
Several resources may name the same bundle (a mistake, or someone else's account): every owner
is returned, and the webhook only wakes those whose account's token verifies the signature.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class BundleOwner:
    """A BundleRenewal, by uid, and the Secret holding its account's credentials."""

    uid: str
    namespace: str
    name: str
    secret_name: str


class BundleOwners:
    """bundle SID -> owners; one set of SIDs per owner uid, replaced whole on each `track`."""

    def __init__(self) -> None:
        self._owners: dict[str, BundleOwner] = {}
        self._sids: dict[str, frozenset[str]] = {}
        self._by_sid: dict[str, set[str]] = {}

    def track(self, owner: BundleOwner, sids: Iterable[str | None]) -> None:
        """`owner` now owns exactly `sids` (None entries ignored)."""
        wanted = frozenset(sid for sid in sids if sid)
        self._drop_sids(owner.uid, self._sids.get(owner.uid, frozenset()) - wanted)
        self._owners[owner.uid] = owner
        self._sids[owner.uid] = wanted
        for sid in wanted:
            self._by_sid.setdefault(sid, set()).add(owner.uid)

    def forget(self, uid: str) -> None:
        self._drop_sids(uid, self._sids.pop(uid, frozenset()))
        self._owners.pop(uid, None)

    def owners_of(self, bundle_sid: str) -> list[BundleOwner]:
        """Every resource owning `bundle_sid`, in a stable order (by uid)."""
        return [self._owners[uid] for uid in sorted(self._by_sid.get(bundle_sid, ()))]

    def sids_of(self, uid: str) -> frozenset[str]:
        return self._sids.get(uid, frozenset())

    def _drop_sids(self, uid: str, sids: Iterable[str]) -> None:
        for sid in sids:
            uids = self._by_sid.get(sid)
            if uids is None:
                continue
            uids.discard(uid)
            if not uids:
                del self._by_sid[sid]
