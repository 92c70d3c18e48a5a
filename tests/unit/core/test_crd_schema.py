"""The CRD in crds/ stays in sync with the pydantic models, and validates what users write."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from controller.core.crd_schema import build_crd, render
from controller.core.models import BundleRenewalSpec, BundleRenewalStatus

CRD_PATH = Path(__file__).resolve().parents[3] / "crds" / "bundlerenewals.yaml"
ACCOUNT_CRD_PATH = CRD_PATH.with_name("complianceaccounts.yaml")


def committed() -> dict[str, Any]:
    return yaml.safe_load(CRD_PATH.read_text())


def schema_of(part: str) -> dict[str, Any]:
    version = committed()["spec"]["versions"][0]
    return version["schema"]["openAPIV3Schema"]["properties"][part]


def test_committed_crd_is_what_the_models_generate() -> None:
    assert CRD_PATH.read_text() == render(), (
        "stale CRD: run python -m controller.core.crd_schema > crds/bundlerenewals.yaml"
    )
    assert ACCOUNT_CRD_PATH.read_text() == render("complianceaccounts"), (
        "stale CRD: run python -m controller.core.crd_schema complianceaccounts"
        " > crds/complianceaccounts.yaml"
    )


def test_the_account_crd_refuses_what_the_model_refuses() -> None:
    version = yaml.safe_load(ACCOUNT_CRD_PATH.read_text())["spec"]["versions"][0]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    good = {"credentialsSecretRef": {"name": "twilio"}, "scanInterval": "30m"}
    jsonschema.validate(good, spec)
    for bad in (
        {},
        {**good, "scanInterval": "soon"},
        {**good, "statusCallbacks": "Sometimes"},
        {**good, "renewals": {"create": "Always"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, spec)
    printer = [c["name"] for c in version["additionalPrinterColumns"] if "priority" not in c]
    assert printer[:4] == ["Deadlines", "Covered", "Uncovered", "Next-Uncovered"]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside X, X | None, list[X]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _walk_model(model: type[BaseModel], schema: dict[str, Any], path: str) -> list[str]:
    """Differences between a model's fields and a CRD schema node, found independently of the
    generator (from model_fields, not from the JSON schema)."""
    problems: list[str] = []
    if schema.get("type") == "array":
        schema = schema["items"]
    properties = schema.get("properties", {})
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    for name in sorted(set(fields) - set(properties)):
        problems.append(f"{path}.{name}: in the model, not in the CRD")
    for name in sorted(set(properties) - set(fields)):
        problems.append(f"{path}.{name}: in the CRD, not in the model")
    required = {n for n, f in fields.items() if f.is_required()}
    if required != set(schema.get("required", [])):
        problems.append(f"{path}: required {sorted(required)} vs {schema.get('required', [])}")
    for name, info in fields.items():
        if name not in properties:
            continue
        if not properties[name].get("description"):
            problems.append(f"{path}.{name}: no description")
        nested = _model_of(info.annotation)
        if nested is not None:
            problems += _walk_model(nested, properties[name], f"{path}.{name}")
        elif typing.get_origin(info.annotation) is dict and not properties[name].get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            problems.append(f"{path}.{name}: free-form map not preserved")
    return problems


@pytest.mark.parametrize(
    ("part", "model"), [("spec", BundleRenewalSpec), ("status", BundleRenewalStatus)]
)
def test_crd_properties_match_model_fields(part: str, model: type[BaseModel]) -> None:
    assert _walk_model(model, schema_of(part), part) == []


def test_the_walk_notices_a_field_missing_from_the_crd() -> None:
    class Extended(BundleRenewalSpec):
        newField: str = "x"

    problems = _walk_model(Extended, schema_of("spec"), "spec")
    assert problems == ["spec.newField: in the model, not in the CRD"]


def _structural_problems(node: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "type" not in node and path.count(".") and "oneOf" not in path:
        problems.append(f"{path}: no type")
    if "additionalProperties" in node and "properties" in node:
        problems.append(f"{path}: properties and additionalProperties together")
    if "anyOf" in node or "$ref" in node or "allOf" in node:
        problems.append(f"{path}: not structural")
    for name, child in node.get("properties", {}).items():
        problems += _structural_problems(child, f"{path}.{name}")
    if "items" in node:
        problems += _structural_problems(node["items"], f"{path}[]")
    return problems


def test_schema_is_structural_with_status_subresource_and_columns() -> None:
    crd = committed()
    version = crd["spec"]["versions"][0]
    assert _structural_problems(version["schema"]["openAPIV3Schema"], "root") == []
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["names"]["shortNames"] == ["br"]
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns[:5] == ["Bundle", "Phase", "Copy-Status", "Valid-Until", "Ready"]
    assert columns[-1] == "Age"
    # Plain `kubectl get br` says why a resource is not Ready (priority 0 = default view).
    default_view = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert "Reason" in default_view
    # When the operator looks next, without reading its logs (issue 12).
    assert "Next-Check" in default_view
    assert "x-kubernetes-validations" not in CRD_PATH.read_text()  # no CEL on Kubernetes 1.20


def _validate(spec: dict[str, Any]) -> None:
    version = build_crd()["spec"]["versions"][0]
    jsonschema.validate({"spec": spec}, version["schema"]["openAPIV3Schema"])


GOOD = {
    "bundleSid": "BU" + "0123456789abcdef" * 2,
    "credentialsSecretRef": {"name": "twilio-credentials"},
    "endUser": {"attributes": {"business_name": "ACME", "address_sids": ["AD1"], "n": 3}},
    "supportingDocuments": [
        {
            "type": "power_of_attorney",
            "file": {
                "secretKeyRef": {"name": "poa", "key": "poa.pdf"},
                "contentType": "application/pdf",
                "filename": "poa.pdf",
            },
        },
        {"type": "government_issued_document", "match": {"friendlyName": "id"}},
    ],
}


def test_a_good_spec_validates_in_both_the_crd_and_the_model() -> None:
    _validate(GOOD)
    assert BundleRenewalSpec.model_validate(GOOD).bundle_sid == GOOD["bundleSid"]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({**GOOD, "bundleSid": "BU123"}, id="short-sid"),
        pytest.param({**GOOD, "bundleSid": "BU" + "G" * 32}, id="uppercase-sid"),
        pytest.param({k: v for k, v in GOOD.items() if k != "credentialsSecretRef"}, id="no-creds"),
        pytest.param(
            {**GOOD, "supportingDocuments": [{"type": "x", "match": {}}]}, id="empty-match"
        ),
        pytest.param(
            {
                **GOOD,
                "supportingDocuments": [
                    {
                        "type": "x",
                        "file": {
                            "secretKeyRef": {"name": "a", "key": "b"},
                            "configMapKeyRef": {"name": "a", "key": "b"},
                            "contentType": "application/pdf",
                            "filename": "f",
                        },
                    }
                ],
            },
            id="two-file-sources",
        ),
        pytest.param(
            {**GOOD, "supportingDocuments": [{"type": "x", "match": {"originalSid": "RD1"}}]},
            id="bad-document-sid",
        ),
    ],
)
def test_bad_specs_are_refused_by_crd_and_model(bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validate(bad)
    with pytest.raises(ValueError, match="validation error"):
        BundleRenewalSpec.model_validate(bad)


def test_model_refuses_unknown_fields_outside_attribute_maps() -> None:
    with pytest.raises(ValueError, match="extra"):
        BundleRenewalSpec.model_validate({**GOOD, "bundelSid": "typo"})
