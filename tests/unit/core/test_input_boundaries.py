"""Property tests at the operator's input boundaries: whatever arrives ends in a valid value or a
clear error, never an unhandled exception, and an error never quotes a value.

- The spec parser (`parsing.read_object`, what the daemon runs on every object the API server
  hands it): specs generated from the CRD's own OpenAPI schema (what the API server lets
  through), the same specs with one field broken, and arbitrary JSON. A refused spec gets the
  workflow's invalid-spec status, valid against the CRD's status schema, and its message names
  fields, never values.
- The CLI's durations and moments (`--within`, `--before`): any text, including numbers too
  large for a date, is a duration or a usage error.
(The callback parser and signature check have theirs in test_callback_signature.py.)
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.cli.errors import CliError
from controller.cli.output import parse_duration, parse_moment
from controller.core.parsing import read_object
from controller.core.workflow import decide_invalid_spec

CRD = yaml.safe_load(
    (Path(__file__).resolve().parents[3] / "crds" / "bundlerenewals.yaml").read_text()
)
SCHEMA = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
STATUS = jsonschema.Draft7Validator(SCHEMA["status"])
NOW = datetime(2026, 12, 7, tzinfo=UTC)
PROPERTIES = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# Every string value the generators make carries this marker, so a message quoting one is seen.
MARK = "Zq7"
values = st.text(min_size=1, max_size=12).map(lambda s: f"{MARK}{s}")


def from_openapi(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the API server's structural schema accepts (the keywords the CRD uses: type,
    properties, required, items, pattern, min/maxLength, oneOf of `required`, and
    preserve-unknown-fields), with the marker in free-form strings."""
    kind = schema.get("type")
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
        return st.dictionaries(
            st.from_regex(r"[a-z_]{1,12}", fullmatch=True), json_values, max_size=4
        )
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        variants = [required | set(alt["required"]) for alt in schema.get("oneOf", [])] or [
            required
        ]

        def build(needed: set[str]) -> st.SearchStrategy[dict[str, Any]]:
            optional = [name for name in properties if name not in needed]
            others = {
                name: from_openapi(properties[name])
                for name in optional
                if not any(name in alt["required"] for alt in schema.get("oneOf", []))
            }
            return st.fixed_dictionaries(
                {name: from_openapi(properties[name]) for name in needed}, optional=others
            )

        return st.one_of([build(v) for v in variants])
    if kind == "array":
        return st.lists(from_openapi(schema.get("items", {})), max_size=3)
    if kind == "string":
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        low, high = schema.get("minLength", 0), schema.get("maxLength", 40)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: low <= len(s) <= high
            )
        return values.filter(lambda s: low <= len(s) <= high)
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    return json_values


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | values,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)

schema_specs = from_openapi(SCHEMA["spec"])


def body(spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "twilio-compliance.io/v1alpha1",
        "kind": "BundleRenewal",
        "metadata": {"uid": "u-1", "namespace": "telecom", "name": "acme", "generation": 3},
        "spec": spec,
    }


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if MARK in value else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def check_parsed(spec: Any) -> bool:
    """read_object's answer to `spec`: a resource, or a problem that names no value and makes a
    status the CRD accepts. True if the spec was accepted."""
    parsed = read_object(body(spec))
    if parsed.resource is not None:
        assert parsed.problem is None
        return True
    assert parsed.problem, "refused without a reason"
    for value in strings_in(spec):
        assert value not in parsed.problem, f"the error quotes a value: {parsed.problem}"
    decision = decide_invalid_spec(parsed.status, parsed.generation, parsed.problem, NOW)
    stored = json.loads(decision.status.model_dump_json(by_alias=True, exclude_none=True))
    assert [e.message for e in STATUS.iter_errors(stored)] == []
    assert decision.action is None
    return False


@PROPERTIES
@given(spec=schema_specs)
def test_a_spec_the_crd_admits_is_parsed_or_refused_clearly(spec: dict[str, Any]) -> None:
    check_parsed(spec)


@PROPERTIES
@given(
    spec=schema_specs, field=st.sampled_from(sorted(SCHEMA["spec"]["properties"])), junk=json_values
)
def test_a_spec_with_one_field_broken_is_parsed_or_refused_clearly(
    spec: dict[str, Any], field: str, junk: Any
) -> None:
    check_parsed({**spec, field: junk})


@PROPERTIES
@given(spec=json_values)
def test_any_json_as_a_spec_is_parsed_or_refused_clearly(spec: Any) -> None:
    assert not check_parsed(spec) or isinstance(spec, dict)


def test_the_schema_generator_makes_specs_the_models_accept() -> None:
    """The generator above is not vacuous: most specs it makes are accepted."""
    accepted: list[bool] = []

    @settings(max_examples=100, deadline=None, derandomize=True, database=None)
    @given(spec=schema_specs)
    def collect(spec: dict[str, Any]) -> None:
        accepted.append(check_parsed(spec))

    collect()
    assert sum(accepted) >= len(accepted) // 2, f"{sum(accepted)} of {len(accepted)} accepted"


@PROPERTIES
@given(text=st.text(max_size=30) | st.from_regex(r"\s*\d{1,30}[smhdwx]?\s*", fullmatch=True))
def test_any_duration_text_is_a_duration_or_a_usage_error(text: str) -> None:
    try:
        duration = parse_duration(text)
    except CliError as exc:
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert "duration" in refused
        return
    assert re.fullmatch(r"\s*\d+[smhdw]\s*", text)
    assert duration >= timedelta(0)


@PROPERTIES
@given(
    text=st.text(max_size=30)
    | st.from_regex(r"\d{1,30}[smhdw]", fullmatch=True)
    | st.datetimes().map(datetime.isoformat)
)
def test_any_moment_text_is_a_moment_or_a_usage_error(text: str) -> None:
    try:
        moment = parse_moment(text, NOW)
    except CliError:
        return
    assert moment.tzinfo is not None


@pytest.mark.parametrize("text", ["99999999999999999999d", "3000000w", "999999999999s"])
def test_a_duration_too_long_for_a_date_is_a_usage_error(text: str) -> None:
    with pytest.raises(CliError, match="too long"):
        parse_moment(text, NOW)
