"""Pytest fixtures for tests that need the Twilio simulator (a plugin, loaded by tests/conftest.py).

Fixtures
--------
``sim`` (function scope): a :class:`Sim` handle on a simulator that runs for the whole session in a
background thread and is reset (``POST /_sim/reset``) before each test. Usage::

    def test_something(sim):
        account = sim.new_account()                           # SimAccount(sid, token, api keys)
        seeded = sim.seed_approved_bundle(account.sid, phone_numbers=2)
        sim.change_regulation()                               # default change on France mobile
        client = sim.client(account)                          # twilio.rest.Client -> simulator
        client.numbers.v2.regulatory_compliance.bundles(seeded["bundle_sid"]).fetch()
        sim.set_config(review={"mode": "manual"})
        sim.review(bundle_sid, "approve")
        sim.stats(); sim.state()

``sim.base_url`` is the URL to give any HTTP client (``client.numbers.base_url``); ``sim.admin``
is the :class:`twilio_sim.admin_client.AdminClient` for every ``/_sim/`` route; ``sim.store`` is the
live state for assertions. ``async_client(account)`` builds an SDK client on
``AsyncTwilioHttpClient`` (close it with ``await client.http_client.close()``).

``callback_receiver`` (function scope): a :class:`CallbackReceiver` HTTP server on a free loopback
port that records every status callback sent to ``receiver.url``, in any of the simulator's shapes
(``callback.fields`` has the guide's snake_case names whatever the shape);
``receiver.wait_for(...)`` waits for one matching a predicate.

``prism`` (function scope): a :class:`PrismProxy`, Stoplight Prism validating every request and
answer against Twilio's OpenAPI spec in front of the simulator (``--errors``: a request that
breaks the spec gets a 422). ``.url`` to send requests to, ``.log_path`` (in the test's tmp_path)
to look for violations. A missing Prism fails the test (``make prism`` installs it; CI does).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from aiohttp import web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from twilio_sim.admin_client import AdminClient
from twilio_sim.callbacks import PASCAL_CASE
from twilio_sim.regulations import FRANCE_MOBILE_BUSINESS_SID
from twilio_sim.server import SimServer, free_port
from twilio_sim.store import Store


@dataclass
class SimAccount:
    sid: str
    auth_token: str
    api_keys: list[dict[str, str]]


@dataclass
class Sim:
    """A handle on a running simulator for one test."""

    server: SimServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def admin(self) -> AdminClient:
        return self.server.admin

    @property
    def store(self) -> Store:
        return self.server.store

    def new_account(self, **body: Any) -> SimAccount:
        created = self.admin.create_account(**body)
        return SimAccount(created["account_sid"], created["auth_token"], created["api_keys"])

    def client(self, account: SimAccount, **kwargs: Any) -> Client:
        client = Client(account.sid, account.auth_token, **kwargs)
        client.numbers.base_url = self.base_url
        return client

    def async_client(self, account: SimAccount, **kwargs: Any) -> Client:
        kwargs.setdefault("http_client", AsyncTwilioHttpClient())
        return self.client(account, **kwargs)

    def seed_approved_bundle(self, account_sid: str, **body: Any) -> dict[str, Any]:
        return self.admin.seed_approved_bundle(account_sid, **body)

    def change_regulation(
        self, regulation_sid: str = FRANCE_MOBILE_BUSINESS_SID, **change: Any
    ) -> dict[str, Any]:
        return self.admin.change_regulation(regulation_sid, **change)

    def review(self, bundle_sid: str, decision: str, **body: Any) -> dict[str, Any]:
        return self.admin.review(bundle_sid, decision, **body)

    def set_config(self, **patch: Any) -> dict[str, Any]:
        return self.admin.set_config(**patch)

    def stats(self) -> dict[str, Any]:
        return self.admin.stats()

    def state(self) -> dict[str, Any]:
        return self.admin.state()

    def wait_for_status(self, bundle_sid: str, status: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.admin.bundle(bundle_sid)["status"] != status:
            if time.monotonic() > deadline:
                raise AssertionError(f"{bundle_sid} did not reach {status} in {timeout}s")
            time.sleep(0.02)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    server = SimServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sim(sim_server: SimServer) -> Sim:
    sim_server.admin.reset()
    return Sim(sim_server)


@dataclass
class ReceivedCallback:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    fields: dict[str, str]
    """The query's and the body's fields (not bodySHA256), by the guide's snake_case names."""

    def verified(self, auth_token: str) -> bool:
        """Whether the official SDK's validator accepts it, as a receiver of its shape would
        call it: the form fields, the JSON text (checked against bodySHA256), or nothing."""
        signature = self.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(auth_token)
        content_type = self.headers.get("Content-Type", "")
        params: dict[str, str] | str = {}
        if content_type.startswith("application/json"):
            params = self.body.decode()
        elif self.body:
            params = dict(parse_qsl(self.body.decode(), keep_blank_values=True))
        return bool(validator.validate(self.url, params, signature))


def callback_fields(query: str, content_type: str, body: bytes) -> dict[str, str]:
    """What a callback says, whichever shape carries it (independently of the operator's parser)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if content_type.startswith("application/json"):
        pairs += list(json.loads(body).items())
    elif body:
        pairs += parse_qsl(body.decode(), keep_blank_values=True)
    snake = {pascal: snake for snake, pascal in PASCAL_CASE.items()}
    return {snake.get(k, k): v for k, v in pairs if k != "bodySHA256"}


@dataclass
class CallbackReceiver:
    """Records requests to ``url``; answers 200 (or ``status`` if set)."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    status: int = 200
    received: list[ReceivedCallback] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/status-callback"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        cb = ReceivedCallback(
            request.method,
            # the URL exactly as called (the signature covers its raw query)
            f"http://{self.host}:{self.port}{request.raw_path}",
            dict(request.headers),
            body,
            callback_fields(
                request.rel_url.raw_query_string, request.headers.get("Content-Type", ""), body
            ),
        )
        with self._cond:
            self.received.append(cb)
            self._cond.notify_all()
        return web.Response(status=self.status)

    def wait_for(
        self, predicate: Callable[[ReceivedCallback], bool], timeout: float = 10.0
    ) -> ReceivedCallback:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for cb in self.received:
                    if predicate(cb):
                        return cb
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching callback within {timeout}s: {self.received}")
                self._cond.wait(left)


@pytest.fixture
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    app = web.Application()
    app.router.add_route("*", "/status-callback", receiver._handle)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(app, access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, receiver.host, receiver.port).start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


REPO_ROOT = Path(__file__).resolve().parents[1]
PRISM = Path(os.environ.get("PRISM_BIN", REPO_ROOT / ".tools/prism/node_modules/.bin/prism"))


@dataclass(frozen=True)
class PrismProxy:
    url: str
    log_path: Path


@pytest.fixture
def prism(sim: Sim, tmp_path: Path) -> Iterator[PrismProxy]:
    """Prism proxying to the simulator (module docstring)."""
    from tests.contract.openapi_validation import SPEC_PATH  # openapi-core: only when used

    assert PRISM.exists(), f"Prism is not installed at {PRISM}: run `make prism`"
    port = free_port()
    log_path = tmp_path / "prism.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(PRISM), "proxy", str(SPEC_PATH), sim.base_url, "--errors",
             "-h", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    requests.get(url, timeout=1)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, "Prism did not start within 90 s"
                    time.sleep(0.25)
            yield PrismProxy(url, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
