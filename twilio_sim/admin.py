"""The simulator's own admin API under ``/_sim/`` (JSON in and out, no authentication).

Tests, benchmarks and rehearsals drive the simulator through it: create accounts and API keys,
seed approved bundles with phone numbers, publish regulation changes, decide reviews by hand,
set the configuration, and read request statistics and a dump of the state. Every route is
documented in docs/simulator/admin-api.md.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from twilio_sim import regulations, render, sids
from twilio_sim.api import date_time
from twilio_sim.callbacks import CallbackDispatcher
from twilio_sim.errors import TwilioError
from twilio_sim.polls import PollCounter
from twilio_sim.review import ReviewScheduler, apply_decision, evaluate_bundle
from twilio_sim.store import Account, EndUser, Store, SupportingDocument, utcnow

StatsKey = tuple[str | None, str, str, int]  # account, method, route, status
WritesKey = tuple[str, str | None, str, str, int]  # SID in the path, account, method, route, status
#: The status recorded for a request whose connection was dropped (the drop fault): no answer.
DROPPED = 0


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, default=str).encode(), status=status, content_type="application/json"
    )


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise AdminError(400, "body must be a JSON object") from None
    if not isinstance(body, dict):
        raise AdminError(400, "body must be a JSON object")
    return body


def _str(body: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise AdminError(400, f"{key} must be a string")
    return value


def _dt(value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise AdminError(400, f"{key} must be an ISO 8601 date-time string")
    try:
        return date_time(value, key)
    except TwilioError:
        raise AdminError(400, f"{key} must be an ISO 8601 date-time string") from None


_SAMPLE_VALUES: dict[str, Any] = {
    "business_name": "Exemple Telecom SAS",
    "business_registration_number": "RCS Paris 123 456 789",
    "business_registration_authority": "Registre du commerce et des sociétés",
    "first_name": "Camille",
    "last_name": "Martin",
    "document_number": "KBIS-2024-000123",
    "issue_date": "2024-01-15",
    "date_of_birth": "1980-05-17",
}


def _sample(machine_name: str) -> Any:
    if machine_name == "address_sids":
        return [sids.new_sid(sids.ADDRESS)]
    return _SAMPLE_VALUES.get(machine_name, f"Sample {machine_name.replace('_', ' ')}")


class AdminApi:
    """The ``/_sim/`` routes."""

    def __init__(
        self,
        store: Store,
        scheduler: ReviewScheduler,
        callbacks: CallbackDispatcher,
        stats: Counter[StatsKey],
        writes: Counter[WritesKey],
        preload: list[tuple[str, str]],
        polls: PollCounter,
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.callbacks = callbacks
        self.stats = stats
        self.writes = writes
        self.preload = preload
        self.polls = polls

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sim/health", self.health),
            web.post("/_sim/accounts", self.create_account),
            web.get("/_sim/accounts", self.list_accounts),
            web.post("/_sim/accounts/{sid}/keys", self.create_key),
            web.post("/_sim/fixtures/approved-bundle", self.seed_approved_bundle),
            web.post("/_sim/regulations/{sid}/change", self.change_regulation),
            web.post("/_sim/bundles/{sid}/review", self.review_bundle),
            web.get("/_sim/config", self.get_config),
            web.put("/_sim/config", self.put_config),
            web.get("/_sim/stats", self.get_stats),
            web.get("/_sim/writes", self.get_writes),
            web.get("/_sim/state", self.get_state),
            web.get("/_sim/callbacks", self.get_callbacks),
            web.post("/_sim/reset", self.reset),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except AdminError as exc:
            return _json({"error": exc.message}, exc.status)
        return response

    def _account(self, body: dict[str, Any]) -> Account:
        sid = _str(body, "account_sid")
        if sid is None:
            raise AdminError(400, "account_sid is required")
        account = self.store.accounts.get(sid)
        if account is None:
            raise AdminError(404, f"account {sid} not found")
        return account

    async def health(self, request: web.Request) -> web.Response:
        return _json({"ok": True})

    # -- accounts ----------------------------------------------------------------------------
    async def create_account(self, request: web.Request) -> web.Response:
        body = await _body(request)
        api_keys = body.get("api_keys", 1)
        if not isinstance(api_keys, int) or not 0 <= api_keys <= 100:
            raise AdminError(400, "api_keys must be an integer from 0 to 100")
        try:
            account = self.store.create_account(
                _str(body, "account_sid"),
                _str(body, "auth_token"),
                _str(body, "friendly_name") or "Simulated account",
            )
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
        keys = [self.store.add_api_key(account) for _ in range(api_keys)]
        return _json(
            {
                "account_sid": account.sid,
                "auth_token": account.auth_token,
                "friendly_name": account.friendly_name,
                "api_keys": [{"sid": k.sid, "secret": k.secret} for k in keys],
            },
            201,
        )

    async def list_accounts(self, request: web.Request) -> web.Response:
        return _json(
            {
                "accounts": [
                    {"account_sid": a.sid, "friendly_name": a.friendly_name}
                    for a in self.store.accounts.values()
                ]
            }
        )

    async def create_key(self, request: web.Request) -> web.Response:
        account = self.store.accounts.get(request.match_info["sid"])
        if account is None:
            raise AdminError(404, "account not found")
        key = self.store.add_api_key(account)
        return _json({"sid": key.sid, "secret": key.secret, "account_sid": account.sid}, 201)

    # -- fixtures ----------------------------------------------------------------------------
    async def seed_approved_bundle(self, request: web.Request) -> web.Response:
        body = await _body(request)
        account = self._account(body)
        reg_sid = _str(body, "regulation_sid") or regulations.FRANCE_MOBILE_BUSINESS_SID
        reg = self.store.regulations.get(reg_sid)
        if reg is None:
            raise AdminError(404, f"regulation {reg_sid} not found")
        count = body.get("phone_numbers", 1)
        if not isinstance(count, int) or not 0 <= count <= 1000:
            raise AdminError(400, "phone_numbers must be an integer from 0 to 1000")
        eu_over = body.get("end_user_attributes") or {}
        doc_over = body.get("document_attributes") or {}
        if not isinstance(eu_over, dict) or not isinstance(doc_over, dict):
            raise AdminError(400, "end_user_attributes / document_attributes must be objects")
        callback = _str(body, "status_callback")
        valid_until = _dt(body.get("valid_until"), "valid_until")
        now = utcnow()
        eu_attrs = {f.machine_name: _sample(f.machine_name) for f in reg.end_user.fields}
        eu_attrs.update(eu_over)
        user = EndUser(
            sids.new_sid(sids.END_USER),
            account.sid,
            _str(body, "end_user_friendly_name") or "Business end-user",
            reg.end_user.type,
            eu_attrs,
            now,
            now,
        )
        account.end_users[user.sid] = user
        doc_fields: dict[str, dict[str, Any]] = {}
        for req in reg.documents:
            attrs = doc_fields.setdefault(req.accepted_types[0], {})
            for f in req.fields:
                if f.machine_name not in attrs:
                    attrs[f.machine_name] = eu_attrs.get(f.machine_name) or _sample(f.machine_name)
        bundle = self.store.new_bundle(
            account,
            reg.sid,
            _str(body, "friendly_name") or f"{reg.friendly_name} bundle",
            _str(body, "email") or "compliance@example.com",
            callback,
        )
        documents: dict[str, str] = {}
        item_sids = [self.store.add_item(account, bundle, user.sid).sid]
        for type_, attrs in doc_fields.items():
            attrs.update(doc_over.get(type_) or {})
            doc = SupportingDocument(
                sids.new_sid(sids.SUPPORTING_DOCUMENT),
                account.sid,
                regulations.DOCUMENT_TYPE_NAMES.get(type_, type_),
                type_,
                attrs,
                now,
                now,
                mime_type="application/pdf",
                status="approved",
            )
            account.documents[doc.sid] = doc
            documents[type_] = doc.sid
            item_sids.append(self.store.add_item(account, bundle, doc.sid).sid)
        bundle.status = "twilio-approved"
        bundle.phone_numbers = [sids.new_sid("PN") for _ in range(count)]
        if valid_until is not None:
            self.store.set_bundle_state(bundle, valid_until=valid_until)
        return _json(
            {
                "account_sid": account.sid,
                "bundle_sid": bundle.sid,
                "regulation_sid": reg.sid,
                "end_user_sid": user.sid,
                "supporting_document_sids": list(documents.values()),
                "documents_by_type": documents,
                "item_assignment_sids": item_sids,
                "phone_number_sids": bundle.phone_numbers,
                "status": bundle.status,
                "valid_until": render.iso(bundle.valid_until),
            },
            201,
        )

    # -- regulation changes, manual review ---------------------------------------------------
    async def change_regulation(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        old = self.store.regulations.get(sid)
        if old is None:
            raise AdminError(404, f"regulation {sid} not found")
        body = await _body(request)
        valid_until = _dt(body.get("valid_until"), "valid_until")
        try:
            new = regulations.apply_change(old, body)
        except (ValueError, TypeError, AttributeError) as exc:
            raise AdminError(400, f"invalid change: {exc}") from None
        self.store.regulations[sid] = new
        valid_until = valid_until or self.store.valid_until_default()
        affected = []
        for account in list(self.store.accounts.values()):
            for bundle in list(account.bundles.values()):
                if bundle.regulation_sid != sid or bundle.status != "twilio-approved":
                    continue
                verdict, _ = evaluate_bundle(self.store, account, bundle)
                if verdict == "compliant":
                    continue
                self.store.set_bundle_state(bundle, valid_until=valid_until)
                affected.append(bundle.sid)
        return _json(
            {
                "regulation_sid": sid,
                "version": new.version,
                "valid_until": render.iso(valid_until),
                "affected_bundle_sids": affected,
                "regulation": render.regulation(new, f"{request.scheme}://{request.host}", True),
            }
        )

    async def review_bundle(self, request: web.Request) -> web.Response:
        found = self.store.find_bundle(request.match_info["sid"])
        if found is None:
            raise AdminError(404, "bundle not found")
        account, bundle = found
        body = await _body(request)
        decision = body.get("decision")
        if decision not in ("approve", "reject"):
            raise AdminError(400, "decision must be approve or reject")
        if bundle.status not in ("pending-review", "in-review"):
            raise AdminError(409, f"bundle is {bundle.status}, not under review")
        documents = body.get("documents") or {}
        if not isinstance(documents, dict) or not all(
            isinstance(v, dict) for v in documents.values()
        ):
            raise AdminError(400, "documents must map RD sids to {failure_reason, errors}")
        bundle.review_generation += 1  # cancels the scheduled automatic steps
        apply_decision(
            self.store,
            account,
            bundle,
            decision == "approve",
            _str(body, "failure_reason"),
            documents,
        )
        return _json(render.bundle(bundle, f"{request.scheme}://{request.host}"))

    # -- config, stats, state, reset ---------------------------------------------------------
    async def get_config(self, request: web.Request) -> web.Response:
        return _json(self.store.config.model_dump())

    async def put_config(self, request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            self.store.config = self.store.config.merged(body)
        except ValidationError as exc:
            raise AdminError(400, exc.json()) from None
        return _json(self.store.config.model_dump())

    async def get_stats(self, request: web.Request) -> web.Response:
        rows = [
            {"account_sid": a, "method": m, "route": r, "status": s, "count": n}
            for (a, m, r, s), n in sorted(self.stats.items(), key=lambda kv: str(kv[0]))
        ]
        by_route: Counter[str] = Counter()
        for (_, m, r, _), n in self.stats.items():
            by_route[f"{m} {r}"] += n
        return _json(
            {
                "total": sum(self.stats.values()),
                "by_route": dict(by_route),
                "requests": rows,
                "review_polls": dict(self.polls.counts),
            }
        )

    async def get_writes(self, request: web.Request) -> web.Response:
        """Every write (non-GET Twilio request) by a SID in its path: what was done to one
        object, e.g. that an original bundle saw nothing but ReplaceItems. ``?sid=`` filters."""
        only = request.query.get("sid")
        rows = [
            {"sid": sid, "account_sid": a, "method": m, "route": r, "status": st, "count": n}
            for (sid, a, m, r, st), n in sorted(self.writes.items(), key=lambda kv: str(kv[0]))
            if only is None or sid == only
        ]
        return _json({"writes": rows})

    async def get_state(self, request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        accounts = []
        for a in self.store.accounts.values():
            bundles = []
            for b in a.bundles.values():
                entry = render.bundle(b, base)
                entry.update(
                    failure_reason=b.failure_reason,
                    copy_of=b.copy_of,
                    is_test=b.is_test,
                    phone_number_sids=b.phone_numbers,
                    item_object_sids=[i.object_sid for i in b.items.values()],
                )
                bundles.append(entry)
            accounts.append(
                {
                    "account_sid": a.sid,
                    "friendly_name": a.friendly_name,
                    "api_key_sids": list(a.api_keys),
                    "bundles": bundles,
                    "end_users": [render.end_user(u, base) for u in a.end_users.values()],
                    "supporting_documents": [
                        render.supporting_document(d, base) for d in a.documents.values()
                    ],
                    "evaluation_count": sum(len(v) for v in a.evaluations.values()),
                }
            )
        return _json(
            {
                "accounts": accounts,
                "regulations": [
                    {"sid": r.sid, "friendly_name": r.friendly_name, "version": r.version}
                    for r in self.store.regulations.values()
                ],
                "config": self.store.config.model_dump(),
                "callbacks": list(self.callbacks.deliveries),
                "review_decisions": list(self.store.review_decisions),
            }
        )

    async def get_callbacks(self, request: web.Request) -> web.Response:
        return _json(
            {"pending": self.callbacks.pending, "deliveries": list(self.callbacks.deliveries)}
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.scheduler.cancel_all()
        self.store.reset()
        self.stats.clear()
        self.polls.clear()
        self.writes.clear()
        self.callbacks.deliveries.clear()
        for sid, token in self.preload:
            self.store.create_account(sid, token)
        return _json({"ok": True})
