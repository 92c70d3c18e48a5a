"""Attribute values never reach a log line, whatever shape the message has."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import BaseModel, ValidationError

from controller.telemetry.redaction import REDACTED, AttributeRedactingFilter, redact_attributes

VALUE = "Jane-Doe-552100554"


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(str({"spec": {"endUser": {"attributes": {"last_name": VALUE}}}}), id="repr"),
        pytest.param(json.dumps({"endUser": {"attributes": {"last_name": VALUE}}}), id="json"),
        pytest.param(
            str({"annotation": json.dumps({"spec": {"attributes": {"n": {"deep": VALUE}}}})}),
            id="json-in-repr-nested",
        ),
        pytest.param(
            json.dumps({"annotation": json.dumps({"attributes": {"last_name": VALUE}})}),
            id="escaped-json-string",
        ),
        pytest.param(
            "docs: " + str([{"attributes": {"a": VALUE}}, {"attributes": {"b": VALUE}}]),
            id="several",
        ),
        pytest.param("cut off: {'attributes': {'last_name': '" + VALUE, id="unbalanced"),
    ],
)
def test_attribute_values_are_replaced(message: str) -> None:
    redacted = redact_attributes(message)
    assert VALUE not in redacted
    assert REDACTED in redacted


def test_other_text_is_kept() -> None:
    message = "update end-user IT123 fields last_name, first_name; attributes are private"
    assert redact_attributes(message) == message
    shaped = "{'type': 'x', 'attributes': {'k': 'v'}, 'sid': 'RD1'}"
    assert (
        redact_attributes(shaped) == "{'type': 'x', 'attributes': {" + REDACTED + "}, 'sid': 'RD1'}"
    )


def test_the_filter_redacts_formatted_records() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(AttributeRedactingFilter())
    logger = logging.getLogger("test_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("patching with %s", {"spec": {"attributes": {"last_name": VALUE}}})
    finally:
        logger.removeHandler(handler)
    assert VALUE not in stream.getvalue()
    assert "patching with" in stream.getvalue()


class _Person(BaseModel):
    age: int


def test_keyword_reprs_are_redacted() -> None:
    message = f"EndUserLike(sid='IT1', attributes={{'last_name': '{VALUE}'}}, type='x')"
    assert redact_attributes(message) == (
        f"EndUserLike(sid='IT1', attributes={{{REDACTED}}}, type='x')"
    )


def test_validation_error_input_is_redacted() -> None:
    with pytest.raises(ValidationError) as error:
        _Person.model_validate({"age": f"{VALUE}\nsecond line"})
    redacted = redact_attributes(str(error.value))
    assert VALUE not in redacted
    assert f"input_value={REDACTED}, input_type=str]" in redacted


def test_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(AttributeRedactingFilter())
    logger = logging.getLogger("test_redaction.traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            _Person.model_validate({"age": VALUE})
        except ValidationError:
            logger.exception("converting failed")
        try:
            raise RuntimeError(str({"attributes": {"last_name": VALUE}}))
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert VALUE not in logged
    assert "Traceback" in logged
    assert "ValidationError" in logged
