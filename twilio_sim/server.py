"""Run the simulator in a background thread (own event loop, free loopback port) for tests.

    from twilio_sim.server import SimServer

    with SimServer() as sim:                      # or sim = SimServer().start(); ...; sim.stop()
        account = sim.admin.create_account()
        client = Client(account["account_sid"], account["auth_token"])
        client.numbers.base_url = sim.base_url

``sim.admin`` is a :class:`twilio_sim.admin_client.AdminClient` for the ``/_sim/`` API. For a
separate process, run ``python -m twilio_sim --port N`` and poll ``GET /_sim/health``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

from aiohttp import web

from twilio_sim.admin_client import AdminClient
from twilio_sim.app import STORE, create_app
from twilio_sim.config import SimConfig
from twilio_sim.store import Store


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class SimServer:
    """A simulator serving on ``base_url`` from a daemon thread until ``stop()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SimConfig | None = None,
        accounts: list[tuple[str, str]] | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.base_url = f"http://{host}:{self.port}"
        self.app = create_app(config, accounts)
        self.admin = AdminClient(self.base_url)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def store(self) -> Store:
        """The live state (read it from tests; change it only through the APIs)."""
        return self.app[STORE]

    def start(self) -> SimServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            runner = self._runner
            self._runner = None
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(timeout=30)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        if not self._loop.is_closed() and not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
