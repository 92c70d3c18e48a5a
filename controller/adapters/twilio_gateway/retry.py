"""The gateway's only retry policy: bounded attempts, exponential backoff with full jitter.

Which failures may be repeated depends on the operation, not on the failure alone:
- an operation safe to repeat (reads, deletes, absolute updates, evaluations) is retried on any
  transient failure (429/20429, 5xx, connection trouble, time-outs);
- any operation is retried after a failure Twilio certainly did not act on (429, refused
  connection);
- a non-idempotent write that failed ambiguously (the request may have been processed) is never
  repeated blindly: a `recover` check re-reads Twilio first and returns the result if the write
  happened; without such a check the caller gets TwilioAmbiguousWriteError.
The SDK's own retries stay off so this is the only policy. Sleep and randomness are injectable.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from controller.adapters.twilio_gateway.errors import Failure, classify
from controller.adapters.twilio_gateway.port import (
    TwilioAmbiguousWriteError,
    TwilioError,
    TwilioTransientError,
)
from controller.core.backoff import backoff

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Random = Callable[[], float]

_log = logging.getLogger("controller.adapters.twilio_gateway")


class RetryPolicy(BaseModel):
    """Bounds of the retry loop. `max_attempts` counts the first try."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=4, ge=1)
    base_delay_seconds: float = Field(default=0.5, gt=0)
    max_delay_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _base_within_max(self) -> RetryPolicy:
        if self.base_delay_seconds > self.max_delay_seconds:
            raise ValueError("base_delay_seconds must not exceed max_delay_seconds")
        return self


def backoff_ceiling(policy: RetryPolicy, retry_number: int) -> float:
    """The upper bound of the delay before retry number `retry_number` (0 = first retry)."""
    return backoff(max(retry_number, 0) + 1, policy.base_delay_seconds, policy.max_delay_seconds)


def jittered_delay(retry_number: int, policy: RetryPolicy, rand: Random = random.random) -> float:
    """Full jitter: uniform in [0, ceiling), so that clients hitting a limit spread out."""
    return rand() * backoff_ceiling(policy, retry_number)


@dataclass
class Retrier:
    """Runs one gateway operation under the policy."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = asyncio.sleep
    rand: Random = random.random
    #: Told the operation's name before each retry (the metrics' retry count).
    on_retry: Callable[[str], None] = field(default=lambda _operation: None)

    async def run(
        self,
        operation: str,
        attempt: Callable[[int], Awaitable[T]],
        *,
        repeatable: bool,
        recover: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Calls `attempt(attempt_number)` until it succeeds or the policy says stop.

        `recover`, when given, runs before every retry that follows a failure Twilio may have
        acted on; it returns the operation's result if the first write did take effect, or None
        if repeating the request is safe. A transient failure of `recover` itself leaves the
        outcome unknown and raises TwilioAmbiguousWriteError.
        """
        maybe_processed = False
        for attempt_number in range(self.policy.max_attempts):
            try:
                return await attempt(attempt_number)
            except Exception as exc:
                failure = classify(operation, exc)
                if failure is None:
                    raise
                if not failure.transient:
                    raise failure.error from exc
                maybe_processed = maybe_processed or not failure.unprocessed
                self._give_up_unless_repeatable(operation, failure, exc, repeatable, recover)
                last = attempt_number + 1 >= self.policy.max_attempts
                if last:
                    if maybe_processed and not repeatable:
                        raise _ambiguous(operation, failure) from exc
                    raise failure.error from exc
                delay = jittered_delay(attempt_number, self.policy, self.rand)
                _log.info(
                    "twilio %s failed (%s), retry %d/%d in %.2fs",
                    operation,
                    failure.error,
                    attempt_number + 1,
                    self.policy.max_attempts - 1,
                    delay,
                )
            self.on_retry(operation)
            await self.sleep(delay)
            if maybe_processed and recover is not None:
                recovered = await self._recover(operation, recover)
                if recovered is not None:
                    _log.info("twilio %s: the earlier attempt took effect, adopting it", operation)
                    return recovered
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    @staticmethod
    def _give_up_unless_repeatable(
        operation: str,
        failure: Failure,
        exc: Exception,
        repeatable: bool,
        recover: Callable[[], Awaitable[T | None]] | None,
    ) -> None:
        if failure.unprocessed or repeatable or recover is not None:
            return
        raise _ambiguous(operation, failure) from exc

    @staticmethod
    async def _recover(operation: str, recover: Callable[[], Awaitable[T | None]]) -> T | None:
        try:
            return await recover()
        except TwilioError as exc:
            if isinstance(exc, TwilioAmbiguousWriteError) or not isinstance(
                exc, TwilioTransientError
            ):
                raise
            raise TwilioAmbiguousWriteError(
                f"{operation}: outcome unknown, and re-reading Twilio failed too: {exc}",
                status=exc.status,
                code=exc.code,
            ) from exc


def _ambiguous(operation: str, failure: Failure) -> TwilioAmbiguousWriteError:
    return TwilioAmbiguousWriteError(
        f"{operation}: may or may not have taken effect, re-read Twilio before retrying: "
        f"{failure.error}",
        status=failure.error.status,
        code=failure.error.code,
    )
