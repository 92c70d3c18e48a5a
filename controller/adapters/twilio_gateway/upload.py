"""Creates a supporting document with its file: the multipart call the twilio SDK cannot make.

Twilio takes new document evidence only as `multipart/form-data` on its upload host (parts
FriendlyName, Type, Attributes as a JSON string, File), with the same Basic auth as the API. Error
answers are raised as the SDK's own exceptions so that one translation (errors.py) covers both.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException

from controller.core.twilio_models import DocumentFile

SUPPORTING_DOCUMENTS_PATH = "/v2/RegulatoryCompliance/SupportingDocuments"


def upload_form(
    friendly_name: str, type: str, attributes: dict[str, Any], file: DocumentFile
) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("FriendlyName", friendly_name)
    form.add_field("Type", type)
    form.add_field("Attributes", json.dumps(attributes))
    form.add_field("File", file.content, filename=file.filename, content_type=file.content_type)
    return form


async def upload_supporting_document(
    session: aiohttp.ClientSession,
    upload_base_url: str,
    auth: aiohttp.BasicAuth,
    friendly_name: str,
    type: str,
    attributes: dict[str, Any],
    file: DocumentFile,
) -> dict[str, Any]:
    """POSTs the multipart form and returns Twilio's JSON answer (a supporting_document)."""
    url = upload_base_url.rstrip("/") + SUPPORTING_DOCUMENTS_PATH
    form = upload_form(friendly_name, type, attributes, file)
    headers = {"Accept": "application/json"}
    async with session.post(url, data=form, auth=auth, headers=headers) as response:
        text = await response.text()
        if response.status >= 400:
            raise _error_from_answer(response.status, text)
        payload = json.loads(text)
    if not isinstance(payload, dict):
        raise TwilioRestException(
            response.status,
            SUPPORTING_DOCUMENTS_PATH,
            "Unexpected answer: not a JSON object",
            method="POST",
        )
    return payload


def _error_from_answer(status: int, text: str) -> TwilioRestException:
    message = "Unable to create record"
    code: int | None = status
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            message = f"{message}: {body['message']}"
        elif isinstance(body.get("title"), str):
            message = f"{message}: {body['title']}"
        if isinstance(body.get("code"), int):
            code = body["code"]
    return TwilioRestException(status, SUPPORTING_DOCUMENTS_PATH, message, code, "POST")
