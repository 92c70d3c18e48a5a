"""Opt-in: give an original bundle the operator's StatusCallback, so Twilio tells the operator
when a regulation change sets its valid_until.

This is the one write to an original bundle outside ReplaceItems, and it is kept outside the
workflow and the action runner (whose guard refuses any other write to the original) on purpose:
it changes metadata only, never the bundle's content, status or items; it is a separate update
of `StatusCallback` alone (Twilio refuses other fields with a status change, and nothing else is
sent); it runs only when WEBHOOK_SET_CALLBACK_ON_ORIGINALS is true (off by default), or for a
ComplianceAccount with `statusCallbacks: Register` (accounts/callbacks.py); and it never
replaces a StatusCallback someone else set: a bundle that already has another URL is left alone,
and the operator falls back to its light checks for it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from controller.adapters.twilio_gateway.port import TwilioError
from controller.core.twilio_models import Bundle, BundleStatus


class CallbackSetter(Protocol):
    """The one gateway call this needs (TwilioGateway has it)."""

    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle: ...


_UNDER_REVIEW = (BundleStatus.PENDING_REVIEW, BundleStatus.IN_REVIEW)

AnyLogger = logging.Logger | logging.LoggerAdapter[Any]


async def register_on_original(
    gateway: CallbackSetter, original: Bundle, url: str, logger: AnyLogger
) -> bool:
    """Set `url` as the original's StatusCallback if it has none; True if it was set now."""
    if original.status_callback == url:
        return False
    if original.status_callback:
        logger.debug(
            "original bundle %s has its own StatusCallback; leaving it (light checks only)",
            original.sid,
        )
        return False
    if original.status in _UNDER_REVIEW:
        return False  # not while Twilio reviews it; the next check does it
    try:
        await gateway.set_status_callback(original.sid, url)
    except TwilioError as exc:
        logger.warning("could not set StatusCallback on original bundle %s: %s", original.sid, exc)
        return False
    logger.info("set StatusCallback on original bundle %s", original.sid)
    return True
