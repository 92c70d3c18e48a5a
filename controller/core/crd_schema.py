"""Builds the BundleRenewal and ComplianceAccount CRDs from the pydantic models, so the two
cannot drift apart.

`python -m controller.core.crd_schema > crds/bundlerenewals.yaml` and
`python -m controller.core.crd_schema complianceaccounts > crds/complianceaccounts.yaml` regenerate
the files; a unit test fails when a committed file differs from what this module builds. Pydantic's
JSON schema is turned into a Kubernetes structural schema: $refs inlined, Optional unwrapped,
titles and defaults dropped, free-form attribute maps marked x-kubernetes-preserve-unknown-fields,
and the "exactly one of" rules of the models expressed as oneOf (accepted by Kubernetes 1.20; no
CEL). Unknown fields are pruned by the API server and refused by kubectl's validation.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from controller.core.models import (
    API_GROUP,
    API_VERSION,
    KIND,
    PLURAL,
    BundleRenewalSpec,
    BundleRenewalStatus,
    DocumentFileSource,
    DocumentMatch,
)
from controller.core.models.account import (
    ACCOUNT_KIND,
    ACCOUNT_PLURAL,
    ComplianceAccountSpec,
    ComplianceAccountStatus,
)

# Model-level rules pydantic expresses as validators, by model title.
_ONE_OF: dict[str, list[dict[str, Any]]] = {
    DocumentFileSource.__name__: [
        {"required": ["secretKeyRef"]},
        {"required": ["configMapKeyRef"]},
    ],
    DocumentMatch.__name__: [{"required": ["originalSid"]}, {"required": ["friendlyName"]}],
}
_KEEP = ("type", "description", "pattern", "minLength", "maxLength", "minimum", "maximum", "format")


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    description = node.get("description")
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = dict(defs[name])
        if description is not None:
            target["description"] = description
        return _structural(target, defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"cannot express anyOf {node['anyOf']} structurally")
        inner = dict(options[0])
        if description is not None:
            inner["description"] = description
        return _structural(inner, defs)
    out: dict[str, Any] = {}
    if "enum" in node:
        out["type"] = "string"
        out["enum"] = list(node["enum"])
    if "exclusiveMinimum" in node:
        raise ValueError("exclusiveMinimum is not used by the CRD models")
    for key in _KEEP:
        if key in node:
            out[key] = node[key]
    if description is not None:
        out["description"] = " ".join(description.split())
    if node.get("type") == "object":
        if "properties" in node:
            out["properties"] = {
                name: _structural(child, defs) for name, child in node["properties"].items()
            }
            if node.get("required"):
                out["required"] = list(node["required"])
            if node.get("title") in _ONE_OF:
                out["oneOf"] = _ONE_OF[node["title"]]
        else:
            # A free-form map (attribute values: strings, numbers, bools, lists...).
            out["x-kubernetes-preserve-unknown-fields"] = True
    elif node.get("type") == "array":
        out["items"] = _structural(node["items"], defs)
    return out


def model_schema(model: type[Any], mode: str = "validation") -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a model, camelCase, as the CRD holds it."""
    schema = model.model_json_schema(by_alias=True, mode=mode)
    return _structural(schema, schema.get("$defs", {}))


def _condition(type_: str, field: str) -> str:
    return f'.status.conditions[?(@.type=="{type_}")].{field}'


def _ready(field: str) -> str:
    return _condition("Ready", field)


def build_crd() -> dict[str, Any]:
    """The CustomResourceDefinition, as a dict ready to dump as YAML."""
    spec_schema = model_schema(BundleRenewalSpec)
    status_schema = model_schema(BundleRenewalStatus, mode="serialization")
    columns: list[dict[str, Any]] = [
        {"name": "Bundle", "type": "string", "jsonPath": ".spec.bundleSid"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {
            "name": "Copy-Status",
            "type": "string",
            "jsonPath": ".status.review.status",
            "description": "Twilio status of the renewal copy since submission (empty once the "
            "copy is gone: status.history keeps its record)",
        },
        {
            "name": "Valid-Until",
            "type": "string",
            "jsonPath": ".status.original.validUntil",
            "description": "Twilio's valid_until of the original bundle (renewal needed by then)",
        },
        {"name": "Ready", "type": "string", "jsonPath": _ready("status")},
        {
            "name": "Reason",
            "type": "string",
            "jsonPath": _ready("reason"),
            "description": "Why the resource is (not) Ready, e.g. NeedsInput, Rejected, InReview",
        },
        {
            "name": "Next-Check",
            "type": "string",
            "jsonPath": ".status.nextCheckTime",
            "description": "When the operator looks next (review poll, light check or retry)",
        },
        {"name": "Copy", "type": "string", "jsonPath": ".status.copySid", "priority": 1},
        {
            "name": "Renewing",
            "type": "string",
            "jsonPath": _condition("Renewing", "status"),
            "description": "True while a renewal is in flight",
            "priority": 1,
        },
        {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd(
        KIND,
        PLURAL,
        "br",
        "Keeps one Twilio Regulatory Compliance bundle renewed: copies it, applies the spec to the "
        "copy, has Twilio review it and moves the approved items into the original bundle.",
        spec_schema,
        status_schema,
        columns,
    )


def build_account_crd() -> dict[str, Any]:
    """The ComplianceAccount CustomResourceDefinition."""
    columns: list[dict[str, Any]] = [
        {
            "name": "Deadlines",
            "type": "integer",
            "jsonPath": ".status.bundlesWithDeadline",
            "description": "Bundles of the account with a valid_until",
        },
        {"name": "Covered", "type": "integer", "jsonPath": ".status.covered"},
        {
            "name": "Uncovered",
            "type": "integer",
            "jsonPath": ".status.uncovered",
            "description": "Bundles with a deadline no BundleRenewal covers",
        },
        {
            "name": "Next-Uncovered",
            "type": "string",
            "jsonPath": ".status.nextUncoveredDeadline",
            "description": "The soonest deadline of an uncovered bundle",
        },
        {
            "name": "Next-Deadline",
            "type": "string",
            "jsonPath": ".status.nextDeadline",
            "priority": 1,
        },
        {"name": "Ready", "type": "string", "jsonPath": _ready("status")},
        {"name": "Reason", "type": "string", "jsonPath": _ready("reason")},
        {"name": "Last-Scan", "type": "date", "jsonPath": ".status.lastScanTime"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd(
        ACCOUNT_KIND,
        ACCOUNT_PLURAL,
        "ca",
        "Watches every bundle of one Twilio account for deadlines (valid_until), reports which "
        "no BundleRenewal covers, and can register status callbacks and create dry-run "
        "renewals for them.",
        model_schema(ComplianceAccountSpec),
        model_schema(ComplianceAccountStatus, mode="serialization"),
        columns,
    )


def _crd(
    kind: str,
    plural: str,
    short_name: str,
    description: str,
    spec_schema: dict[str, Any],
    status_schema: dict[str, Any],
    columns: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short_name],
                "categories": ["twilio", "compliance"],
            },
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": description,
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def render(plural: str = PLURAL) -> str:
    if plural == ACCOUNT_PLURAL:
        command, crd = f"python -m controller.core.crd_schema {ACCOUNT_PLURAL}", build_account_crd()
    else:
        command, crd = "python -m controller.core.crd_schema", build_crd()
    header = f"# Generated by `{command}` from controller/core/models/: do not edit.\n"
    return header + yaml.safe_dump(crd, sort_keys=False, width=100)


def main() -> None:
    sys.stdout.write(render(*sys.argv[1:2]))


if __name__ == "__main__":
    main()
