"""Editing the copy's supporting documents: which document a spec entry means, and its next write.

A spec entry means the document this resource created for it (its marker in the friendly name),
else the copy's one document of that type (narrowed by `match`). Values are compared field by
field; only the names of changed fields leave this module.
"""

from __future__ import annotations

from typing import Any

from controller.core.models import (
    AppliedDocument,
    BundleRenewalSpec,
    BundleRenewalStatus,
    CreatedDocument,
    Reason,
    SupportingDocumentSpec,
    document_key,
)
from controller.core.plan import (
    AssignItem,
    CreateDocument,
    Decision,
    ObservationPart,
    UnassignItem,
    UpdateDocument,
    created_document_key,
    created_document_name,
)
from controller.core.twilio_models import Bundle, SupportingDocument
from controller.core.workflow.context import Context, Write
from controller.core.workflow.status import failed


def merge(current: dict[str, Any], wanted: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The attributes after applying `wanted` (a None value removes the field), and the names of
    the fields that change."""
    merged = dict(current)
    changed = []
    for name, value in wanted.items():
        if value is None:
            if name in merged:
                del merged[name]
                changed.append(name)
        elif merged.get(name) != value or name not in merged:
            merged[name] = value
            changed.append(name)
    return merged, changed


def needs_original_documents(spec: BundleRenewalSpec) -> bool:
    return any(d.match is not None and d.match.original_sid for d in spec.supporting_documents)


def find_document(
    ctx: Context,
    status: BundleRenewalStatus,
    entry: SupportingDocumentSpec,
    key: str,
    documents: tuple[SupportingDocument, ...],
    *,
    in_original: bool = False,
) -> SupportingDocument | Decision | None:
    """The document among `documents` (the copy's, or the original's when `in_original`) this
    spec entry means, None if there is none, or a Stalled decision if the entry is ambiguous."""
    uid = ctx.resource.uid
    created = [d for d in documents if created_document_key(uid, d.friendly_name) == key]
    if created:
        return created[0]
    candidates = [
        d
        for d in documents
        if d.type == entry.type and created_document_key(uid, d.friendly_name) is None
    ]
    match = entry.match
    if match is not None and match.friendly_name is not None:
        candidates = [d for d in candidates if d.friendly_name == match.friendly_name]
    elif match is not None and match.original_sid is not None:
        originals = [d for d in ctx.obs.original_documents if d.type == entry.type]
        source = next((d for d in originals if d.sid == match.original_sid), None)
        if source is None:
            return failed(
                ctx,
                status,
                Reason.AMBIGUOUS_DOCUMENT,
                f"supportingDocuments {key}: bundle {ctx.spec.bundle_sid} has no "
                f"{entry.type} document {match.original_sid}",
            )
        same_name = [d for d in candidates if d.friendly_name == source.friendly_name]
        if in_original:
            candidates = [source]
        elif len(same_name) == 1:
            candidates = same_name
        elif len(candidates) == len(originals):
            # Twilio copies the items in order: the n-th of the type maps to the n-th.
            candidates = [candidates[originals.index(source)]]
    if len(candidates) > 1:
        sids = ", ".join(d.sid for d in candidates)
        return failed(
            ctx,
            status,
            Reason.AMBIGUOUS_DOCUMENT,
            f"supportingDocuments {key}: the copy has {len(candidates)} {entry.type} documents "
            f"({sids}); add match.friendlyName or match.originalSid",
        )
    return candidates[0] if candidates else None


def may_clash(spec: BundleRenewalSpec) -> bool:
    """Whether two entries could land on one document: they share a type, and one of them has no
    `match`, two have the same one, or one matches by friendlyName and another by originalSid
    (which may name the same document). Distinct matches of one kind name distinct documents."""
    groups: dict[str, list[tuple[str | None, str | None] | None]] = {}
    for entry in spec.supporting_documents:
        match = entry.match
        groups.setdefault(entry.type, []).append(
            None if match is None else (match.friendly_name, match.original_sid)
        )
    return any(
        len(matches) > 1
        and (
            None in matches
            or len(set(matches)) < len(matches)
            or len({m[0] is None for m in matches if m is not None}) > 1
        )
        for matches in groups.values()
    )


def conflicting_entries(
    ctx: Context,
    status: BundleRenewalStatus,
    documents: tuple[SupportingDocument, ...],
    *,
    in_original: bool = False,
) -> Decision | None:
    """Stalled if two spec entries would land on the same Twilio document of `documents` (the
    copy's, or the original's before a copy is made): with different fields they would be
    silently merged, with different values updated back and forth for ever. None: no clash."""
    spec = ctx.spec
    landing: dict[str, list[str]] = {}
    for index, entry in enumerate(spec.supporting_documents):
        key = document_key(spec, index)
        target = find_document(ctx, status, entry, key, documents, in_original=in_original)
        if isinstance(target, Decision):
            return target
        if target is not None:
            landing.setdefault(target.sid, []).append(key)
    for sid, keys in landing.items():
        if len(keys) > 1:
            doc_type = next(d.type for d in documents if d.sid == sid)
            return failed(
                ctx,
                status,
                Reason.AMBIGUOUS_DOCUMENT,
                f"supportingDocuments {' and '.join(keys)} would all change {doc_type} "
                f"document {sid}; give each a match.friendlyName or match.originalSid naming a "
                "different document, or merge them into one entry",
            )
    return None


def documents_step(
    ctx: Context, status: BundleRenewalStatus, copy: Bundle
) -> Write | Decision | list[AppliedDocument]:
    """The next write the spec's documents need in the copy, a decision that ends this round
    (an observation still needed, an ambiguous entry), or, when the copy matches every entry,
    what was applied."""
    spec, obs, uid = ctx.spec, ctx.obs, ctx.resource.uid
    if may_clash(spec) and (clash := conflicting_entries(ctx, status, obs.copy_documents)):
        return clash
    documents: list[AppliedDocument] = []
    for index, entry in enumerate(spec.supporting_documents):
        key = document_key(spec, index)
        target = find_document(ctx, status, entry, key, obs.copy_documents)
        if isinstance(target, Decision):
            return target
        if entry.remove:
            if target is not None:
                item = next((i for i in obs.copy_items if i.object_sid == target.sid), None)
                if item is not None:
                    return Write(
                        UnassignItem(
                            bundle_sid=copy.sid, assignment_sid=item.sid, object_sid=target.sid
                        ),
                        Reason.UPDATING,
                        f"removing {entry.type} document {target.sid} from copy {copy.sid}",
                    )
            documents.append(
                AppliedDocument(
                    key=key, type=entry.type, action="removed", sid=target.sid if target else None
                )
            )
            continue
        if target is not None:
            merged, changed = merge(target.attributes, entry.attributes)
            if changed:
                return Write(
                    UpdateDocument(
                        sid=target.sid, key=key, attributes=merged, changed_fields=tuple(changed)
                    ),
                    Reason.UPDATING,
                    f"updating {entry.type} document {target.sid} fields {', '.join(changed)}",
                )
            fields = sorted(entry.attributes)
            created = created_document_key(uid, target.friendly_name) == key
            documents.append(
                AppliedDocument(
                    key=key,
                    type=entry.type,
                    sid=target.sid,
                    fields=fields,
                    action="created" if created else ("updated" if fields else "unchanged"),
                )
            )
            continue
        return _add_document(ctx, status, copy, entry, key)
    return documents


def _add_document(
    ctx: Context, status: BundleRenewalStatus, copy: Bundle, entry: SupportingDocumentSpec, key: str
) -> Write | Decision:
    """A document the copy lacks: assign the one an earlier attempt created (recorded in
    status.createdDocuments before it was requested), else create it."""
    uid = ctx.resource.uid
    recorded = status.created_documents
    if recorded is None or any(d.key == key for d in recorded):
        part = ObservationPart.STRAY_DOCUMENTS
        if (observe := ctx.need(part, status=status)) is not None:
            return observe
        stray = next(
            (
                d
                for d in ctx.obs.stray_documents
                if created_document_key(uid, d.friendly_name) == key
            ),
            None,
        )
        if stray is not None:
            return Write(
                AssignItem(bundle_sid=copy.sid, object_sid=stray.sid),
                Reason.UPDATING,
                f"adding {entry.type} document {stray.sid} to copy {copy.sid}",
                CreatedDocument(key=key, sid=stray.sid),
            )
    return Write(
        CreateDocument(
            key=key,
            type=entry.type,
            friendly_name=created_document_name(uid, key, entry.friendly_name),
            attributes={k: v for k, v in entry.attributes.items() if v is not None},
            file=entry.file,
        ),
        Reason.UPDATING,
        f"creating {entry.type} document for {key}",
        CreatedDocument(key=key),
    )


def record_created(status: BundleRenewalStatus, created: CreatedDocument) -> BundleRenewalStatus:
    """`status` with `created` recorded (replacing what was recorded for its key)."""
    others = [d for d in status.created_documents or [] if d.key != created.key]
    return status.model_copy(update={"created_documents": [*others, created]})
