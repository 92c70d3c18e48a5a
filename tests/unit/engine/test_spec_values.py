"""Attribute values from Secrets: how references parse, resolve and fail
(controller.engine.spec_values).

Precedence as a container's envFrom/env (attributesFrom in order, then attributes); a value is a
string, the key's UTF-8 text exactly as stored; every Secret is read once per resolution and not
at all without a reference; a missing Secret or key, text that is not UTF-8, or a 403 is a
ValueSecretError naming field, Secret and key and never a value; an API server failure stays a
ClusterAccessError (transient).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from controller.adapters.cluster import ClusterAccessError, ObjectNotFound
from controller.core.models import AttributeValueRef, BundleRenewalSpec
from controller.core.parsing import describe_validation_error
from controller.engine.spec_values import (
    ValueSecretError,
    has_references,
    referenced_secrets,
    resolve_spec,
    resolve_with,
)

PERSONAL = "Jane-Q-Example-1985"  # a sentinel: must never appear in a message
NAMESPACE = "telecom"


def ref(name: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def spec(end_user: dict[str, Any] | None = None, *documents: dict[str, Any]) -> BundleRenewalSpec:
    body: dict[str, Any] = {
        "bundleSid": "BU" + "0" * 32,
        "credentialsSecretRef": {"name": "creds"},
        "supportingDocuments": list(documents),
    }
    if end_user is not None:
        body["endUser"] = end_user
    return BundleRenewalSpec.model_validate(body)


class Secrets:
    """Secrets by name, counting reads; `refuse` answers a name with that HTTP status."""

    def __init__(self, secrets: dict[str, dict[str, bytes]], refuse: dict[str, int] | None = None):
        self.secrets = secrets
        self.refuse = refuse or {}
        self.reads: Counter[str] = Counter()

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        assert namespace == NAMESPACE
        self.reads[name] += 1
        if name in self.refuse:
            raise ClusterAccessError(
                f"reading Secret {namespace}/{name}", self.refuse[name], "Refused"
            )
        if name not in self.secrets:
            raise ObjectNotFound("Secret", namespace, name)
        return self.secrets[name]


def resolve(value_spec: BundleRenewalSpec, source: Secrets) -> BundleRenewalSpec:
    return asyncio.run(resolve_spec(value_spec, NAMESPACE, source))


# -- parsing -----------------------------------------------------------------------------------


def test_a_value_from_reference_parses_and_round_trips_to_the_wire() -> None:
    parsed = spec({"attributes": {"first_name": ref("person", "first"), "last_name": "Doe"}})
    assert parsed.end_user is not None
    first = parsed.end_user.attributes["first_name"]
    assert isinstance(first, AttributeValueRef)
    assert first.value_from.secret_key_ref.name == "person"
    assert parsed.end_user.attributes["last_name"] == "Doe"
    wire = parsed.to_wire()
    assert wire["endUser"]["attributes"]["first_name"] == ref("person", "first")
    assert BundleRenewalSpec.model_validate(wire) == parsed
    assert has_references(parsed)


def test_a_literal_map_without_value_from_stays_a_literal() -> None:
    parsed = spec({"attributes": {"address": {"street": "1 Main St"}}})
    assert parsed.end_user is not None
    assert parsed.end_user.attributes["address"] == {"street": "1 Main St"}
    assert not has_references(parsed)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"valueFrom": {"secretKeyRef": {"name": "p"}}}, "key", id="no-key"),
        pytest.param({"valueFrom": PERSONAL}, "valueFrom", id="not-a-map"),
        pytest.param({"valueFrom": {}}, "secretKeyRef", id="empty"),
        pytest.param(
            {"valueFrom": {"secretKeyRef": {"name": "p", "key": "k"}}, "also": PERSONAL},
            "also",
            id="extra-field",
        ),
        pytest.param(
            {"valueFrom": {"secretKeyRef": {"name": "Not_A_Name", "key": "k"}}},
            "name",
            id="bad-name",
        ),
    ],
)
def test_a_malformed_reference_is_refused_naming_the_field_never_the_value(
    value: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        spec(None, {"type": "passport", "attributes": {"document_number": value}})
    message = describe_validation_error(refused.value)
    assert "document_number" in message, message
    assert expected in message, message
    assert PERSONAL not in message


def test_referenced_secrets_are_listed_once_in_spec_order() -> None:
    parsed = spec(
        {"attributesFrom": [{"secretRef": {"name": "b"}}], "attributes": {"x": ref("a", "x")}},
        {"type": "passport", "attributes": {"y": ref("b", "y"), "z": ref("c", "z")}},
    )
    assert referenced_secrets(parsed) == ["b", "a", "c"]


# -- precedence and values ---------------------------------------------------------------------


def test_later_attributes_from_win_and_attributes_win_over_them_all() -> None:
    parsed = spec(
        {
            "attributesFrom": [{"secretRef": {"name": "base"}}, {"secretRef": {"name": "over"}}],
            "attributes": {"last_name": "Literal", "city": ref("single", "city"), "gone": None},
        }
    )
    secrets = {
        "base": {"first_name": b"Base", "last_name": b"Base", "gone": b"x", "title": b"Dr"},
        "over": {"first_name": b"Over"},
        "single": {"city": b"Leeds"},
    }
    resolved = resolve_with(parsed, secrets, NAMESPACE)
    assert resolved.end_user is not None
    assert resolved.end_user.attributes == {
        "first_name": "Over",  # the later attributesFrom entry
        "last_name": "Literal",  # a literal over any attributesFrom
        "gone": None,  # a literal null (removal) too
        "title": "Dr",
        "city": "Leeds",  # a reference is an attributes entry: over attributesFrom as well
    }
    assert resolved.end_user.attributes_from == []
    assert not has_references(resolved)


def test_a_value_is_the_exact_utf8_text_and_always_a_string() -> None:
    parsed = spec(
        None,
        {
            "type": "passport",
            "attributes": {
                "document_number": ref("p", "number"),
                "address_sids": ref("p", "sids"),
                "issue_date": ref("p", "date"),
            },
        },
    )
    secrets = {
        "p": {
            "number": "Ñúmero 0042\n".encode(),
            "sids": b'["AD00000000000000000000000000000000"]',
            "date": b"",
        }
    }
    resolved = resolve_with(parsed, secrets, NAMESPACE)
    assert resolved.supporting_documents[0].attributes == {
        "document_number": "Ñúmero 0042\n",  # decoded, not trimmed
        "address_sids": '["AD00000000000000000000000000000000"]',  # JSON is not parsed
        "issue_date": "",
    }


def test_resolution_leaves_everything_but_the_values_as_it_was() -> None:
    document = {
        "type": "government_issued_document",
        "match": {"friendlyName": "id-rep"},
        "friendlyName": "ID card",
        "attributes": {"last_name": ref("p", "last")},
        "file": {
            "secretKeyRef": {"name": "scan", "key": "id.pdf"},
            "contentType": "application/pdf",
            "filename": "id.pdf",
        },
    }
    parsed = spec({"attributes": {"first_name": "Jane"}}, document, {"type": "x", "remove": True})
    resolved = resolve_with(parsed, {"p": {"last": b"Doe"}}, NAMESPACE)
    expected = parsed.to_wire()
    expected["supportingDocuments"][0]["attributes"] = {"last_name": "Doe"}
    assert resolved.to_wire() == expected
    assert resolved.end_user is parsed.end_user  # nothing to resolve: the same object


# -- failures ----------------------------------------------------------------------------------


def test_every_unresolvable_reference_is_named_with_its_secret_and_key() -> None:
    parsed = spec(
        {
            "attributesFrom": [{"secretRef": {"name": "gone"}}],
            "attributes": {"first_name": ref("person", "first"), "dob": ref("person", "dob")},
        },
        {"type": "passport", "attributes": {"number": ref("nowhere", "number")}},
        {"type": "id", "attributesFrom": [{"secretRef": {"name": "binary"}}]},
    )
    secrets = {
        "gone": None,
        "nowhere": None,
        "person": {"first": PERSONAL.encode()},
        "binary": {"scan.pdf": b"\xff\xfe%PDF"},
    }
    with pytest.raises(ValueSecretError) as failed:
        resolve_with(parsed, secrets, NAMESPACE)
    problems = str(failed.value).split("; ")
    assert problems == [
        "spec.endUser.attributesFrom[0]: Secret gone not found in namespace telecom",
        "spec.endUser.attributes.dob: Secret person has no key dob",
        "spec.supportingDocuments[0].attributes.number: Secret nowhere not found in namespace"
        " telecom",
        "spec.supportingDocuments[1].attributesFrom[0]: Secret binary key scan.pdf is not UTF-8"
        " text",
    ]
    assert PERSONAL not in str(failed.value)


def test_a_value_that_is_not_utf8_is_refused() -> None:
    parsed = spec({"attributes": {"last_name": ref("p", "last")}})
    with pytest.raises(ValueSecretError, match=r"Secret p key last is not UTF-8 text"):
        resolve_with(parsed, {"p": {"last": "Müller".encode("latin-1")}}, NAMESPACE)


def test_each_secret_is_read_once_and_none_without_references() -> None:
    source = Secrets({"p": {"a": b"1", "b": b"2"}})
    parsed = spec(
        {"attributesFrom": [{"secretRef": {"name": "p"}}], "attributes": {"x": ref("p", "a")}},
        {"type": "passport", "attributes": {"y": ref("p", "b")}},
    )
    resolved = resolve(parsed, source)
    assert source.reads == {"p": 1}
    assert resolved.end_user is not None
    assert resolved.end_user.attributes["x"] == "1"

    literal = spec({"attributes": {"first_name": "Jane"}})
    assert resolve(literal, source) is literal
    assert source.reads == {"p": 1}


def test_a_missing_secret_read_through_the_source_is_a_value_secret_error() -> None:
    parsed = spec({"attributes": {"first_name": ref("person", "first")}})
    with pytest.raises(ValueSecretError, match="Secret person not found in namespace telecom"):
        resolve(parsed, Secrets({}))


def test_a_refused_read_stalls_and_a_failed_one_is_transient() -> None:
    parsed = spec({"attributes": {"first_name": ref("person", "first")}})
    with pytest.raises(ValueSecretError, match=r"HTTP 403.*may not read Secret person"):
        resolve(parsed, Secrets({}, refuse={"person": 403}))
    with pytest.raises(ClusterAccessError, match="HTTP 503"):
        resolve(parsed, Secrets({}, refuse={"person": 503}))
