"""Check HTTP exchanges against Twilio's OpenAPI description of Numbers v2 (reusable).

Usage with the official SDK (sync or async): give the client a recording HTTP client, run the
calls, then validate everything it recorded:

    recorder = ExchangeRecorder()
    client = Client(sid, token, http_client=RecordingHttpClient(recorder))
    client.numbers.base_url = sim.base_url
    ...  # SDK calls, including ones that fail
    assert SpecValidator.shared().problems(recorder.exchanges) == []

Successful responses are validated by openapi-core against the operation's response schema.
The spec declares no error responses, so an error (status >= 400) must instead carry Twilio's
error body ``{code, message, more_info, status}`` with ``status`` equal to the HTTP status.
The spec's server is https://numbers.twilio.com; exchanges are matched on path only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jsonschema
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

SPEC_PATH = Path(
    os.environ.get("TWILIO_NUMBERS_SPEC", Path(__file__).with_name("twilio_numbers_v2.json"))
)
SPEC_HOST = "https://numbers.twilio.com"

TWILIO_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": "^https://www\\.twilio\\.com/docs/errors/"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
}


@dataclass
class Exchange:
    """One HTTP request and the response it got."""

    method: str
    url: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]] | None
    status: int
    body: str
    content_type: str = "application/json"
    authorized: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class ExchangeRecorder:
    exchanges: list[Exchange] = field(default_factory=list)

    def record(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None,
        data: dict[str, object] | None,
        response: Response,
        auth: Any = None,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True) + _pairs(params)
        form = _pairs(data) if data else None
        headers = response.headers or {}
        content_type = str(headers.get("Content-Type", headers.get("content-type", "")))
        self.exchanges.append(
            Exchange(
                method.upper(),
                url.split("?")[0],
                query,
                form,
                response.status_code,
                response.text,
                content_type.split(";")[0].strip() or "application/json",
                authorized=auth is not None,
                headers={str(k).lower(): str(v) for k, v in dict(headers).items()},
            )
        )


def _pairs(values: dict[str, object] | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in (values or {}).items():
        if value is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            out.append((key, str(v)))
    return out


class RecordingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's sync HTTP client, recording every exchange."""

    def __init__(self, recorder: ExchangeRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recorder = recorder

    def request(self, method: str, url: str, params: Any = None, data: Any = None,
                headers: Any = None, auth: Any = None, timeout: Any = None,
                allow_redirects: bool = False) -> Response:  # fmt: skip
        response = super().request(
            method, url, params, data, headers, auth, timeout, allow_redirects
        )
        self.recorder.record(method, url, params, data, response, auth)
        return response


class RecordingAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's async HTTP client, recording every exchange."""

    def __init__(self, recorder: ExchangeRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recorder = recorder

    async def request(self, method: str, url: str, params: Any = None, data: Any = None,
                      headers: Any = None, auth: Any = None, timeout: Any = None,
                      allow_redirects: bool = False) -> Response:  # fmt: skip
        response = await super().request(
            method, url, params, data, headers, auth, timeout, allow_redirects
        )
        self.recorder.record(method, url, params, data, response, auth)
        return response


class SpecValidator:
    """Validates exchanges against the Numbers v2 spec."""

    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        self.spec: dict[str, Any] = json.loads(spec_path.read_text())
        self.openapi = OpenAPI.from_dict(self.spec)

    @staticmethod
    @cache
    def shared() -> SpecValidator:
        return SpecValidator()

    def problems(self, exchanges: list[Exchange], check_requests: bool = False) -> list[str]:
        """Every violation found, as readable strings (empty when all is well)."""
        out: list[str] = []
        for ex in exchanges:
            out.extend(f"{ex.describe()}: {p}" for p in self.check(ex, check_requests))
        return out

    def check(self, ex: Exchange, check_request: bool = False) -> list[str]:
        if ex.status >= 400:
            return self._check_error(ex)
        request = self._request(ex)
        response = MockResponse(
            ex.body.encode(), status_code=ex.status, content_type=ex.content_type
        )
        found = [str(e) + _detail(e) for e in self.openapi.iter_response_errors(request, response)]
        if check_request:
            found += [str(e) + _detail(e) for e in self.openapi.iter_request_errors(request)]
        return found

    def request_problems(self, ex: Exchange) -> list[str]:
        return [str(e) + _detail(e) for e in self.openapi.iter_request_errors(self._request(ex))]

    def _request(self, ex: Exchange) -> MockRequest:
        data = urlencode(ex.form).encode() if ex.form is not None else None
        return MockRequest(
            SPEC_HOST,
            ex.method.lower(),
            ex.path,
            args=dict(ex.query),
            data=data,
            headers={"Authorization": "Basic QUM6dG9rZW4="} if ex.authorized else {},
            content_type="application/x-www-form-urlencoded" if data is not None else "",
        )

    @staticmethod
    def _check_error(ex: Exchange) -> list[str]:
        if ex.content_type != "application/json":
            return [f"error response has content type {ex.content_type!r}"]
        try:
            body = json.loads(ex.body)
        except ValueError:
            return ["error response body is not JSON"]
        try:
            jsonschema.validate(body, TWILIO_ERROR_SCHEMA)
        except jsonschema.ValidationError as exc:
            return [f"error body: {exc.message}"]
        if body["status"] != ex.status:
            return [f"error body status {body['status']} != HTTP status {ex.status}"]
        return []


def _detail(exc: Exception) -> str:
    cause = exc.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        return " [" + "; ".join(str(getattr(e, "message", e)) for e in schema_errors) + "]"
    return f" [{cause}]" if cause is not None else ""
