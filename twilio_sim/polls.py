"""Polls: the reads a client makes to learn Twilio's decision on a bundle it submitted.

A submission starts a wait; every successful read that shows the bundle (fetching it, or listing
its original's Copies) counts as one poll of that account, up to and including the first read
that shows the decision. Fetches and lists also serve other purposes, so the route counts in
``/_sim/stats`` cannot tell polls apart; a benchmark comparing a webhook-driven client with a
polling one needs exactly this figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from twilio_sim.render import RC
from twilio_sim.store import Account, Bundle, Store

FETCH_ROUTE = f"{RC}/Bundles/{{Sid}}"
COPIES_ROUTE = f"{RC}/Bundles/{{BundleSid}}/Copies"
UNDER_REVIEW = frozenset({"pending-review", "in-review"})


class PollCounter:
    """Counts polls per account (``counts``) from the store's status changes and the reads."""

    def __init__(self, store: Store) -> None:
        self.counts: Counter[str] = Counter()
        self._awaiting: set[str] = set()  # submitted bundles whose decision nobody read yet
        store.listeners.append(self._on_change)

    def _on_change(self, bundle: Bundle, status_changed: bool, vu_changed: bool) -> None:
        if status_changed and bundle.status == "pending-review":
            self._awaiting.add(bundle.sid)

    def read(self, account: Account, method: str, route: str, match: Mapping[str, str]) -> None:
        """A successful request of ``account`` was answered: count it if it was a poll."""
        if method != "GET" or not self._awaiting:
            return
        if route == FETCH_ROUTE:
            shown = [match.get("Sid", "")]
        elif route == COPIES_ROUTE:
            original = match.get("BundleSid")
            shown = [sid for sid, b in account.bundles.items() if b.copy_of == original]
        else:
            return
        watched = [sid for sid in shown if sid in self._awaiting and sid in account.bundles]
        if not watched:
            return
        self.counts[account.sid] += 1
        for sid in watched:
            bundle = account.bundles.get(sid)
            if bundle is None or bundle.status not in UNDER_REVIEW:
                self._awaiting.discard(sid)  # the decision was read: the wait is over

    def clear(self) -> None:
        self.counts.clear()
        self._awaiting.clear()
