"""The translation of SDK and transport failures into the port's error classes."""

from __future__ import annotations

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from controller.twilio_gateway.errors import classify, classify_http
from controller.twilio_gateway.port import (
    TwilioAuthenticationError,
    TwilioError,
    TwilioNotFoundError,
    TwilioPermanentError,
    TwilioTransientError,
)

URI = "/RegulatoryCompliance/Bundles/BU0123456789abcdef0123456789abcdef"


def rest(status: int, code: int | None, msg: str = "Unable to fetch record: boom") -> Exception:
    return TwilioRestException(status, URI, msg, code, "GET")


@pytest.mark.parametrize(
    ("status", "code", "expected", "unprocessed"),
    [
        (401, 20003, TwilioAuthenticationError, False),
        (401, None, TwilioAuthenticationError, False),
        (403, 20003, TwilioAuthenticationError, False),
        (404, 20404, TwilioNotFoundError, False),
        (400, 20404, TwilioNotFoundError, False),
        (429, 20429, TwilioTransientError, True),
        (429, None, TwilioTransientError, True),
        (503, 20429, TwilioTransientError, True),
        (500, 20500, TwilioTransientError, False),
        (502, None, TwilioTransientError, False),
        (400, 22204, TwilioPermanentError, False),
        (409, 22228, TwilioPermanentError, False),
    ],
)
def test_http_errors_map_by_status_and_code(
    status: int, code: int | None, expected: type[TwilioError], unprocessed: bool
) -> None:
    failure = classify("fetch_bundle", rest(status, code))
    assert failure is not None
    assert type(failure.error) is expected
    assert failure.unprocessed is unprocessed
    assert failure.error.status == status
    assert failure.error.code == code


def test_not_found_and_auth_are_permanent() -> None:
    assert issubclass(TwilioNotFoundError, TwilioPermanentError)
    assert issubclass(TwilioAuthenticationError, TwilioPermanentError)
    failure = classify("x", rest(404, 20404))
    assert failure is not None
    assert not failure.transient


def test_message_names_operation_uri_and_twilio_message() -> None:
    failure = classify(
        "submit_bundle", rest(400, 22204, "Unable to update record: cannot change status")
    )
    assert failure is not None
    text = str(failure.error)
    assert "submit_bundle" in text
    assert "HTTP 400" in text
    assert "22204" in text
    assert URI in text
    assert "cannot change status" in text
    assert "\x1b[" not in text  # no terminal colour codes, whatever stderr is


def test_rfc9457_service_exception_is_translated() -> None:
    exc = TwilioServiceException(
        type_uri="https://www.twilio.com/docs/errors/20429",
        title="Too Many Requests",
        status=429,
        code=20429,
        detail="concurrency limit",
        method="POST",
        uri=URI,
    )
    failure = classify("create_evaluation", exc)
    assert failure is not None
    assert isinstance(failure.error, TwilioTransientError)
    assert failure.unprocessed
    assert "Too Many Requests: concurrency limit" in str(failure.error)


def test_refused_connection_is_transient_and_surely_unprocessed() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    exc = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    failure = classify("create_bundle_copy", exc)
    assert failure is not None
    assert isinstance(failure.error, TwilioTransientError)
    assert failure.unprocessed


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("truncated"),
        aiohttp.SocketTimeoutError("read timed out"),
        TimeoutError(),
        ConnectionResetError(104, "reset by peer"),
    ],
)
def test_dropped_connections_and_timeouts_are_transient_but_maybe_processed(
    exc: BaseException,
) -> None:
    failure = classify("create_bundle_copy", exc)
    assert failure is not None
    assert isinstance(failure.error, TwilioTransientError)
    assert not failure.unprocessed


def test_unknown_exceptions_are_not_swallowed() -> None:
    assert classify("fetch_bundle", KeyError("sid")) is None
    assert classify("fetch_bundle", ValueError("bad json")) is None


def test_port_errors_pass_through() -> None:
    original = TwilioNotFoundError("gone", status=404, code=20404)
    failure = classify("fetch_bundle", original)
    assert failure is not None
    assert failure.error is original


def test_classify_http_keeps_code_out_of_message_when_it_is_the_status() -> None:
    failure = classify_http("fetch_bundle", 404, 404, "GET", URI, "Unable to fetch record")
    assert "Twilio error" not in str(failure.error)
