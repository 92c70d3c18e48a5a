"""Kopf keeps no last-handled configuration on a BundleRenewal (controller.operator.diffbase):
nothing is written for it, and an annotation an earlier version wrote (possibly with attribute
values) is removed in the patch Kopf makes anyway. A spec change wakes the resource through its
generation instead (controller.operator.runtime.Runtime.seen)."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from controller.core.settings import OperatorSettings
from controller.operator.diffbase import NoDiffBaseStorage
from controller.operator.handlers import ANNOTATION_PREFIX, configure_kopf
from controller.operator.runtime import Runtime

DOB = "1985-04-12"
KEY = f"{ANNOTATION_PREFIX}/last-handled-configuration"


def body(annotations: dict[str, str] | None = None) -> kopf.Body:
    return kopf.Body(
        {
            "apiVersion": "twilio-compliance.io/v1alpha1",
            "kind": "BundleRenewal",
            "metadata": {
                "name": "jane",
                "namespace": "telecom",
                "uid": "u-1",
                "generation": 1,
                "annotations": dict(annotations or {}),
            },
            "spec": {"bundleSid": "BU" + "2" * 32, "endUser": {"attributes": {"dob": DOB}}},
        }
    )


def storage() -> NoDiffBaseStorage:
    configured = configure_kopf(kopf.OperatorSettings()).persistence.diffbase_storage
    assert isinstance(configured, NoDiffBaseStorage)
    return configured


def handled(raw: kopf.Body) -> dict[str, Any]:
    """The patch Kopf would send after handling `raw` with no change handler, as it does:
    `store` when the built essence differs from the fetched one."""
    store, patch = storage(), kopf.Patch()
    old, new = store.fetch(body=raw), store.build(body=raw)
    if new is not None and old != new:
        store.store(body=raw, patch=patch, essence=new)
    return dict(patch)


def test_nothing_is_stored_or_fetched() -> None:
    raw = body()
    assert storage().fetch(body=raw) is None
    assert handled(raw) == {}  # no annotation written: no metadata patch for Kopf to send


def test_an_earlier_versions_annotation_is_removed() -> None:
    earlier = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    patch = kopf.Patch()
    earlier.store(body=body(), patch=patch, essence=earlier.build(body=body()))
    annotations = dict(patch["metadata"]["annotations"])
    assert DOB in annotations[KEY]  # what Kopf's default storage keeps

    assert handled(body(annotations)) == {"metadata": {"annotations": {KEY: None}}}


def test_other_annotations_are_left_alone() -> None:
    assert handled(body({"team": "a", f"{ANNOTATION_PREFIX}/other": "x"})) == {}


def test_a_newer_generation_wakes_the_resource_and_its_own_writes_do_not() -> None:
    async def scenario() -> list[bool]:
        runtime = Runtime(OperatorSettings())
        woken = []
        runtime.seen("u-1", 2)  # its daemon has not reconciled yet: it is about to
        woken.append(runtime.wakeup("u-1").is_set())
        runtime.reconciling_generation("u-1", 2)
        runtime.seen("u-1", 2)  # e.g. the event of its own status patch
        woken.append(runtime.wakeup("u-1").is_set())
        runtime.seen("u-1", 3)  # the spec changed
        woken.append(runtime.wakeup("u-1").is_set())
        runtime.forget("u-1")
        runtime.seen("u-1", 4)
        woken.append("u-1" in runtime.wakeups and runtime.wakeup("u-1").is_set())
        return woken

    assert asyncio.run(scenario()) == [False, False, True, False]
