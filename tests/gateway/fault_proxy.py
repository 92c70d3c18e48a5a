"""A loopback HTTP proxy in front of the simulator, for what the simulator cannot stage itself.

It forwards every request unchanged (the Host header too, so the simulator's page URLs point back
at the proxy), counts requests in flight (to check the gateway's concurrency cap from outside),
can drop the connection AFTER the simulator has processed a request (the ambiguous failure a
non-idempotent write must survive without writing twice), and can answer a chosen request itself
with an error, in Twilio's JSON error body, without forwarding it (a 429 or 5xx on exactly the
second page of a list, which the simulator's random fault rates cannot target).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class DropRule:
    method: str
    path_pattern: str
    remaining: int = 1

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.search(self.path_pattern, path) is not None


@dataclass
class AnswerRule:
    """Answer `status` with Twilio's error body `code` to the next `remaining` matching requests.

    `target_pattern` is searched in the path with its query (`/.../ItemAssignments?...Page=1`).
    """

    method: str
    target_pattern: str
    status: int
    code: int
    remaining: int = 1

    def matches(self, method: str, path_qs: str) -> bool:
        return method == self.method and re.search(self.target_pattern, path_qs) is not None

    def body(self) -> str:
        return json.dumps(
            {
                "code": self.code,
                "message": f"Injected by the test proxy: HTTP {self.status}",
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status,
            }
        )


@dataclass
class FaultProxy:
    upstream: str
    inflight: int = 0
    max_inflight: int = 0
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    rules: list[DropRule] = field(default_factory=list)
    answers: list[AnswerRule] = field(default_factory=list)
    answered: list[tuple[str, str, int]] = field(default_factory=list)
    targets: list[tuple[str, str]] = field(default_factory=list)  # method, path with query
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None
    base_url: str = ""

    def drop_after_processing(self, method: str, path_pattern: str, times: int = 1) -> None:
        self.rules.append(DropRule(method, path_pattern, times))

    def answer_instead(
        self, method: str, target_pattern: str, status: int, code: int, times: int = 1
    ) -> None:
        """The next `times` requests matching `target_pattern` (path and query) get `status`
        from the proxy itself; the simulator never sees them (as Twilio does not process a 429)."""
        self.answers.append(AnswerRule(method, target_pattern, status, code, times))

    async def start(self) -> str:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        self.targets.append((request.method, request.path_qs))
        for answer in self.answers:
            if answer.remaining > 0 and answer.matches(request.method, request.path_qs):
                answer.remaining -= 1
                self.answered.append((request.method, request.path_qs, answer.status))
                self.requests.append((request.method, request.path, answer.status))
                return web.Response(
                    text=answer.body(), status=answer.status, content_type="application/json"
                )
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Host"] = request.host
            async with self._session.request(
                request.method,
                self.upstream + request.path_qs,
                data=body,
                headers=headers,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                status = upstream.status
                content_type = upstream.headers.get("Content-Type")
        finally:
            self.inflight -= 1
        self.requests.append((request.method, request.path, status))
        for rule in self.rules:
            if rule.remaining > 0 and rule.matches(request.method, request.path):
                rule.remaining -= 1
                self.dropped.append((request.method, request.path))
                assert request.transport is not None
                request.transport.abort()
                return web.Response(status=500)
        response = web.Response(body=payload, status=status)
        if content_type:
            response.headers["Content-Type"] = content_type
        return response

    def count(self, method: str, path_pattern: str) -> int:
        return sum(
            1 for m, p, _ in self.requests if m == method and re.search(path_pattern, p) is not None
        )

    def count_target(self, method: str, target_pattern: str) -> int:
        """Requests (forwarded or answered) whose path with query matches `target_pattern`."""
        return sum(
            1 for m, t in self.targets if m == method and re.search(target_pattern, t) is not None
        )
