"""Every example in examples/ is valid for the operator's own models, and the demo covers them.

tests/integration/test_examples_api.py has the API server accept them too (server-side dry run).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.core.models import (
    API_GROUP,
    API_VERSION,
    KIND,
    AttributeValueRef,
    BundleRenewalSpec,
)
from controller.core.models.account import ACCOUNT_KIND, ComplianceAccountSpec
from controller.engine.spec_values import referenced_secrets, resolve_with

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def objects(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def renewals() -> list[dict[str, Any]]:
    return [o for path in EXAMPLE_FILES for o in objects(path) if o["kind"] == KIND]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_objects_are_namespace_free_and_renewals_parse(path: Path) -> None:
    for obj in objects(path):
        # Applied with `kubectl apply -n <namespace>`: no namespace of their own.
        assert "namespace" not in obj["metadata"], obj["metadata"]
        if obj["kind"] == KIND:
            assert obj["apiVersion"] == f"{API_GROUP}/{API_VERSION}"
            BundleRenewalSpec.model_validate(obj["spec"])
        if obj["kind"] == ACCOUNT_KIND:
            assert obj["apiVersion"] == f"{API_GROUP}/{API_VERSION}"
            ComplianceAccountSpec.model_validate(obj["spec"])


def test_examples_show_every_spec_feature() -> None:
    specs = [BundleRenewalSpec.model_validate(r["spec"]) for r in renewals()]
    documents = [d for s in specs for d in s.supporting_documents]
    assert any(s.end_user for s in specs)
    assert any(d.file and d.file.secret_key_ref for d in documents)
    assert any(d.file and d.file.config_map_key_ref for d in documents)
    assert any(d.remove for d in documents)
    assert any(d.friendly_name for d in documents)
    assert any(s.renewal_request for s in specs)
    assert any(s.suspend for s in specs)
    holders = [s.end_user for s in specs if s.end_user] + documents
    assert any(isinstance(v, AttributeValueRef) for h in holders for v in h.attributes.values())
    assert any(h.attributes_from for h in holders)
    kinds = {o["kind"] for path in EXAMPLE_FILES for o in objects(path)}
    assert {"Secret", "ConfigMap", "RoleBinding", KIND, ACCOUNT_KIND} <= kinds


def test_the_demo_seeds_a_bundle_for_every_example_renewal() -> None:
    from devtools.demo.seeding import EXAMPLE_RENEWALS

    assert {e.name for e in EXAMPLE_RENEWALS} == {r["metadata"]["name"] for r in renewals()}


def secret_data(path: Path) -> dict[str, dict[str, bytes]]:
    """The Secrets `path` defines, as the operator reads them (data decoded, stringData over)."""
    secrets = {}
    for obj in objects(path):
        if obj["kind"] == "Secret":
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            data |= {k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()}
            secrets[obj["metadata"]["name"]] = data
    return secrets


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_values_an_example_reads_from_secrets_are_in_its_own_secrets(path: Path) -> None:
    for obj in objects(path):
        if obj["kind"] == KIND:
            spec = BundleRenewalSpec.model_validate(obj["spec"])
            resolved = resolve_with(spec, secret_data(path), "telecom")  # raises if one is not
            assert referenced_secrets(resolved) == []


@pytest.mark.parametrize("name", ["individual-gb-mobile.yaml", "document-replace-with-file.yaml"])
def test_an_individuals_personal_data_is_only_in_secrets(name: str) -> None:
    for obj in objects(EXAMPLES / name):
        if obj["kind"] == KIND:
            spec = BundleRenewalSpec.model_validate(obj["spec"])
            holders = [spec.end_user, *spec.supporting_documents]
            literals = [
                (key, value)
                for holder in holders
                if holder is not None
                for key, value in holder.attributes.items()
                if not isinstance(value, AttributeValueRef)
            ]
            assert literals == []
            assert referenced_secrets(spec)
