"""Translates what the twilio SDK and aiohttp raise into the port's error classes.

The workflow only knows TwilioError and its subclasses; this module is the one place that decides
which HTTP statuses, Twilio codes and socket failures count as transient, permanent, not found or
refused credentials, and whether Twilio can have acted on a failed request at all (which decides
if a non-idempotent write may be repeated). Messages carry the operation, the HTTP method and the
SDK's URI (SIDs only) and Twilio's own message: never credentials, never attribute values.

The SDK raises three shapes for an HTTP error answer: TwilioRestException (status, code, uri) and
TwilioServiceException (RFC 9457) from single requests, and - for any page of a list, the first
included - a bare TwilioException("Unable to fetch page", response) from Page.process_response,
which carries only the SDK's Response (status and body, no URI). All three are classified alike.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.response import Response

from controller.adapters.twilio_gateway.aimd import Signal
from controller.adapters.twilio_gateway.port import (
    TwilioAuthenticationError,
    TwilioError,
    TwilioNotFoundError,
    TwilioPermanentError,
    TwilioTransientError,
)

CODE_AUTHENTICATION = 20003
CODE_NOT_FOUND = 20404
CODE_TOO_MANY_REQUESTS = 20429

# Page.process_response does not say which page failed; the operation names the list.
LIST_PAGE_URI = "(a page of the list)"


@dataclass(frozen=True)
class Failure:
    """A failed request, translated.

    `unprocessed` is True only when Twilio certainly did not act on the request: a 429 (Twilio
    documents that a 429'd request was never processed) or a connection that could not even be
    opened. Any other transient failure of a write is ambiguous: it may have happened.
    """

    error: TwilioError
    unprocessed: bool

    @property
    def transient(self) -> bool:
        return isinstance(self.error, TwilioTransientError)


def classify_http(
    operation: str, status: int, code: int | None, method: str, uri: str, message: str
) -> Failure:
    """Maps an HTTP error answer (status, Twilio code) to the port's error class."""
    text = f"{operation}: HTTP {status}"
    if code is not None and code != status:
        text += f" (Twilio error {code})"
    text += f" on {method} {uri}: {message}"
    if status == 401 or code == CODE_AUTHENTICATION:
        return Failure(TwilioAuthenticationError(text, status=status, code=code), False)
    if status == 404 or code == CODE_NOT_FOUND:
        return Failure(TwilioNotFoundError(text, status=status, code=code), False)
    if status == 429 or code == CODE_TOO_MANY_REQUESTS:
        return Failure(TwilioTransientError(text, status=status, code=code), True)
    if status >= 500:
        return Failure(TwilioTransientError(text, status=status, code=code), False)
    return Failure(TwilioPermanentError(text, status=status, code=code), False)


def classify(operation: str, exc: BaseException) -> Failure | None:
    """Translates `exc`, or returns None when it is not a Twilio or transport failure (a bug)."""
    if isinstance(exc, TwilioError):
        return Failure(exc, exc.status == 429 or exc.code == CODE_TOO_MANY_REQUESTS)
    if isinstance(exc, TwilioRestException):
        return classify_http(
            operation, int(exc.status), _as_int(exc.code), exc.method, exc.uri, str(exc.msg)
        )
    if isinstance(exc, TwilioServiceException):
        message = str(exc.title) + (f": {exc.detail}" if exc.detail else "")
        return classify_http(
            operation, int(exc.status), _as_int(exc.code), exc.method, exc.uri, message
        )
    if isinstance(exc, TwilioException) and (response := _page_response(exc)) is not None:
        return _classify_page(operation, response)
    if isinstance(exc, aiohttp.InvalidURL):
        return Failure(
            TwilioPermanentError(f"{operation}: invalid Twilio URL ({exc})"), unprocessed=True
        )
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Failure(
            TwilioTransientError(f"{operation}: cannot connect to Twilio ({_describe(exc)})"),
            unprocessed=True,
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return Failure(
            TwilioTransientError(f"{operation}: Twilio did not answer in time"), unprocessed=False
        )
    if isinstance(exc, aiohttp.ClientError | OSError):
        return Failure(
            TwilioTransientError(f"{operation}: connection to Twilio failed ({_describe(exc)})"),
            unprocessed=False,
        )
    return None


def load_signal(operation: str, exc: BaseException | None) -> Signal:
    """What a finished request (`exc`: how it failed, None: it succeeded) says about the load.

    The account's adaptive limit backs off on overload: a 429 / 20429 (too many concurrent
    requests), a 503 and a request Twilio did not answer in time (queueing). Any other answer
    below 500 (a 404 too) is Twilio answering normally; a failure without an answer (cancelled,
    refused connection, a bug) or an internal error (500) says nothing about Twilio's load.
    """
    if exc is None:
        return Signal.ANSWERED
    if isinstance(exc, TimeoutError):
        return Signal.OVERLOAD
    failure = classify(operation, exc)
    status = None if failure is None else failure.error.status
    if failure is None or status is None:
        return Signal.NEUTRAL
    if status in (429, 503) or failure.error.code == CODE_TOO_MANY_REQUESTS:
        return Signal.OVERLOAD
    return Signal.ANSWERED if status < 500 else Signal.NEUTRAL


def _page_response(exc: TwilioException) -> Response | None:
    """The SDK's Response a bare TwilioException carries (Page.process_response), if any."""
    return next((arg for arg in exc.args if isinstance(arg, Response)), None)


def _classify_page(operation: str, response: Response) -> Failure:
    """A list page answered with an error: read status, code and message as the SDK reads those
    of a single request (Version.exception), from Twilio's body in either error format."""
    status = int(response.status_code)
    message = "Unable to fetch page"
    code: int | None = status
    try:
        body = json.loads(response.text or "")
    except ValueError:
        body = None
    if isinstance(body, dict):
        if all(key in body for key in ("type", "title", "status", "code")):  # RFC 9457
            message = str(body["title"]) + (f": {body['detail']}" if body.get("detail") else "")
        elif body.get("message"):
            message = f"{message}: {body['message']}"
        if "code" in body:
            code = _as_int(body["code"])
    return classify_http(operation, status, code, "GET", LIST_PAGE_URI, message)


def _describe(exc: BaseException) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _as_int(code: object) -> int | None:
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return None
