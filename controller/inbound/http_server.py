"""The operator's own HTTP listeners: one aiohttp runner per port, started by Kopf's startup
handler and stopped by its cleanup handler (handlers.py), in the operator's event loop.

Two use it: the status-callback receiver (webhook.py, on WEBHOOK_PORT) and the Prometheus
endpoint (`metrics_application`, GET /metrics on METRICS_PORT). They get separate ports because
only the receiver may be reachable from the internet.
"""

from __future__ import annotations

import logging

from aiohttp import web

from controller.telemetry.metrics import CONTENT_TYPE, OperatorMetrics

_log = logging.getLogger("controller.http")

METRICS_PATH = "/metrics"


class HttpServer:
    """Runs an aiohttp application on host:port until `stop`."""

    def __init__(self, application: web.Application, host: str, port: int, description: str):
        self.application = application
        self.host = host
        self.port = port
        self.description = description
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.application, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        _log.info("%s on %s:%s", self.description, self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def metrics_application(metrics: OperatorMetrics) -> web.Application:
    """GET /metrics: `metrics` in Prometheus' text format (written by prometheus_client); any
    other path is a 404."""

    async def handle(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get(METRICS_PATH, handle)
    return app
