"""The simulator's in-memory state: accounts and their bundles, end-users, documents, items.

All state lives in one :class:`Store`. Handlers run on a single asyncio event loop and never await
while they read or change the store, so each API operation is atomic without locks. Accounts are
isolated: every lookup goes through the caller's :class:`Account`, so a SID of another account is
simply not found. Bundle status and valid_until changes are reported to a listener (the status
callback dispatcher and review scheduler subscribe to it).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from twilio_sim import errors, regulations, sids
from twilio_sim.config import SimConfig
from twilio_sim.errors import TwilioError

BUNDLE_STATUSES = (
    "draft",
    "pending-review",
    "in-review",
    "twilio-rejected",
    "twilio-approved",
    "provisionally-approved",
)
SUBMITTABLE = ("draft", "twilio-rejected")
EDITABLE = ("draft", "twilio-rejected")

_seq = itertools.count()


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(slots=True)
class ItemAssignment:
    sid: str
    bundle_sid: str
    account_sid: str
    object_sid: str
    date_created: datetime


@dataclass(slots=True)
class Bundle:
    sid: str
    account_sid: str
    regulation_sid: str
    friendly_name: str
    email: str
    status_callback: str | None
    date_created: datetime
    date_updated: datetime
    status: str = "draft"
    valid_until: datetime | None = None
    failure_reason: str | None = None
    is_test: bool = False
    copy_of: str | None = None
    items: dict[str, ItemAssignment] = field(default_factory=dict)
    phone_numbers: list[str] = field(default_factory=list)
    review_generation: int = 0  # bumped on every submission; stale review steps are dropped
    seq: int = field(default_factory=lambda: next(_seq))


@dataclass(slots=True)
class EndUser:
    sid: str
    account_sid: str
    friendly_name: str
    type: str
    attributes: dict[str, Any]
    date_created: datetime
    date_updated: datetime
    seq: int = field(default_factory=lambda: next(_seq))


@dataclass(slots=True)
class SupportingDocument:
    sid: str
    account_sid: str
    friendly_name: str
    type: str
    attributes: dict[str, Any]
    date_created: datetime
    date_updated: datetime
    mime_type: str | None = None
    status: str = "draft"
    failure_reason: str | None = None
    errors: list[dict[str, Any]] | None = None
    seq: int = field(default_factory=lambda: next(_seq))


@dataclass(slots=True)
class Evaluation:
    sid: str
    account_sid: str
    regulation_sid: str
    bundle_sid: str
    status: str
    results: list[dict[str, Any]]
    date_created: datetime
    seq: int = field(default_factory=lambda: next(_seq))


@dataclass(slots=True)
class ApiKey:
    sid: str
    secret: str


@dataclass(slots=True)
class Account:
    sid: str
    auth_token: str
    friendly_name: str
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    bundles: dict[str, Bundle] = field(default_factory=dict)
    end_users: dict[str, EndUser] = field(default_factory=dict)
    documents: dict[str, SupportingDocument] = field(default_factory=dict)
    evaluations: dict[str, dict[str, Evaluation]] = field(default_factory=dict)  # by bundle

    # -- lookups that answer Twilio's 404 -------------------------------------------------
    def bundle(self, sid: str, path: str) -> Bundle:
        b = self.bundles.get(sid)
        if b is None:
            raise errors.not_found(path)
        return b

    def end_user(self, sid: str, path: str) -> EndUser:
        e = self.end_users.get(sid)
        if e is None:
            raise errors.not_found(path)
        return e

    def document(self, sid: str, path: str) -> SupportingDocument:
        d = self.documents.get(sid)
        if d is None:
            raise errors.not_found(path)
        return d

    def items_of(self, bundle: Bundle) -> tuple[list[EndUser], list[SupportingDocument]]:
        """The end-users and documents a bundle's item assignments point at."""
        users, docs = [], []
        for item in bundle.items.values():
            if item.object_sid in self.end_users:
                users.append(self.end_users[item.object_sid])
            elif item.object_sid in self.documents:
                docs.append(self.documents[item.object_sid])
        return users, docs

    def is_assigned(self, object_sid: str) -> bool:
        return any(
            i.object_sid == object_sid for b in self.bundles.values() for i in b.items.values()
        )


BundleListener = Callable[["Bundle", bool, bool], None]  # (bundle, status_changed, vu_changed)


class Store:
    """Accounts, API keys, the regulation catalogue and the configuration."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.accounts: dict[str, Account] = {}
        self.api_keys: dict[str, str] = {}  # SK sid -> account sid
        self.regulations = regulations.builtin_catalogue()
        self.listeners: list[BundleListener] = []
        self._bundle_index: dict[str, str] = {}  # bundle sid -> account sid (admin lookups)
        # Every review decision with its exact time (ISO 8601, microseconds), for /_sim/state.
        self.review_decisions: list[dict[str, str]] = []

    def reset(self) -> None:
        """Forget every account and restore the built-in catalogue and the default config."""
        self.review_decisions.clear()
        self.accounts.clear()
        self.api_keys.clear()
        self._bundle_index.clear()
        self.regulations = regulations.builtin_catalogue()
        self.config = SimConfig()

    # -- accounts ------------------------------------------------------------------------
    def create_account(
        self,
        sid: str | None = None,
        auth_token: str | None = None,
        friendly_name: str = "Simulated account",
    ) -> Account:
        sid = sid or sids.new_sid(sids.ACCOUNT)
        if not sids.is_sid(sid, sids.ACCOUNT):
            raise ValueError("account_sid must be AC followed by 32 hex characters")
        if sid in self.accounts:
            raise ValueError(f"account {sid} exists already")
        account = Account(sid, auth_token or sids.new_secret(), friendly_name)
        self.accounts[sid] = account
        return account

    def add_api_key(self, account: Account) -> ApiKey:
        key = ApiKey(sids.new_sid(sids.API_KEY), sids.new_secret())
        account.api_keys[key.sid] = key
        self.api_keys[key.sid] = account.sid
        return key

    def authenticate(self, username: str, password: str) -> Account | None:
        account = self.accounts.get(username)
        if account is not None:
            return account if account.auth_token == password else None
        owner = self.api_keys.get(username)
        if owner is None:
            return None
        account = self.accounts[owner]
        key = account.api_keys.get(username)
        return account if key is not None and key.secret == password else None

    def find_bundle(self, sid: str) -> tuple[Account, Bundle] | None:
        owner = self._bundle_index.get(sid)
        if owner is None or owner not in self.accounts:
            return None
        account = self.accounts[owner]
        bundle = account.bundles.get(sid)
        return (account, bundle) if bundle is not None else None

    # -- bundles -------------------------------------------------------------------------
    def add_bundle(self, account: Account, bundle: Bundle) -> Bundle:
        account.bundles[bundle.sid] = bundle
        self._bundle_index[bundle.sid] = account.sid
        return bundle

    def new_bundle(
        self,
        account: Account,
        regulation_sid: str,
        friendly_name: str,
        email: str,
        status_callback: str | None,
        is_test: bool = False,
        copy_of: str | None = None,
    ) -> Bundle:
        now = utcnow()
        bundle = Bundle(
            sid=sids.new_sid(sids.BUNDLE),
            account_sid=account.sid,
            regulation_sid=regulation_sid,
            friendly_name=friendly_name,
            email=email,
            status_callback=status_callback,
            date_created=now,
            date_updated=now,
            is_test=is_test,
            copy_of=copy_of,
        )
        return self.add_bundle(account, bundle)

    def set_bundle_state(
        self,
        bundle: Bundle,
        *,
        status: str | None = None,
        valid_until: datetime | bool | None = False,
        failure_reason: str | bool | None = False,
    ) -> None:
        """Change status / valid_until (False: leave as is) and tell the listeners."""
        status_changed = status is not None and status != bundle.status
        vu_changed = valid_until is not False and valid_until != bundle.valid_until
        if status is not None:
            bundle.status = status
        if valid_until is not False:
            bundle.valid_until = valid_until  # type: ignore[assignment]
        if failure_reason is not False:
            bundle.failure_reason = failure_reason  # type: ignore[assignment]
        if status_changed or vu_changed:
            bundle.date_updated = utcnow()
            for listener in self.listeners:
                listener(bundle, status_changed, vu_changed)

    def add_item(self, account: Account, bundle: Bundle, object_sid: str) -> ItemAssignment:
        item = ItemAssignment(
            sids.new_sid(sids.ITEM_ASSIGNMENT), bundle.sid, account.sid, object_sid, utcnow()
        )
        bundle.items[item.sid] = item
        return item

    def copy_bundle(self, account: Account, original: Bundle, friendly_name: str) -> Bundle:
        """A draft copy with new instances of the original's end-users and documents."""
        dup = self.new_bundle(
            account,
            original.regulation_sid,
            friendly_name,
            original.email,
            original.status_callback,
            is_test=original.is_test,
            copy_of=original.sid,
        )
        users, docs = account.items_of(original)
        now = utcnow()
        for u in users:
            nu = EndUser(
                sids.new_sid(sids.END_USER),
                account.sid,
                u.friendly_name,
                u.type,
                _clone(u.attributes),
                now,
                now,
            )
            account.end_users[nu.sid] = nu
            self.add_item(account, dup, nu.sid)
        for d in docs:
            nd = SupportingDocument(
                sids.new_sid(sids.SUPPORTING_DOCUMENT),
                account.sid,
                d.friendly_name,
                d.type,
                _clone(d.attributes),
                now,
                now,
                mime_type=d.mime_type,
            )
            account.documents[nd.sid] = nd
            self.add_item(account, dup, nd.sid)
        return dup

    def delete_bundle(self, account: Account, bundle: Bundle) -> None:
        if bundle.phone_numbers:
            raise TwilioError(
                400,
                errors.BUNDLE_HAS_PHONE_NUMBERS,
                f"Bundle {bundle.sid} cannot be deleted: phone numbers are assigned to it",
            )
        if bundle.status in ("pending-review", "in-review"):
            raise TwilioError(
                400,
                errors.ILLEGAL_STATUS_TRANSITION,
                f"Bundle {bundle.sid} cannot be deleted while it is {bundle.status}",
            )
        del account.bundles[bundle.sid]
        self._bundle_index.pop(bundle.sid, None)
        account.evaluations.pop(bundle.sid, None)

    def valid_until_default(self) -> datetime:
        return utcnow() + timedelta(days=self.config.valid_until_days)


def _clone(attributes: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(attributes)
