"""The gatherer: reads the parts of Twilio's state the workflow asks for into its Observation.

The workflow names the parts it needs (an `Observe` action); this module makes exactly the reads
for those parts and nothing else, so a reconcile of a Ready resource costs one GET. Reads of
independent objects (the copy's documents) go out together; the gateway's per-account cap keeps
that polite. A 404 on the original leaves `original` None (the workflow reports it). A 404 on the
copy's item list means the copy is gone (it is dropped from `copies`, never taken for an empty
copy, which would look like one whose items were replaced); a 404 on one object read through the
copy leaves that object out. What the original's regulation accepts comes through the process's
regulation cache (regulation_cache.py), not from Twilio on every reconcile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from controller.adapters.twilio_gateway.port import TwilioGateway, TwilioNotFoundError
from controller.core.plan import (
    Observation,
    ObservationPart,
    RenewalResource,
    created_document_key,
    rank_our_copies,
)
from controller.core.twilio_models import EndUser, ItemAssignment, SupportingDocument
from controller.engine.regulation_cache import AccountRegulations

_END_USER_PREFIX = "IT"
_DOCUMENT_PREFIX = "RD"

# Dependencies between parts: reading one needs the other read first (same reconcile).
_NEEDS: dict[ObservationPart, tuple[ObservationPart, ...]] = {
    ObservationPart.COPY_ITEMS: (ObservationPart.COPIES,),
    ObservationPart.COPY_END_USER: (ObservationPart.COPIES, ObservationPart.COPY_ITEMS),
    ObservationPart.COPY_DOCUMENTS: (ObservationPart.COPIES, ObservationPart.COPY_ITEMS),
    ObservationPart.STRAY_DOCUMENTS: (ObservationPart.COPIES, ObservationPart.COPY_ITEMS),
    ObservationPart.ORIGINAL_END_USER: (ObservationPart.ORIGINAL_ITEMS,),
    ObservationPart.ORIGINAL_DOCUMENTS: (ObservationPart.ORIGINAL_ITEMS,),
    ObservationPart.REGULATION: (ObservationPart.ORIGINAL,),
    ObservationPart.REGULATION_REFRESHED: (ObservationPart.ORIGINAL,),
}

# Reading order: a part is read after the parts it depends on.
_ORDER = list(ObservationPart)


@runtime_checkable
class SupportingDocumentLister(Protocol):
    """A gateway that can list the account's supporting documents (to find ones we created but
    never assigned because of a crash). Optional: without it, stray documents are not looked for."""

    async def list_supporting_documents(self) -> list[SupportingDocument]: ...


__all__ = ["SupportingDocumentLister", "expand", "gather"]


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
    regulations: AccountRegulations | None = None,
) -> Observation:
    """`observation` with `parts` (and what they depend on, unless already read) read afresh;
    the regulation parts through `regulations` (None: left empty)."""
    requested = set(parts)
    for part in expand(parts):
        if part in observation.read and part not in requested:
            continue
        observation = await _read(gateway, resource, observation, part, regulations)
    return observation


async def _read(
    gateway: TwilioGateway,
    resource: RenewalResource,
    observation: Observation,
    part: ObservationPart,
    regulations: AccountRegulations | None,
) -> Observation:
    bundle_sid = resource.spec.bundle_sid
    update: dict[str, object] = {}
    match part:
        case ObservationPart.REGULATION | ObservationPart.REGULATION_REFRESHED:
            original = observation.original
            sid = original.regulation_sid if original is not None else None
            terms = None
            if regulations is not None and sid:
                refresh = part is ObservationPart.REGULATION_REFRESHED
                terms = await regulations.terms(sid, refresh=refresh)
            update["regulation"] = terms
            # A fresh answer is also the cached one: the plain part counts as read.
            return observation.model_copy(
                update={**update, "read": observation.read | {part, ObservationPart.REGULATION}}
            )
        case ObservationPart.ORIGINAL:
            try:
                update["original"] = await gateway.fetch_bundle(bundle_sid)
            except TwilioNotFoundError:
                update["original"] = None
        case ObservationPart.COPIES:
            try:
                copies = tuple(await gateway.list_bundle_copies(bundle_sid))
            except TwilioNotFoundError:
                copies = ()
            # Which copy is ours is decided here, once, for the workflow and the action guard.
            update["copies"] = copies
            update["ours"] = rank_our_copies(resource, copies)
        case ObservationPart.COPY_ITEMS:
            copy = observation.our_copy
            items: list[ItemAssignment] = []
            if copy is not None:
                try:
                    items = await gateway.list_item_assignments(copy.sid)
                except TwilioNotFoundError:
                    # The copy is gone: forget it, so the workflow sees no copy rather than
                    # an empty one.
                    update["copies"] = tuple(c for c in observation.copies if c.sid != copy.sid)
                    update["ours"] = tuple(c for c in observation.ours if c.sid != copy.sid)
            update["copy_items"] = tuple(items)
        case ObservationPart.COPY_END_USER:
            update["copy_end_user"] = await _fetch_end_user(gateway, observation.copy_items)
        case ObservationPart.COPY_DOCUMENTS:
            update["copy_documents"] = await _fetch_documents(gateway, observation.copy_items)
        case ObservationPart.ORIGINAL_ITEMS:
            update["original_items"] = tuple(await gateway.list_item_assignments(bundle_sid))
        case ObservationPart.ORIGINAL_END_USER:
            update["original_end_user"] = await _fetch_end_user(gateway, observation.original_items)
        case ObservationPart.ORIGINAL_DOCUMENTS:
            update["original_documents"] = await _fetch_documents(
                gateway, observation.original_items
            )
        case ObservationPart.STRAY_DOCUMENTS:
            update["stray_documents"] = await _stray_documents(gateway, resource, observation)
    return observation.model_copy(update={**update, "read": observation.read | {part}})


async def _fetch_end_user(
    gateway: TwilioGateway, items: Iterable[ItemAssignment]
) -> EndUser | None:
    sids = [i.object_sid for i in items if i.object_sid.startswith(_END_USER_PREFIX)]
    if not sids:
        return None
    try:
        return await gateway.fetch_end_user(sids[0])
    except TwilioNotFoundError:
        return None


async def _fetch_documents(
    gateway: TwilioGateway, items: Iterable[ItemAssignment]
) -> tuple[SupportingDocument, ...]:
    sids = [i.object_sid for i in items if i.object_sid.startswith(_DOCUMENT_PREFIX)]
    return await _fetch_all(gateway, sids)


async def _fetch_all(gateway: TwilioGateway, sids: list[str]) -> tuple[SupportingDocument, ...]:
    """The documents with these SIDs, fetched together; one gone (404) is left out."""

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
    """The documents this resource created that the copy does not hold: fetched one by one from
    status.createdDocuments when every SID there is known (a read per document, usually none);
    else (a crash between requesting one and recording it, or a status from an older version)
    found by their marker in a listing of the whole account."""
    assigned = {i.object_sid for i in observation.copy_items}
    recorded = resource.status.created_documents
    if recorded is not None and all(d.sid is not None for d in recorded):
        sids = [d.sid for d in recorded if d.sid is not None and d.sid not in assigned]
        documents: Iterable[SupportingDocument] = await _fetch_all(gateway, sids)
    elif isinstance(gateway, SupportingDocumentLister):
        documents = await gateway.list_supporting_documents()
    else:
        return ()
    return tuple(
        d
        for d in documents
        if created_document_key(resource.uid, d.friendly_name) is not None and d.sid not in assigned
    )
