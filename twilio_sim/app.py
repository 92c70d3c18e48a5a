"""The aiohttp application: Twilio's routes and the admin routes behind one middleware.

The middleware authenticates Twilio API requests, enforces the per-account concurrency cap
(429 / 20429), injects the configured latency and faults, counts requests for ``/_sim/stats``
(a dropped connection as status 0), apart the reads that are polls of a review
(``twilio_sim.polls``), and writes by the SIDs in their path for ``/_sim/writes``; it turns every
error into Twilio's JSON error body; nothing escapes as an HTML page or a bare 500.
``create_app`` is the in-process entry point; ``twilio_sim.server`` runs it in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

from twilio_sim import errors, phone_numbers
from twilio_sim.admin import DROPPED, AdminApi, StatsKey, WritesKey
from twilio_sim.api import ACCOUNT, TwilioApi, json_response
from twilio_sim.auth import authenticate
from twilio_sim.callbacks import CallbackDispatcher
from twilio_sim.config import SimConfig
from twilio_sim.errors import TwilioError
from twilio_sim.polls import PollCounter
from twilio_sim.review import ReviewScheduler
from twilio_sim.store import Store

log = logging.getLogger(__name__)

STORE: web.AppKey[Store] = web.AppKey("store", Store)
CALLBACKS: web.AppKey[CallbackDispatcher] = web.AppKey("callbacks", CallbackDispatcher)
SCHEDULER: web.AppKey[ReviewScheduler] = web.AppKey("scheduler", ReviewScheduler)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class _Dropped(Exception):
    """The configured fault: close the connection without answering."""


def _http_error(exc: web.HTTPException, path: str) -> TwilioError:
    if exc.status == 404:
        return errors.not_found(path)
    if exc.status == 405:
        return TwilioError(405, errors.METHOD_NOT_ALLOWED, "Method not allowed")
    code = errors.MISSING_OR_INVALID_PARAMETER if exc.status < 500 else errors.INTERNAL_ERROR
    return TwilioError(exc.status, code, exc.reason)


def create_app(
    config: SimConfig | None = None,
    accounts: list[tuple[str, str]] | None = None,
    seed: int | None = None,
) -> web.Application:
    """A simulator app; accounts are (sid, auth_token) pairs created at start and on reset."""
    store = Store(config)
    preload = list(accounts or [])
    for sid, token in preload:
        store.create_account(sid, token)
    stats: Counter[StatsKey] = Counter()
    writes: Counter[WritesKey] = Counter()
    inflight: Counter[str] = Counter()
    rng = random.Random(seed)

    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    scheduler = ReviewScheduler(store)
    callbacks = CallbackDispatcher(store)
    polls = PollCounter(store)
    api = TwilioApi(store, scheduler)
    admin = AdminApi(store, scheduler, callbacks, stats, writes, preload, polls)

    def count(request: web.Request, account_sid: str | None, route: str, status: int) -> None:
        stats[(account_sid, request.method, route, status)] += 1
        if request.method != "GET":  # a write: recorded under every SID its path names
            for sid in request.match_info.values():
                writes[(sid, account_sid, request.method, route, status)] += 1

    async def twilio_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        account_sid: str | None = None
        route = request.match_info.route.resource
        route_name = route.canonical if route is not None else "(unmatched)"
        answer_after = 0.0
        try:
            account = authenticate(store, request.headers.get("Authorization"))
            account_sid = account.sid
            request[ACCOUNT] = account
            cfg = store.config
            cap = cfg.max_concurrent_requests_per_account
            if cap is not None and inflight[account.sid] >= cap:
                raise TwilioError(429, errors.TOO_MANY_REQUESTS, "Too Many Requests")
            inflight[account.sid] += 1
            try:
                delay = cfg.latency.sample_seconds(rng)
                if cfg.latency.when == "after":
                    answer_after = delay
                elif delay > 0:
                    await asyncio.sleep(delay)
                faults = cfg.faults
                if faults.drop_rate and rng.random() < faults.drop_rate:
                    count(request, account_sid, route_name, DROPPED)
                    raise _Dropped
                if faults.rate_limit_rate and rng.random() < faults.rate_limit_rate:
                    raise TwilioError(429, errors.TOO_MANY_REQUESTS, "Too Many Requests")
                if faults.error_rate and rng.random() < faults.error_rate:
                    raise TwilioError(500, errors.INTERNAL_ERROR, "Internal Server Error")
                response = await handler(request)
                if response.status == 200:
                    polls.read(account, request.method, route_name, request.match_info)
            finally:
                inflight[account.sid] -= 1
        except TwilioError as exc:
            response = json_response(exc.body(), exc.status)
        except web.HTTPException as exc:
            err = _http_error(exc, request.path)
            response = json_response(err.body(), err.status)
        count(request, account_sid, route_name, response.status)
        if answer_after > 0:  # carried out and counted; the client still waits for the answer
            await asyncio.sleep(answer_after)
        return response

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.path.startswith("/_sim/"):
                return await admin.middleware(request, handler)
            return await twilio_request(request, handler)
        except _Dropped:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError from None
        except ConnectionResetError:
            # The client went away while sending its body (a killed operator): nothing was
            # carried out and nobody is left to answer, which is no error of the simulator's.
            log.debug("client went away during %s %s", request.method, request.path)
            raise asyncio.CancelledError from None
        except web.HTTPException as exc:
            err = _http_error(exc, request.path)
            return json_response(err.body(), err.status)
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.path)
            body = errors.error_body(500, errors.INTERNAL_ERROR, "Internal Server Error")
            return json_response(body, 500)

    app.middlewares.append(middleware)
    app.add_routes(api.routes())
    app.add_routes(phone_numbers.routes())
    app.add_routes(admin.routes())
    app[STORE] = store
    app[CALLBACKS] = callbacks
    app[SCHEDULER] = scheduler

    async def on_startup(_: web.Application) -> None:
        await callbacks.start()

    async def on_cleanup(_: web.Application) -> None:
        scheduler.cancel_all()
        await callbacks.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
