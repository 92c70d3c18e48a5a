"""A TLS load balancer in front of the local API server, to answer discovery as a cold one does.

A kube-apiserver that has just started answers discovery before it lists the CRD-defined groups
(for about 30 ms on an idle machine here, seconds on a loaded control plane), and so does one
member behind a load balancer while the others are warm. That moment cannot be hit on cue with
a real restart, so this proxy stages it: it forwards every request to the real API server
(watches streamed), answers 503 while the API server is down (as a load balancer without a
backend does), and, while `cold` is set, leaves the `hidden` groups out of `GET /apis` and, with
`cold_versions`, answers 404 for their `/apis/<group>/...` discovery documents.

It presents the API server's own serving certificate (SAN 127.0.0.1), so clients verify it with
the cluster's CA as usual; `kubeconfig()` writes a copy of a kubeconfig pointing at the proxy.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import threading
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from twilio_sim.server import free_port

_HOP_BY_HOP = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "accept-encoding",  # the proxy reads discovery answers: ask for them uncompressed
    "content-encoding",
}
_GROUP_PATH = re.compile(r"^/apis/(?P<group>[^/]+)(/[^/]+)?/?$")


class ApiServerProxy:
    """Forwards to `upstream` on https://127.0.0.1:<port> from a daemon thread until `stop()`."""

    def __init__(self, upstream: str, pki_dir: Path, ca_cert: Path) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.hidden: set[str] = set()
        self.cold = False
        self.cold_versions = False
        self.cold_answers: list[str] = []  # discovery paths answered cold, in order
        self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_tls.load_cert_chain(pki_dir / "apiserver.crt", pki_dir / "apiserver.key")
        self._client_tls = ssl.create_default_context(cafile=str(ca_cert))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> ApiServerProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def kubeconfig(self, source: Path, path: Path) -> Path:
        """A copy of `source` (JSON or YAML) whose clusters all point at the proxy."""
        config: dict[str, Any] = yaml.safe_load(source.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = self.url
        path.touch(mode=0o600)
        path.write_text(json.dumps(config))
        return path

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._client_tls), auto_decompress=False
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        # Cancel a handler whose client went away (an operator stopped mid-watch).
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(
            self._runner, "127.0.0.1", self.port, ssl_context=self._server_tls
        ).start()

    async def _stop(self) -> None:
        assert self._runner is not None
        assert self._session is not None
        await self._session.close()  # ends the streamed watches first
        await self._runner.cleanup()
        self._runner = None

    def _hidden_group(self, path: str) -> str | None:
        match = _GROUP_PATH.match(path)
        if match and match["group"] in self.hidden:
            return match["group"]
        return None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        if self.cold and self.cold_versions and self._hidden_group(request.path):
            self.cold_answers.append(request.path)
            return web.json_response({"kind": "Status", "code": 404}, status=404)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        try:
            upstream = await self._session.request(
                request.method,
                self.upstream + request.path_qs,
                data=body or None,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
            )
        except (aiohttp.ClientConnectionError, TimeoutError):
            return web.json_response({"kind": "Status", "code": 503}, status=503)
        async with upstream:
            if self.cold and request.method == "GET" and request.path.rstrip("/") == "/apis":
                return await self._cold_group_list(request, upstream)
            response = web.StreamResponse(status=upstream.status)
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    response.headers[name] = value
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except (aiohttp.ClientError, ConnectionError):
                # Either side went away mid-stream: end this one too, as a load balancer does.
                if request.transport is not None:
                    request.transport.abort()
                return response
            await response.write_eof()
            return response

    async def _cold_group_list(
        self, request: web.Request, upstream: aiohttp.ClientResponse
    ) -> web.Response:
        document = await upstream.json()
        groups = document.get("groups") or []
        document["groups"] = [g for g in groups if g.get("name") not in self.hidden]
        if len(document["groups"]) != len(groups):
            self.cold_answers.append(request.path)
        return web.json_response(document, status=upstream.status)
