"""Kopf keeps each resource's body without `metadata.managedFields`: memory per resource.

Kopf holds the last body of every resource that has a daemon (one per BundleRenewal) for the
daemon's lifetime. Server-side field tracking (`managedFields`) is the largest part of it that
nothing here reads: 7.4 KiB of the 19.9 KiB a renewed resource's body held
(docs/development/fleet-memory.md), one entry per field manager (kubectl, the bench's client, the
operator's status writes). Dropping it when a watch event arrives keeps that memory from scaling
with the fleet.

Kopf has no public hook between the watch stream and its memory, so this wraps its per-event
processor (`kopf._core.reactor.processing.process_resource_event`), found by name at start-up and
checked: on a Kopf without it, nothing changes but a warning. Kopf's own writes are merge patches
and the operator's status patches send only status, so no write needs the field list.

Why wrap a private Kopf function, and how it fails safe: docs/design/lean-bodies.md.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

_log = logging.getLogger(__name__)

_MODULE = "kopf._core.reactor.processing"
_PROCESSOR = "process_resource_event"
_MARK = "_bundle_renewal_drops_managed_fields"


def drop_managed_fields(raw_event: MutableMapping[str, Any]) -> None:
    """Remove metadata.managedFields from a watch event's object, in place (the event may carry
    no object, or an object without metadata: left as it is)."""
    body = raw_event.get("object")
    metadata = body.get("metadata") if isinstance(body, MutableMapping) else None
    if isinstance(metadata, MutableMapping):
        metadata.pop("managedFields", None)


def install(module: Any = None) -> bool:
    """Make Kopf's event processor drop managedFields before it stores a body; False (and a
    warning) when that processor is not where this Kopf version kept it. Safe to call twice."""
    if module is None:
        try:
            module = importlib.import_module(_MODULE)
        except ImportError:
            module = None
    processor = getattr(module, _PROCESSOR, None)
    if processor is None or not inspect.iscoroutinefunction(processor):
        _log.warning("%s.%s not found: Kopf keeps managedFields", _MODULE, _PROCESSOR)
        return False
    if getattr(processor, _MARK, False):
        return True
    setattr(module, _PROCESSOR, _wrapped(processor))
    return True


def _wrapped(processor: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(processor)
    async def process(*args: Any, **kwargs: Any) -> Any:
        raw_event = kwargs.get("raw_event")
        if isinstance(raw_event, MutableMapping):
            drop_managed_fields(raw_event)
        return await processor(*args, **kwargs)

    setattr(process, _MARK, True)
    return process
