"""Twilio's review of submitted bundles, and the expiry of bundles past their valid_until.

A submitted bundle goes pending-review -> in-review -> twilio-approved | twilio-rejected on
timers set by the review config. In ``auto`` mode the decision is the bundle's evaluation plus the
configured rejection rules (a document attribute value the reviewer refuses); ``manual`` (or an
account listed in ``manual_accounts``) waits for ``POST /_sim/bundles/{sid}/review``. A rejection
sets the refused documents' status, failure_reason and errors. An approved bundle whose
valid_until passes turns twilio-rejected.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from twilio_sim import evaluation
from twilio_sim.store import Account, Bundle, Store, utcnow

EXPIRED_REASON = "The compliance information was not updated before the bundle's valid_until date."


def evaluate_bundle(store: Store, account: Account, bundle: Bundle) -> tuple[str, list[Any]]:
    users, docs = account.items_of(bundle)
    return evaluation.evaluate(store.regulations[bundle.regulation_sid], users, docs)


def auto_decision(
    store: Store, account: Account, bundle: Bundle
) -> tuple[bool, str | None, dict[str, dict[str, Any]]]:
    """(approve, failure_reason, {document sid: {failure_reason, errors}}) for a bundle."""
    if bundle.is_test:
        return False, "Test bundles are rejected automatically.", {}
    mode = store.config.review.mode
    if mode == "approve":
        return True, None, {}
    _, docs = account.items_of(bundle)
    refused: dict[str, dict[str, Any]] = {}
    for rule in store.config.review.rejection_rules:
        for doc in docs:
            if rule.document_type is not None and doc.type != rule.document_type:
                continue
            value = doc.attributes.get(rule.field)
            hit = value == rule.value if rule.value is not None else bool(value)
            if hit and doc.sid not in refused:
                refused[doc.sid] = {
                    "failure_reason": rule.failure_reason,
                    "errors": [
                        {
                            "code": rule.error_code,
                            "message": rule.failure_reason,
                            "fields": [rule.field],
                        }
                    ],
                }
    if refused:
        reasons = sorted({r["failure_reason"] for r in refused.values()})
        return False, " ".join(reasons), refused
    if mode == "reject":
        return False, "The bundle was rejected by the reviewer.", {}
    status, results = evaluate_bundle(store, account, bundle)
    if status != "compliant":
        failed = [r["requirement_friendly_name"] for r in results if not r["passed"]]
        return False, "Requirements not met: " + ", ".join(failed) + ".", {}
    return True, None, {}


def apply_decision(
    store: Store,
    account: Account,
    bundle: Bundle,
    approve: bool,
    failure_reason: str | None,
    documents: dict[str, dict[str, Any]],
) -> None:
    now = utcnow()
    _, docs = account.items_of(bundle)
    for doc in docs:
        if approve:
            doc.status, doc.failure_reason, doc.errors = "approved", None, None
        elif doc.sid in documents:
            doc.status = "rejected"
            doc.failure_reason = documents[doc.sid].get("failure_reason") or failure_reason
            doc.errors = documents[doc.sid].get("errors") or [{"code": 18001}]
        else:
            continue
        doc.date_updated = now
    store.review_decisions.append(
        {
            "bundle_sid": bundle.sid,
            "account_sid": account.sid,
            "status": "twilio-approved" if approve else "twilio-rejected",
            "at": datetime.now(UTC).isoformat(),
        }
    )
    if approve:
        store.set_bundle_state(bundle, status="twilio-approved", failure_reason=None)
    else:
        store.set_bundle_state(
            bundle,
            status="twilio-rejected",
            failure_reason=failure_reason or "The bundle was rejected by the reviewer.",
        )


class ReviewScheduler:
    """Runs the review timers and the valid_until expiry timers on the event loop."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._handles: dict[tuple[str, str], asyncio.TimerHandle] = {}
        store.listeners.append(self._on_bundle_change)

    def submit(self, account: Account, bundle: Bundle) -> None:
        bundle.review_generation += 1
        generation = bundle.review_generation
        _, docs = account.items_of(bundle)
        for doc in docs:
            doc.status, doc.failure_reason, doc.errors = "pending-review", None, None
        self.store.set_bundle_state(bundle, status="pending-review", failure_reason=None)
        self._later(
            ("review", bundle.sid),
            self.store.config.review.in_review_after_seconds,
            self._to_in_review,
            bundle.sid,
            generation,
        )

    def _current(self, sid: str, generation: int, status: str) -> tuple[Account, Bundle] | None:
        found = self.store.find_bundle(sid)
        if found is None:
            return None
        _, bundle = found
        if bundle.review_generation != generation or bundle.status != status:
            return None
        return found

    def _to_in_review(self, sid: str, generation: int) -> None:
        found = self._current(sid, generation, "pending-review")
        if found is None:
            return
        _, bundle = found
        self.store.set_bundle_state(bundle, status="in-review")
        review = self.store.config.review
        by_hand = review.mode == "manual" or bundle.account_sid in review.manual_accounts
        if not by_hand or bundle.is_test:
            self._later(
                ("review", sid),
                self.store.config.review.decision_after_seconds,
                self._decide,
                sid,
                generation,
            )

    def _decide(self, sid: str, generation: int) -> None:
        found = self._current(sid, generation, "in-review")
        if found is None:
            return
        account, bundle = found
        approve, reason, docs = auto_decision(self.store, account, bundle)
        apply_decision(self.store, account, bundle, approve, reason, docs)

    # -- valid_until expiry ----------------------------------------------------------------
    def _on_bundle_change(self, bundle: Bundle, status_changed: bool, vu_changed: bool) -> None:
        if vu_changed and bundle.valid_until is not None:
            delay = (bundle.valid_until - utcnow()).total_seconds()
            self._later(("expiry", bundle.sid), delay, self._expire, bundle.sid, bundle.valid_until)

    def _expire(self, sid: str, valid_until: datetime) -> None:
        found = self.store.find_bundle(sid)
        if found is None:
            return
        _, bundle = found
        if bundle.valid_until != valid_until or bundle.status != "twilio-approved":
            return
        self.store.set_bundle_state(bundle, status="twilio-rejected", failure_reason=EXPIRED_REASON)

    # -- timers ----------------------------------------------------------------------------
    def _later(self, key: tuple[str, str], delay: float, fn: Any, *args: Any) -> None:
        old = self._handles.pop(key, None)
        if old is not None:
            old.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (pure unit use): nothing to schedule
            return

        def run() -> None:
            self._handles.pop(key, None)
            fn(*args)

        self._handles[key] = loop.call_later(max(delay, 0.0), run)

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
