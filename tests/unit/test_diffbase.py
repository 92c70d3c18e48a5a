"""Kopf's last-handled configuration keeps no attribute value (controller.diffbase), yet still
tells a spec change from none: a change of a value alone changes the stored essence's spec (so
`on.update(field="spec")` fires), a change of labels alone does not, and the same object gives
the same essence in a restarted operator. An annotation stored by an earlier version (with
values) is masked as soon as it is read."""

from __future__ import annotations

import copy
import json
from typing import Any

import kopf

from controller.diffbase import EARLIER_VALUE, ValueFreeDiffBaseStorage, mask_spec, value_marker
from controller.handlers import ANNOTATION_PREFIX, configure_kopf

DOB = "1985-04-12"
NUMBER = "GB-Passport-77120"
KEY = f"{ANNOTATION_PREFIX}/last-handled-configuration"
REFERENCE = {"valueFrom": {"secretKeyRef": {"name": "jane", "key": "number"}}}


def body(generation: int = 1, **overrides: Any) -> dict[str, Any]:
    spec = {
        "bundleSid": "BU" + "2" * 32,
        "credentialsSecretRef": {"name": "twilio-credentials"},
        "endUser": {
            "attributes": {"date_of_birth": DOB, "middle_name": None},
            "attributesFrom": [{"secretRef": {"name": "jane-end-user"}}],
        },
        "supportingDocuments": [
            {"type": "passport", "attributes": {"document_number": NUMBER, "ref": REFERENCE}},
            {"type": "utility_bill", "remove": True},
        ],
    }
    spec.update(overrides)
    return {
        "apiVersion": "twilio-compliance.io/v1alpha1",
        "kind": "BundleRenewal",
        "metadata": {
            "name": "jane",
            "namespace": "telecom",
            "uid": "u-1",
            "generation": generation,
            "labels": {"team": "a"},
            "annotations": {},
        },
        "spec": spec,
    }


def storage() -> ValueFreeDiffBaseStorage:
    configured = configure_kopf(kopf.OperatorSettings()).persistence.diffbase_storage
    assert isinstance(configured, ValueFreeDiffBaseStorage)
    return configured


def stored(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with the annotation the storage writes after handling it."""
    store = storage()
    patch = kopf.Patch()
    store.store(body=kopf.Body(raw), patch=patch, essence=store.build(body=kopf.Body(raw)))
    out = copy.deepcopy(raw)
    out["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    return out


def test_the_stored_annotation_holds_no_value_and_keeps_references() -> None:
    handled = stored(body())
    annotations = handled["metadata"]["annotations"]
    assert KEY in annotations  # the same key as before: upgrades read the old one
    text = json.dumps(annotations)
    assert DOB not in text
    assert NUMBER not in text
    spec = json.loads(annotations[KEY])["spec"]
    assert spec["endUser"]["attributes"] == {
        "date_of_birth": value_marker(1),
        "middle_name": None,
    }
    assert spec["endUser"]["attributesFrom"] == [{"secretRef": {"name": "jane-end-user"}}]
    documents = spec["supportingDocuments"]
    assert documents[0]["attributes"] == {"document_number": value_marker(1), "ref": REFERENCE}
    assert documents[1] == {"type": "utility_bill", "remove": True}


def test_the_same_object_is_no_change_even_for_a_restarted_operator() -> None:
    handled = kopf.Body(stored(body()))
    fresh = ValueFreeDiffBaseStorage(prefix=ANNOTATION_PREFIX, key="last-handled-configuration")
    assert fresh.fetch(body=handled) == fresh.build(body=handled)


def test_a_change_of_a_value_alone_is_a_spec_change() -> None:
    store = storage()
    handled = stored(body(generation=1))
    changed = copy.deepcopy(handled)
    changed["metadata"]["generation"] = 2  # the API server bumps it with any spec change
    changed["spec"]["endUser"]["attributes"]["date_of_birth"] = "1985-04-13"
    old = store.fetch(body=kopf.Body(changed))
    new = store.build(body=kopf.Body(changed))
    assert old is not None
    assert old["spec"] != new["spec"]  # what Kopf compares for on.update(field="spec")
    assert "1985-04-1" not in json.dumps([old, new])


def test_a_change_of_labels_alone_is_no_spec_change() -> None:
    store = storage()
    relabelled = stored(body())
    relabelled["metadata"]["labels"] = {"team": "b"}
    old = store.fetch(body=kopf.Body(relabelled))
    new = store.build(body=kopf.Body(relabelled))
    assert old is not None
    assert old["spec"] == new["spec"]
    assert old != new  # Kopf still sees the object changed, only not its spec


def test_an_annotation_with_values_from_an_earlier_version_is_masked_when_read() -> None:
    raw = body()
    earlier = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    patch = kopf.Patch()
    earlier.store(body=kopf.Body(raw), patch=patch, essence=earlier.build(body=kopf.Body(raw)))
    raw["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    assert DOB in raw["metadata"]["annotations"][KEY]  # what Kopf's default storage keeps

    store = storage()
    old = store.fetch(body=kopf.Body(raw))
    assert old is not None
    assert DOB not in json.dumps(old)
    assert old["spec"]["endUser"]["attributes"]["date_of_birth"] == EARLIER_VALUE
    assert old["spec"] != store.build(body=kopf.Body(raw))["spec"]  # so it is stored anew


def test_mask_spec_leaves_malformed_specs_alone_without_leaking() -> None:
    assert mask_spec("not a spec", "m") == "not a spec"
    spec = {"endUser": {"attributes": [DOB]}, "supportingDocuments": ["x", {"type": "t"}]}
    masked = mask_spec(spec, "m")
    assert masked == {"endUser": {"attributes": "m"}, "supportingDocuments": ["x", {"type": "t"}]}
    assert spec["endUser"]["attributes"] == [DOB]  # the input is not changed
