"""Turns twilio SDK instances (and raw JSON answers) into the operator's pydantic models.

The SDK's instance classes expose the JSON fields as attributes; reading exactly the attributes our
models declare keeps the models the single description of what the operator uses.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def from_instance(model: type[M], instance: Any) -> M:
    """Builds `model` from an SDK instance; attributes the SDK left as None take the defaults."""
    values = {
        name: value
        for name in model.model_fields
        if (value := getattr(instance, name, None)) is not None
    }
    return model.model_validate(values)


def from_payload(model: type[M], payload: dict[str, Any]) -> M:
    """Builds `model` from a JSON object Twilio returned (as the upload endpoint does)."""
    return model.model_validate({k: v for k, v in payload.items() if v is not None})
