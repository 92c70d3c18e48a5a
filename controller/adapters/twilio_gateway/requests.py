"""The plumbing every SdkTwilioGateway request goes through: a slot of the account, the metrics,
the Retrier, page-by-page lists, and deletes that count a 404 on a retry as done.

`_send` holds one of the account's slots (slots.py: an adaptive limit, waiters served by the
gateway's priority) for the duration of one HTTP attempt (never during backoff), tells the limit
how the attempt went, counts and times the call and logs the operation with SIDs only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from controller.adapters.twilio_gateway.config import GatewaySettings
from controller.adapters.twilio_gateway.connection import AccountConnection
from controller.adapters.twilio_gateway.convert import from_instance
from controller.adapters.twilio_gateway.errors import classify, load_signal
from controller.adapters.twilio_gateway.metrics import OK, CallCounter, outcome_of
from controller.adapters.twilio_gateway.port import PageProgress
from controller.adapters.twilio_gateway.retry import Retrier
from controller.adapters.twilio_gateway.slots import AccountSlots

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_log = logging.getLogger("controller.adapters.twilio_gateway")


class SdkRequests:
    """One account's requests through the SDK (the base of SdkTwilioGateway)."""

    def __init__(
        self,
        connection: AccountConnection,
        limiter: AccountSlots,
        settings: GatewaySettings,
        retrier: Retrier,
        counter: CallCounter,
        priority: float | None = None,
    ) -> None:
        self._connection = connection
        self._limiter = limiter
        self._priority = priority
        self._settings = settings
        self._retrier = retrier
        self._counter = counter

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account_sid={self._connection.account_sid!r})"

    async def _send(
        self,
        operation: str,
        sids: str,
        request: Callable[[Any], Awaitable[T]],
        *,
        counted: bool = True,
        timed: bool = True,
    ) -> T:
        """One HTTP attempt in one of the account's slots (`counted`: in the call count;
        `timed`: its latency feeds the adaptive limit, not for uploads sized by their file),
        timed by outcome in the metrics once answered or failed (waiting for a slot excluded)."""
        slot = await self._limiter.acquire(self._priority)
        outcome: BaseException | None = None
        started = time.monotonic()
        try:
            if counted:
                self._counter.record_call(operation)
            _log.debug("twilio %s %s", operation, sids)
            result = await request(self._connection.compliance())
        except BaseException as exc:
            outcome = exc
            failure = classify(operation, exc)
            self._counter.record_attempt(operation, outcome_of(failure), time.monotonic() - started)
            if failure is not None:
                self._counter.record_failure(operation, type(failure.error).__name__)
                _log.debug(
                    "twilio %s %s failed: %s status=%s code=%s",
                    operation,
                    sids,
                    type(failure.error).__name__,
                    failure.error.status,
                    failure.error.code,
                )
            raise
        finally:
            signal = load_signal(operation, outcome)
            self._limiter.release(slot, signal, operation if timed else None)
        self._counter.record_attempt(operation, OK, time.monotonic() - started)
        return result

    async def _one(
        self,
        model: type[M],
        operation: str,
        sids: str,
        request: Callable[[Any], Awaitable[object]],
        *,
        repeatable: bool = True,
    ) -> M:
        """One request through the Retrier, its answer converted to `model`."""
        instance = await self._retrier.run(
            operation, lambda _: self._send(operation, sids, request), repeatable=repeatable
        )
        return from_instance(model, instance, operation)

    async def _list(
        self,
        model: type[M],
        operation: str,
        sids: str,
        resource: Callable[[Any], Any],
        *,
        params: dict[str, Any] | None = None,
        on_page: PageProgress | None = None,
    ) -> list[M]:
        """Every page of the list `resource(compliance_client)`, as `model`s.

        What the SDK's list_async does (first page, then each page's next_page_url), but each
        page is its own repeatable request through the Retrier: a 429/5xx on page n repeats page
        n, not the pages already read. The list counts once in the call count, each retry of
        one of its pages once more. `params` are the first page's filters (the next pages' URLs
        carry them); `on_page` hears the number of records read after each page.
        """
        size = self._settings.page_size
        kwargs: dict[str, Any] = dict(params or {})
        if size is not None:
            kwargs.setdefault("page_size", size)  # (a query may ask for its own)

        def next_page(url: str) -> Callable[[Any], Awaitable[Any]]:
            return lambda rc: resource(rc).get_page_async(url)

        page = await self._page(
            operation, sids, lambda rc: resource(rc).page_async(**kwargs), first=True
        )
        instances: list[Any] = list(page)
        if on_page is not None:
            on_page(len(instances))
        while (url := page.next_page_url) is not None:
            page = await self._page(operation, sids, next_page(url), first=False)
            instances.extend(page)
            if on_page is not None:
                on_page(len(instances))
        return [from_instance(model, i, operation) for i in instances]

    async def _page(
        self,
        operation: str,
        sids: str,
        request: Callable[[Any], Awaitable[Any]],
        *,
        first: bool,
    ) -> Any:
        """One page of a list (an SDK Page), retried on its own."""
        return await self._retrier.run(
            operation,
            lambda attempt: self._send(operation, sids, request, counted=first or attempt > 0),
            repeatable=True,
        )

    async def _delete(
        self,
        attempt: int,
        operation: str,
        sids: str,
        request: Callable[[Any], Awaitable[object]],
    ) -> None:
        """A delete; a 404 on a retry means the earlier attempt did delete it."""
        try:
            await self._send(operation, sids, request)
        except (TwilioRestException, TwilioServiceException) as exc:
            if attempt > 0 and exc.status == 404:
                _log.debug("twilio %s %s: gone after a retried delete, done", operation, sids)
                return
            raise
