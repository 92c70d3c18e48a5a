"""The gatherer: reads the parts of Twilio's state the workflow asks for into its Observation.

The workflow names the parts it needs (an `Observe` action); this module makes exactly the reads
for those parts and nothing else, so a reconcile of a Ready resource costs one GET. Reads of
independent objects (the copy's documents) go out together; the gateway's per-account cap keeps
that polite. A 404 on the original leaves `original` None (the workflow reports it); a 404 on
anything read through the copy means the copy changed under us and is treated as an empty read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Protocol, TypeVar, runtime_checkable

from controller.plan import (
    Observation,
    ObservationPart,
    RenewalResource,
    copy_marker,
    created_document_key,
)
from controller.twilio_gateway.port import TwilioGateway, TwilioNotFoundError
from controller.twilio_models import Bundle, BundleStatus, SupportingDocument

T = TypeVar("T")

_END_USER_PREFIX = "IT"
_DOCUMENT_PREFIX = "RD"

# Dependencies between parts: reading one needs the other read first (same reconcile).
_NEEDS: dict[ObservationPart, tuple[ObservationPart, ...]] = {
    ObservationPart.COPY_ITEMS: (ObservationPart.COPIES,),
    ObservationPart.COPY_END_USER: (ObservationPart.COPIES, ObservationPart.COPY_ITEMS),
    ObservationPart.COPY_DOCUMENTS: (ObservationPart.COPIES, ObservationPart.COPY_ITEMS),
    ObservationPart.STRAY_DOCUMENTS: (ObservationPart.COPIES, ObservationPart.COPY_ITEMS),
}

# Reading order: a part is read after the parts it depends on.
_ORDER = list(ObservationPart)

# The most advanced copy wins when several carry our marker (the workflow removes the others).
_PROGRESS = {
    BundleStatus.DRAFT: 0,
    BundleStatus.TWILIO_REJECTED: 1,
    BundleStatus.PENDING_REVIEW: 2,
    BundleStatus.IN_REVIEW: 3,
    BundleStatus.PROVISIONALLY_APPROVED: 4,
    BundleStatus.TWILIO_APPROVED: 5,
}


@runtime_checkable
class SupportingDocumentLister(Protocol):
    """A gateway that can list the account's supporting documents (to find ones we created but
    never assigned because of a crash). Optional: without it, stray documents are not looked for."""

    async def list_supporting_documents(self) -> list[SupportingDocument]: ...


def our_copies(resource: RenewalResource, observation: Observation) -> list[Bundle]:
    marker = copy_marker(resource.uid)
    return [c for c in observation.copies if c.friendly_name == marker]


def current_copy(resource: RenewalResource, observation: Observation) -> Bundle | None:
    """The copy the copy-level parts are read from: the one status records, else the most
    advanced copy carrying this resource's marker."""
    ours = our_copies(resource, observation)
    if not ours:
        return None
    for copy in ours:
        if copy.sid == resource.status.copy_sid:
            return copy
    return max(ours, key=lambda c: _PROGRESS.get(c.status, 0))


def expand(parts: Iterable[ObservationPart]) -> list[ObservationPart]:
    """The parts with what they depend on, in reading order."""
    wanted = set(parts)
    for part in list(wanted):
        wanted.update(_NEEDS.get(part, ()))
    return [p for p in _ORDER if p in wanted]


async def gather(
    gateway: TwilioGateway,
    resource: RenewalResource,
    observation: Observation,
    parts: Iterable[ObservationPart],
) -> Observation:
    """`observation` with `parts` (and what they depend on, unless already read) read afresh."""
    requested = set(parts)
    for part in expand(parts):
        if part in observation.read and part not in requested:
            continue
        observation = await _read(gateway, resource, observation, part)
    return observation


async def _read(
    gateway: TwilioGateway,
    resource: RenewalResource,
    observation: Observation,
    part: ObservationPart,
) -> Observation:
    bundle_sid = resource.spec.bundle_sid
    update: dict[str, object] = {}
    match part:
        case ObservationPart.ORIGINAL:
            try:
                update["original"] = await gateway.fetch_bundle(bundle_sid)
            except TwilioNotFoundError:
                update["original"] = None
        case ObservationPart.COPIES:
            try:
                update["copies"] = tuple(await gateway.list_bundle_copies(bundle_sid))
            except TwilioNotFoundError:
                update["copies"] = ()
        case ObservationPart.COPY_ITEMS:
            copy = current_copy(resource, observation)
            items = () if copy is None else await _or_empty(gateway.list_item_assignments(copy.sid))
            update["copy_items"] = tuple(items)
        case ObservationPart.COPY_END_USER:
            sids = [i.object_sid for i in observation.copy_items]
            end_users = [s for s in sids if s.startswith(_END_USER_PREFIX)]
            end_user = None
            if end_users:
                try:
                    end_user = await gateway.fetch_end_user(end_users[0])
                except TwilioNotFoundError:
                    end_user = None
            update["copy_end_user"] = end_user
        case ObservationPart.COPY_DOCUMENTS:
            sids = [
                i.object_sid
                for i in observation.copy_items
                if i.object_sid.startswith(_DOCUMENT_PREFIX)
            ]
            update["copy_documents"] = await _fetch_documents(gateway, sids)
        case ObservationPart.ORIGINAL_DOCUMENTS:
            items = await _or_empty(gateway.list_item_assignments(bundle_sid))
            sids = [i.object_sid for i in items if i.object_sid.startswith(_DOCUMENT_PREFIX)]
            update["original_documents"] = await _fetch_documents(gateway, sids)
        case ObservationPart.STRAY_DOCUMENTS:
            update["stray_documents"] = await _stray_documents(gateway, resource, observation)
    return observation.model_copy(update={**update, "read": observation.read | {part}})


async def _or_empty(read: Awaitable[list[T]]) -> list[T]:
    try:
        return await read
    except TwilioNotFoundError:
        return []


async def _fetch_documents(
    gateway: TwilioGateway, sids: list[str]
) -> tuple[SupportingDocument, ...]:
    async def fetch(sid: str) -> SupportingDocument | None:
        try:
            return await gateway.fetch_supporting_document(sid)
        except TwilioNotFoundError:
            return None

    documents = await asyncio.gather(*(fetch(sid) for sid in sids))
    return tuple(d for d in documents if d is not None)


async def _stray_documents(
    gateway: TwilioGateway, resource: RenewalResource, observation: Observation
) -> tuple[SupportingDocument, ...]:
    if not isinstance(gateway, SupportingDocumentLister):
        return ()
    assigned = {i.object_sid for i in observation.copy_items}
    documents = await gateway.list_supporting_documents()
    return tuple(
        d
        for d in documents
        if created_document_key(resource.uid, d.friendly_name) is not None and d.sid not in assigned
    )
