"""Status callbacks go out concurrently, up to ``callback_concurrency`` at a time, as Twilio's do.

A receiver that holds every request until released shows how many deliveries are in flight at
once: a simulator sending one callback at a time would never get past one, and an unbounded one
would send all of them at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from aiohttp import web

from tests.sim_fixtures import Sim
from twilio_sim.server import free_port

LIMIT = 5
CALLBACKS = 12


class HoldingReceiver:
    """Answers 204 to each callback (any shape) only once ``release()`` is called; counts
    requests in flight."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/cb"
        self.in_flight = 0
        self.max_in_flight = 0
        self.answered = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._release = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.wait_for(self._release.wait(), timeout=30)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.answered += 1
        return web.Response(status=204)

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._release.set)

    def wait_until(self, what: str, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"not {what} within {timeout}s"
            time.sleep(0.01)

    def serve(self) -> Iterator[HoldingReceiver]:
        app = web.Application()
        app.router.add_route("*", "/cb", self._handle)
        runner = web.AppRunner(app, access_log=None)
        thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        thread.start()

        async def start() -> None:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(timeout=10)
        try:
            yield self
        finally:
            self.release()
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(timeout=10)
            self._loop.close()


@pytest.fixture
def holding_receiver() -> Iterator[HoldingReceiver]:
    yield from HoldingReceiver().serve()


def test_callbacks_are_delivered_concurrently_up_to_the_configured_limit(
    sim: Sim, holding_receiver: HoldingReceiver
) -> None:
    assert sim.admin.config()["callback_concurrency"] == 50
    sim.set_config(callback_concurrency=LIMIT)
    account = sim.new_account()
    bundles = {
        sim.seed_approved_bundle(account.sid, status_callback=holding_receiver.url)["bundle_sid"]
        for _ in range(CALLBACKS)
    }
    # The regulation change gives every bundle a valid_until: one callback each.
    assert set(sim.change_regulation()["affected_bundle_sids"]) == bundles

    holding_receiver.wait_until(
        f"{LIMIT} callbacks in flight", lambda: holding_receiver.in_flight == LIMIT
    )
    assert sim.admin.callbacks()["pending"] == CALLBACKS
    time.sleep(0.3)  # room for a delivery beyond the limit, were one to be started
    assert holding_receiver.max_in_flight == LIMIT
    assert holding_receiver.answered == 0

    holding_receiver.release()
    holding_receiver.wait_until(
        "every callback delivered", lambda: sim.admin.callbacks()["pending"] == 0
    )
    deliveries = sim.admin.callbacks()["deliveries"]
    assert sorted(d["bundle_sid"] for d in deliveries) == sorted(bundles)
    assert {d["response_status"] for d in deliveries} == {204}
    assert holding_receiver.max_in_flight == LIMIT
