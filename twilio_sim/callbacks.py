"""Status callbacks: call a bundle's ``status_callback`` URL with its new status / valid_until.

Each is signed with ``X-Twilio-Signature`` (HMAC-SHA1 with the account's auth token, computed by
the official SDK's ``RequestValidator``), so receivers verify it exactly as they would verify
Twilio's. Its shape is the config's ``callback_shape`` when the change happens (docs/simulator/,
with where each shape comes from):
- ``get`` (default): as the one real bundle callback on public record (twilio/twilio-php#861):
  a GET with no body, ``bodySHA256`` twice (of the empty body; an assumption, the report elides
  the value), then AccountSid, BundleSid, Status, FailureReason (and ValidUntil when the bundle
  has one; also an assumption) in the query; signed over the URL alone.
- ``post-form``: a form-encoded POST of the compliance-update guide's fields (account_sid,
  bundle_sid, status, failure_reason, valid_until when set); signed over the URL and the sorted
  fields.
- ``post-json``: the guide's JSON object of the same fields, POSTed to the URL with
  ``?bodySHA256=`` (the body's SHA-256) appended; signed over that URL.
Deliveries are queued and started in order, up to ``callback_concurrency`` (config, default 50)
at a time: Twilio does not wait for one receiver's answer before calling the next, so a slow
receiver must not serialise a fleet's callbacks here either (they may complete out of order, as
Twilio's may arrive out of order). Each outcome is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yarl
from twilio.request_validator import RequestValidator

from twilio_sim.config import CallbackShape
from twilio_sim.render import iso
from twilio_sim.store import Bundle, Store

log = logging.getLogger(__name__)


def callback_params(bundle: Bundle) -> dict[str, str]:
    params = {
        "account_sid": bundle.account_sid,
        "bundle_sid": bundle.sid,
        "status": bundle.status,
        "failure_reason": bundle.failure_reason or "",
    }
    valid_until = iso(bundle.valid_until)
    if valid_until is not None:
        params["valid_until"] = valid_until
    return params


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's signature of a request to `url` with these form parameters (none: the URL
    alone, as for a GET or a JSON body)."""
    signature: str = RequestValidator(auth_token).compute_signature(url, params)
    return signature


#: The field report's PascalCase name of each of the guide's snake_case fields.
PASCAL_CASE = {
    "account_sid": "AccountSid",
    "bundle_sid": "BundleSid",
    "status": "Status",
    "failure_reason": "FailureReason",
    "valid_until": "ValidUntil",
}


@dataclass(frozen=True)
class CallbackRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def build_request(
    shape: CallbackShape, url: str, auth_token: str, params: dict[str, str]
) -> CallbackRequest:
    """The signed request that reports `params` (the guide's snake_case fields) to `url`."""
    headers = {
        "User-Agent": "TwilioProxy/1.1 (twilio-sim)",
        "I-Twilio-Idempotency-Token": f"{params['bundle_sid']}-{time.time_ns()}",
    }
    if shape == "get":
        empty = hashlib.sha256(b"").hexdigest()
        pairs = [("bodySHA256", empty), ("bodySHA256", empty)]
        pairs += [(PASCAL_CASE.get(k, k), v) for k, v in params.items()]
        signed = _with_query(url, urlencode(pairs))
        headers["X-Twilio-Signature"] = sign(auth_token, signed, {})
        return CallbackRequest("GET", signed, headers, b"")
    if shape == "post-json":
        body = json.dumps(params).encode()
        signed = _with_query(url, "bodySHA256=" + hashlib.sha256(body).hexdigest())
        headers["Content-Type"] = "application/json"
        headers["X-Twilio-Signature"] = sign(auth_token, signed, {})
        return CallbackRequest("POST", signed, headers, body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-Twilio-Signature"] = sign(auth_token, url, params)
    return CallbackRequest("POST", url, headers, urlencode(params).encode())


Job = tuple[str, str, dict[str, str], CallbackShape]


class CallbackDispatcher:
    """Queues a callback on every bundle status / valid_until change and delivers it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=1000)
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._held = 0  # a job taken from the queue, waiting for a free slot
        self._session: aiohttp.ClientSession | None = None
        store.listeners.append(self.on_bundle_change)

    def on_bundle_change(self, bundle: Bundle, status_changed: bool, vu_changed: bool) -> None:
        if not bundle.status_callback:
            return
        account = self.store.accounts.get(bundle.account_sid)
        if account is None:
            return
        self._queue.put_nowait(
            (
                bundle.status_callback,
                account.auth_token,
                callback_params(bundle),
                self.store.config.callback_shape,
            )
        )

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._run(), name="twilio-sim-callbacks")

    async def stop(self) -> None:
        tasks = [*self._in_flight, *([self._worker] if self._worker is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    @property
    def pending(self) -> int:
        """Callbacks not delivered yet: queued, or sent and awaiting the receiver's answer."""
        return self._queue.qsize() + self._held + len(self._in_flight)

    async def _run(self) -> None:
        """Start the queued deliveries in order, each as soon as fewer than the configured
        number are in flight (read per delivery, so a PUT /_sim/config applies at once)."""
        while True:
            job = await self._queue.get()
            self._held = 1
            while len(self._in_flight) >= self.store.config.callback_concurrency:
                await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                self._in_flight.difference_update([t for t in self._in_flight if t.done()])
            self._held = 0
            task = asyncio.create_task(self._deliver(*job), name="twilio-sim-callback")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            self._queue.task_done()

    async def _deliver(
        self, url: str, auth_token: str, params: dict[str, str], shape: CallbackShape
    ) -> None:
        assert self._session is not None
        request = build_request(shape, url, auth_token, params)
        record: dict[str, Any] = {
            "url": url,
            "shape": shape,
            "method": request.method,
            "bundle_sid": params["bundle_sid"],
            "status": params["status"],
            "valid_until": params.get("valid_until"),
            "at": time.time(),
        }
        timeout = aiohttp.ClientTimeout(total=self.store.config.callback_timeout_seconds)
        try:
            async with self._session.request(
                request.method,
                # (as built: aiohttp would re-quote an already encoded query otherwise)
                yarl.URL(request.url, encoded=True),
                data=request.body or None,
                headers=request.headers,
                timeout=timeout,
            ) as resp:
                await resp.read()
                record["response_status"] = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            log.info("status callback for %s failed: %s", params["bundle_sid"], record["error"])
        self.deliveries.append(record)
