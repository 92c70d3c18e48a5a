"""No last-handled configuration on the object: Kopf's diff base storage, switched off.

Kopf stores the "essence" of each object it handled (by default the whole spec, as JSON) in an
annotation, and diffs the next version against it to know which change handlers to call. This
operator registers no change handler: a spec change wakes the resource's daemon because the
watch event carries a newer `metadata.generation` (handlers.py, `on.event`). So nothing is
stored, which saves a metadata patch per created resource (the benchmark's Kopf writes), the
annotation's memory in every watched body, and keeps attribute values out of metadata (Kopf's
default essence is the spec, values and all).

An annotation written by an earlier version is removed the first time this version processes the
object, the same patch Kopf makes for its own bookkeeping: an earlier version's essence may hold
literal attribute values.

Why no last-handled configuration: docs/design/diff-base.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import kopf

# What `build` returns: never stored, only compared with `fetch`'s None, so that Kopf calls
# `store` (which removes an earlier version's annotation, if any).
_NOTHING = cast(kopf.BodyEssence, {})


class NoDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """Keeps no essence; removes the annotation an earlier version kept (module docstring)."""

    def build(
        self,
        *,
        body: kopf.Body,
        extra_fields: Iterable[kopf.FieldSpec] | None = None,
    ) -> kopf.BodyEssence:
        return _NOTHING

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        annotations = body.metadata.annotations
        for key in self.make_keys(self.key, body=body):
            if key in annotations:
                patch.meta.annotations[key] = None
