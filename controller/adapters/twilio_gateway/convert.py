"""Turns twilio SDK instances (and raw JSON answers) into the operator's pydantic models.

The SDK's instance classes expose the JSON fields as attributes; reading exactly the attributes our
models declare keeps the models the single description of what the operator uses. An answer that
does not fit the model (Twilio changed, or a proxy mangled it) is a TwilioPermanentError naming
the operation and the offending fields, never their values: pydantic's own message quotes the
input, which may be an end-user's personal data.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from controller.adapters.twilio_gateway.port import TwilioPermanentError

M = TypeVar("M", bound=BaseModel)


class TwilioAnswerInvalid(TwilioPermanentError):
    """Twilio answered, but not with what its API describes."""


def from_instance(model: type[M], instance: Any, operation: str) -> M:
    """Builds `model` from an SDK instance; attributes the SDK left as None take the defaults."""
    values = {
        name: value
        for name in model.model_fields
        if (value := getattr(instance, name, None)) is not None
    }
    return _validate(model, values, operation)


def from_payload(model: type[M], payload: Any, operation: str) -> M:
    """Builds `model` from a JSON object Twilio returned (as the upload endpoint does)."""
    if not isinstance(payload, dict):
        raise TwilioAnswerInvalid(
            f"{operation}: Twilio's answer is not a JSON object but {type(payload).__name__}"
        )
    return _validate(model, {k: v for k, v in payload.items() if v is not None}, operation)


def _validate(model: type[M], values: dict[str, Any], operation: str) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise TwilioAnswerInvalid(
            f"{operation}: Twilio's answer is not a valid {model.__name__}: {describe(exc)}"
        ) from None


def describe(exc: ValidationError) -> str:
    """`field (error type)` for each error, without the input values pydantic would quote."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(answer)'} ({error['type']})"
        for error in exc.errors(include_input=False, include_url=False)
    )
