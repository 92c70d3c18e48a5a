"""The translation of SDK and transport failures into the port's error classes."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.base.page import Page
from twilio.http.response import Response

from controller.adapters.twilio_gateway.aimd import Signal
from controller.adapters.twilio_gateway.errors import (
    LIST_PAGE_URI,
    classify,
    classify_http,
    load_signal,
)
from controller.adapters.twilio_gateway.port import (
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


KEY = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 1, False, True, None, None, None)


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "Connection refused")),
        aiohttp.ConnectionTimeoutError("connect timed out"),
    ],
)
def test_a_connection_never_opened_is_transient_and_surely_unprocessed(exc: Exception) -> None:
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
        aiohttp.ServerTimeoutError("read timed out"),
        TimeoutError(),
        ConnectionResetError(104, "reset by peer"),
        # the SDK's synchronous client (requests) is not used by the gateway; its failures
        # are OSErrors and would land here too
        requests.ConnectionError("connection aborted"),
        requests.Timeout("read timed out"),
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


# --- a failed list page: Page.process_response raises a bare TwilioException ----------------


def twilio_body(status: int, code: int, message: str) -> str:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return json.dumps({"code": code, "message": message, "more_info": more_info, "status": status})


def page_failure(status: int, text: str) -> TwilioException:
    """What the installed SDK raises for a list page answered `status` (first page or next)."""
    with pytest.raises(TwilioException) as info:
        Page.process_response(Response(status, text))
    assert type(info.value) is TwilioException  # not a TwilioRestException: no status attribute
    return info.value


@pytest.mark.parametrize(
    ("status", "code", "expected", "unprocessed"),
    [
        (429, 20429, TwilioTransientError, True),
        (503, 20429, TwilioTransientError, True),
        (500, 20500, TwilioTransientError, False),
        (502, 20500, TwilioTransientError, False),
        (503, 503, TwilioTransientError, False),
        (404, 20404, TwilioNotFoundError, False),
        (401, 20003, TwilioAuthenticationError, False),
        (403, 20003, TwilioAuthenticationError, False),
        (400, 20001, TwilioPermanentError, False),
    ],
)
def test_a_failed_list_page_maps_like_a_failed_request(
    status: int, code: int, expected: type[TwilioError], unprocessed: bool
) -> None:
    exc = page_failure(status, twilio_body(status, code, "Too many requests or whatever"))
    failure = classify("list_item_assignments", exc)
    assert failure is not None
    assert type(failure.error) is expected
    assert failure.unprocessed is unprocessed
    assert failure.error.status == status
    assert failure.error.code == code


def test_a_failed_list_page_message_names_the_operation_and_twilio_message() -> None:
    exc = page_failure(429, twilio_body(429, 20429, "Too Many Requests"))
    failure = classify("list_bundle_copies", exc)
    assert failure is not None
    text = str(failure.error)
    assert text == (
        f"list_bundle_copies: HTTP 429 (Twilio error 20429) on GET {LIST_PAGE_URI}: "
        "Unable to fetch page: Too Many Requests"
    )


def test_a_failed_list_page_in_rfc9457_format() -> None:
    body = json.dumps(
        {
            "type": "https://www.twilio.com/docs/errors/20429",
            "title": "Too Many Requests",
            "status": 429,
            "code": 20429,
            "detail": "concurrency limit",
        }
    )
    failure = classify("list_evaluations", page_failure(429, body))
    assert failure is not None
    assert isinstance(failure.error, TwilioTransientError)
    assert failure.unprocessed
    assert failure.error.code == 20429
    assert "Too Many Requests: concurrency limit" in str(failure.error)


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (502, "<html><body>Bad gateway from the load balancer</body></html>", TwilioTransientError),
        (503, "", TwilioTransientError),
        (504, "[1, 2]", TwilioTransientError),
        (404, "not json", TwilioNotFoundError),
        (302, "", TwilioPermanentError),  # a page is only read from a 200
    ],
)
def test_a_failed_list_page_without_twilio_body_uses_the_http_status(
    status: int, text: str, expected: type[TwilioError]
) -> None:
    failure = classify("list_supporting_documents", page_failure(status, text))
    assert failure is not None
    assert type(failure.error) is expected
    assert failure.error.status == status
    assert failure.error.code == status  # as the SDK does for a single request
    assert str(failure.error).endswith(": Unable to fetch page")  # the body is not repeated


def test_a_page_error_code_that_is_not_a_number_is_left_out() -> None:
    body = json.dumps({"code": "E42", "message": "odd", "status": 500})
    failure = classify("list_item_assignments", page_failure(500, body))
    assert failure is not None
    assert isinstance(failure.error, TwilioTransientError)
    assert failure.error.code is None


@pytest.mark.parametrize(
    "exc",
    [
        TwilioException("Page Records can not be deserialized"),
        TwilioException("Page.get_instance() must be implemented in the derived class"),
        TwilioException(),
    ],
)
def test_a_bare_sdk_exception_without_an_answer_is_not_a_twilio_failure(
    exc: TwilioException,
) -> None:
    """Without an HTTP answer it is a malformed 200 or an SDK bug: surfaced, never retried."""
    assert classify("list_item_assignments", exc) is None


@pytest.mark.parametrize(
    ("outcome", "signal"),
    [
        pytest.param(None, Signal.ANSWERED, id="success"),
        pytest.param(rest(429, 20429), Signal.OVERLOAD, id="429"),
        pytest.param(rest(400, 20429), Signal.OVERLOAD, id="code-20429"),
        pytest.param(rest(503, None), Signal.OVERLOAD, id="503"),
        pytest.param(TimeoutError(), Signal.OVERLOAD, id="timeout"),
        pytest.param(
            page_failure(429, twilio_body(429, 20429, "slow down")), Signal.OVERLOAD, id="page-429"
        ),
        pytest.param(
            TwilioTransientError("x", status=429, code=20429), Signal.OVERLOAD, id="port-429"
        ),
        pytest.param(rest(404, 20404), Signal.ANSWERED, id="404-is-an-answer"),
        pytest.param(rest(500, 20500), Signal.NEUTRAL, id="500-says-nothing"),
        pytest.param(aiohttp.ServerDisconnectedError(), Signal.NEUTRAL, id="dropped"),
        pytest.param(TwilioTransientError("connection closed"), Signal.NEUTRAL, id="closed"),
        pytest.param(asyncio.CancelledError(), Signal.NEUTRAL, id="cancelled"),
        pytest.param(ValueError("a bug"), Signal.NEUTRAL, id="bug"),
    ],
)
def test_what_a_finished_request_says_about_the_load(
    outcome: BaseException | None, signal: Signal
) -> None:
    assert load_signal("fetch_bundle", outcome) is signal
