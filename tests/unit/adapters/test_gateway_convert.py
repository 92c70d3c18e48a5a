"""A malformed Twilio answer is a permanent Twilio error that names the operation and the fields,
never the values (pydantic's own message quotes its input, which may be personal data), and the
models holding personal data keep it out of their repr."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from controller.adapters.twilio_gateway.convert import (
    TwilioAnswerInvalid,
    from_instance,
    from_payload,
)
from controller.adapters.twilio_gateway.port import TwilioPermanentError
from controller.core.twilio_models import Bundle, EndUser, SupportingDocument

SECRET_NAME = "Jane Q. Example"


def test_a_malformed_sdk_instance_is_a_permanent_error_without_values() -> None:
    instance = SimpleNamespace(sid="IT" + "1" * 32, attributes=SECRET_NAME)
    with pytest.raises(TwilioPermanentError) as refused:
        from_instance(EndUser, instance, "fetch_end_user")
    message = str(refused.value)
    assert isinstance(refused.value, TwilioAnswerInvalid)
    assert message.startswith("fetch_end_user: Twilio's answer is not a valid EndUser")
    assert "attributes (dict_type)" in message
    assert SECRET_NAME not in message
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_a_missing_field_is_named() -> None:
    with pytest.raises(TwilioAnswerInvalid, match=r"fetch_bundle: .* Bundle: sid \(missing\)"):
        from_instance(Bundle, SimpleNamespace(status="draft"), "fetch_bundle")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"attributes": {"first_name": SECRET_NAME}}, id="no-sid"),
        pytest.param({"sid": "RD" + "1" * 32, "attributes": [SECRET_NAME]}, id="bad-attributes"),
        pytest.param([SECRET_NAME], id="not-an-object"),
    ],
)
def test_a_malformed_upload_answer_is_a_permanent_error_without_values(payload: object) -> None:
    with pytest.raises(TwilioAnswerInvalid) as refused:
        from_payload(SupportingDocument, payload, "upload_supporting_document")
    assert str(refused.value).startswith("upload_supporting_document: Twilio's answer is not")
    assert SECRET_NAME not in str(refused.value)


def test_a_good_answer_converts() -> None:
    document = from_payload(
        SupportingDocument,
        {"sid": "RD" + "1" * 32, "attributes": {"first_name": "x"}, "mime_type": None},
        "upload_supporting_document",
    )
    assert (document.sid, document.attributes, document.mime_type) == (
        "RD" + "1" * 32,
        {"first_name": "x"},
        None,
    )


@pytest.mark.parametrize("model", [EndUser, SupportingDocument])
def test_attribute_values_stay_out_of_repr(model: type[EndUser | SupportingDocument]) -> None:
    instance = model(sid="XX" + "1" * 32, attributes={"first_name": SECRET_NAME})
    assert SECRET_NAME not in repr(instance)
    assert SECRET_NAME not in str(instance)
    assert SECRET_NAME not in repr([instance])
