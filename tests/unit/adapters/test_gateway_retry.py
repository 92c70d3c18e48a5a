"""The retry loop: which failures are repeated, for which operations, with which delays."""

from __future__ import annotations

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.response import Response

from controller.adapters.twilio_gateway.port import (
    TwilioAmbiguousWriteError,
    TwilioAuthenticationError,
    TwilioNotFoundError,
    TwilioPermanentError,
    TwilioTransientError,
)
from controller.adapters.twilio_gateway.retry import (
    Retrier,
    RetryPolicy,
    backoff_ceiling,
    jittered_delay,
)

URI = "/RegulatoryCompliance/Bundles/BU0123456789abcdef0123456789abcdef/Copies"


def too_many() -> Exception:
    return TwilioRestException(
        429, URI, "Unable to create record: Too many requests", 20429, "POST"
    )


def page_failure(status: int, code: int) -> Exception:
    """What the SDK's Page.process_response raises for a list page answered `status`."""
    body = f'{{"code": {code}, "message": "page failed", "status": {status}}}'
    return TwilioException("Unable to fetch page", Response(status, body))


def server_error() -> Exception:
    return TwilioRestException(503, URI, "Unable to create record: unavailable", 503, "POST")


class FakeOperation:
    """Raises the given exceptions in turn, then returns `result`; records every call."""

    def __init__(self, failures: list[Exception], result: str = "done") -> None:
        self.failures = list(failures)
        self.result = result
        self.attempts: list[int] = []

    async def __call__(self, attempt: int) -> str:
        self.attempts.append(attempt)
        if self.failures:
            raise self.failures.pop(0)
        return self.result


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def retrier(attempts: int = 4, sleep: RecordingSleep | None = None) -> Retrier:
    policy = RetryPolicy(max_attempts=attempts, base_delay_seconds=1.0, max_delay_seconds=5.0)
    return Retrier(policy, sleep or RecordingSleep(), lambda: 0.5)


# --- backoff math ---------------------------------------------------------------------------


def test_backoff_ceiling_doubles_then_caps() -> None:
    policy = RetryPolicy(base_delay_seconds=0.5, max_delay_seconds=3.0)
    assert [backoff_ceiling(policy, n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_scales_the_ceiling_by_the_random_draw() -> None:
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=10.0)
    assert jittered_delay(2, policy, lambda: 0.0) == 0.0
    assert jittered_delay(2, policy, lambda: 0.25) == 1.0
    assert jittered_delay(2, policy, lambda: 0.999) == pytest.approx(3.996)


@given(
    retry_number=st.integers(min_value=0, max_value=10_000),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    base=st.floats(min_value=0.001, max_value=5.0),
    extra=st.floats(min_value=0.0, max_value=100.0),
)
def test_delay_is_never_negative_nor_above_the_cap(
    retry_number: int, draw: float, base: float, extra: float
) -> None:
    policy = RetryPolicy(base_delay_seconds=base, max_delay_seconds=base + extra)
    delay = jittered_delay(retry_number, policy, lambda: draw)
    assert 0.0 <= delay <= policy.max_delay_seconds


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="must not exceed"):
        RetryPolicy(base_delay_seconds=10, max_delay_seconds=1)


# --- repeatable operations ------------------------------------------------------------------


async def test_repeatable_operation_retries_429_5xx_and_dropped_connections() -> None:
    sleep = RecordingSleep()
    op = FakeOperation([too_many(), server_error(), aiohttp.ServerDisconnectedError()])
    result = await retrier(4, sleep).run("fetch_bundle", op, repeatable=True)
    assert result == "done"
    assert op.attempts == [0, 1, 2, 3]
    # rand() = 0.5 of ceilings 1, 2, 4
    assert sleep.delays == [0.5, 1.0, 2.0]


async def test_a_list_page_answered_429_or_5xx_is_retried_like_any_read() -> None:
    sleep = RecordingSleep()
    op = FakeOperation([page_failure(429, 20429), page_failure(503, 20500)])
    result = await retrier(4, sleep).run("list_item_assignments", op, repeatable=True)
    assert result == "done"
    assert op.attempts == [0, 1, 2]
    assert sleep.delays == [0.5, 1.0]


async def test_a_list_page_answered_404_is_not_retried() -> None:
    op = FakeOperation([page_failure(404, 20404)])
    with pytest.raises(TwilioNotFoundError) as info:
        await retrier(4).run("list_item_assignments", op, repeatable=True)
    assert info.value.status == 404
    assert op.attempts == [0]


async def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    sleep = RecordingSleep()
    op = FakeOperation([server_error()] * 10)
    with pytest.raises(TwilioTransientError) as info:
        await retrier(3, sleep).run("fetch_bundle", op, repeatable=True)
    assert not isinstance(info.value, TwilioAmbiguousWriteError)
    assert info.value.status == 503
    assert len(op.attempts) == 3
    assert len(sleep.delays) == 2


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TwilioRestException(401, URI, "no", 20003, "GET"), TwilioAuthenticationError),
        (TwilioRestException(404, URI, "no", 20404, "GET"), TwilioNotFoundError),
        (TwilioRestException(400, URI, "no", 22204, "GET"), TwilioPermanentError),
    ],
)
async def test_permanent_errors_are_never_retried(
    exc: Exception, expected: type[Exception]
) -> None:
    sleep = RecordingSleep()
    op = FakeOperation([exc])
    with pytest.raises(expected):
        await retrier(4, sleep).run("fetch_bundle", op, repeatable=True)
    assert op.attempts == [0]
    assert sleep.delays == []


async def test_bugs_propagate_untouched() -> None:
    op = FakeOperation([KeyError("sid")])
    with pytest.raises(KeyError):
        await retrier().run("fetch_bundle", op, repeatable=True)
    assert op.attempts == [0]


# --- non-idempotent writes ------------------------------------------------------------------


async def test_unsafe_write_is_retried_after_429_because_twilio_did_not_process_it() -> None:
    op = FakeOperation([too_many(), too_many()])
    assert await retrier().run("create_bundle_copy", op, repeatable=False) == "done"
    assert op.attempts == [0, 1, 2]


async def test_unsafe_write_without_recovery_raises_ambiguous_after_a_dropped_connection() -> None:
    sleep = RecordingSleep()
    op = FakeOperation([aiohttp.ServerDisconnectedError()])
    with pytest.raises(TwilioAmbiguousWriteError, match="create_supporting_document"):
        await retrier(4, sleep).run("create_supporting_document", op, repeatable=False)
    assert op.attempts == [0]
    assert sleep.delays == []


async def test_unsafe_write_without_recovery_raises_ambiguous_after_a_5xx() -> None:
    op = FakeOperation([server_error()])
    with pytest.raises(TwilioAmbiguousWriteError) as info:
        await retrier().run("create_supporting_document", op, repeatable=False)
    assert info.value.status == 503
    assert op.attempts == [0]


async def test_recovery_adopts_the_earlier_write_instead_of_writing_again() -> None:
    op = FakeOperation([aiohttp.ServerDisconnectedError()])
    checks: list[str] = []

    async def recover() -> str | None:
        checks.append("listed copies")
        return "existing copy"

    result = await retrier().run("create_bundle_copy", op, repeatable=False, recover=recover)
    assert result == "existing copy"
    assert op.attempts == [0]
    assert checks == ["listed copies"]


async def test_recovery_that_finds_nothing_lets_the_write_be_repeated() -> None:
    op = FakeOperation([server_error()], result="new copy")

    async def recover() -> str | None:
        return None

    result = await retrier().run("create_bundle_copy", op, repeatable=False, recover=recover)
    assert result == "new copy"
    assert op.attempts == [0, 1]


async def test_recovery_is_skipped_when_the_failure_was_surely_unprocessed() -> None:
    op = FakeOperation([too_many()])
    checks: list[str] = []

    async def recover() -> str | None:
        checks.append("checked")
        return None

    assert await retrier().run("create_bundle_copy", op, repeatable=False, recover=recover)
    assert checks == []


async def test_recovery_failing_transiently_leaves_the_outcome_ambiguous() -> None:
    op = FakeOperation([aiohttp.ServerDisconnectedError()])

    async def recover() -> str | None:
        raise TwilioTransientError("list failed too", status=503)

    with pytest.raises(TwilioAmbiguousWriteError, match="outcome unknown"):
        await retrier().run("create_bundle_copy", op, repeatable=False, recover=recover)
    assert op.attempts == [0]


async def test_recovery_failing_permanently_surfaces_that_error() -> None:
    op = FakeOperation([aiohttp.ServerDisconnectedError()])

    async def recover() -> str | None:
        raise TwilioNotFoundError("original gone", status=404, code=20404)

    with pytest.raises(TwilioNotFoundError):
        await retrier().run("create_bundle_copy", op, repeatable=False, recover=recover)


async def test_last_ambiguous_attempt_of_an_unsafe_write_is_reported_ambiguous() -> None:
    op = FakeOperation([server_error()] * 5)

    async def recover() -> str | None:
        return None

    with pytest.raises(TwilioAmbiguousWriteError):
        await retrier(3).run("create_bundle_copy", op, repeatable=False, recover=recover)
    assert len(op.attempts) == 3


async def test_repeatable_write_with_a_check_runs_the_check_before_repeating() -> None:
    """Submit: after an ambiguous failure, re-read the bundle; already submitted = success."""
    order: list[str] = []

    async def submit(attempt: int) -> str:
        order.append(f"submit {attempt}")
        raise server_error()

    async def already_submitted() -> str | None:
        order.append("fetch")
        return "pending-review"

    result = await retrier().run(
        "submit_bundle", submit, repeatable=True, recover=already_submitted
    )
    assert result == "pending-review"
    assert order == ["submit 0", "fetch"]


# --- the metrics' retry count ---------------------------------------------------------------


async def test_every_scheduled_retry_is_told_and_nothing_else() -> None:
    told: list[str] = []
    policy = RetryPolicy(max_attempts=3, base_delay_seconds=1.0, max_delay_seconds=5.0)
    retry = Retrier(policy, RecordingSleep(), lambda: 0.5, told.append)
    operation = FakeOperation([too_many(), server_error()])
    assert await retry.run("fetch_bundle", operation, repeatable=True) == "done"
    assert told == ["fetch_bundle", "fetch_bundle"]

    told.clear()  # the last attempt fails: no retry follows it, so none is told
    with pytest.raises(TwilioTransientError):
        await retry.run("fetch_bundle", FakeOperation([server_error()] * 3), repeatable=True)
    assert told == ["fetch_bundle", "fetch_bundle"]

    told.clear()  # a permanent failure is never retried
    with pytest.raises(TwilioNotFoundError):
        await retry.run(
            "fetch_bundle",
            FakeOperation([TwilioRestException(404, URI, "not found", 20404, "GET")]),
            repeatable=True,
        )
    assert told == []
