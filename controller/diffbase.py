"""Kopf's last-handled configuration, kept without attribute values (Kopf's diff base storage).

Kopf stores the "essence" of each object it handled (by default the whole spec, as JSON) in an
annotation, and diffs the next version against it to know which change handlers to call. For a
BundleRenewal that copy would hold every literal attribute value (dates of birth, document
numbers) in metadata, where it travels further than the spec: Kopf's patches (and so the API
server's audit log), its DEBUG log lines, backups and tools that copy metadata.

The operator needs the diff base for one thing only: `on.update(field="spec")` waking the
resource's daemon when its spec changed. So the essence kept here is the spec with every literal
attribute value replaced by a marker naming the object's `metadata.generation`, and a value given
by reference (`valueFrom`, `attributesFrom`: names of Secrets and keys) kept as it is:
- any spec change bumps the generation (the API server does so for every change outside metadata
  and status), so a change of a value alone still changes its marker, and Kopf still sees a spec
  diff (on the attribute's path) and calls the update handler;
- a change of labels or annotations alone changes no marker, as before;
- the marker is deterministic: a restarted operator computes the same essence and sees no change;
- a digest would not do: an unsalted hash of a date of birth is reversed by trying every date,
  and a keyed one changes with its key (a new key per process means a spurious diff for every
  resource at each restart).
An essence stored by an earlier version (with values) is masked when read, so the values never
reach Kopf's diff or its DEBUG log line; the next store replaces the annotation.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any, cast

import kopf

from controller.models import VALUE_FROM

# An essence stored before values were masked: its values are replaced by this when read.
EARLIER_VALUE = "<value of an earlier spec>"
_MARKER = re.compile(r"^<value of (generation \d+|an earlier spec)>$")


def value_marker(generation: object) -> str:
    """What a literal attribute value of the spec at `generation` is stored as."""
    return f"<value of generation {generation}>"


def mask_spec(spec: Any, marker: str, *, keep_markers: bool = False) -> Any:
    """A copy of a spec (as stored: camelCase JSON) with each literal attribute value of the
    end-user and of every document entry replaced by `marker`. References and nulls (a null
    removes the field: no value) are kept; with `keep_markers`, so are values already masked."""
    if not isinstance(spec, dict):
        return spec
    masked = copy.deepcopy(spec)
    holders = [masked.get("endUser"), *(masked.get("supportingDocuments") or [])]
    for holder in holders:
        if not isinstance(holder, dict) or "attributes" not in holder:
            continue
        attributes = holder["attributes"]
        if not isinstance(attributes, dict):
            holder["attributes"] = marker
            continue
        for name, value in attributes.items():
            keep = (
                value is None
                or (isinstance(value, dict) and VALUE_FROM in value)
                or (keep_markers and isinstance(value, str) and _MARKER.match(value) is not None)
            )
            if not keep:
                attributes[name] = marker
    return masked


class ValueFreeDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """Kopf's annotation diff base, with the spec's attribute values masked (module docstring)."""

    def build(
        self,
        *,
        body: kopf.Body,
        extra_fields: Iterable[kopf.FieldSpec] | None = None,
    ) -> kopf.BodyEssence:
        essence = cast(dict[str, Any], super().build(body=body, extra_fields=extra_fields))
        if "spec" in essence:
            generation = (body.get("metadata") or {}).get("generation")
            essence["spec"] = mask_spec(essence["spec"], value_marker(generation))
        return cast(kopf.BodyEssence, essence)

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        stored = super().fetch(body=body)
        if stored is None:
            return None
        essence = cast(dict[str, Any], stored)
        if "spec" in essence:
            essence["spec"] = mask_spec(essence["spec"], EARLIER_VALUE, keep_markers=True)
        return cast(kopf.BodyEssence, essence)
