"""Twilio status callbacks, checked without any web framework: the URL Twilio signed, the body,
and the `X-Twilio-Signature` over them.

Pure functions (no aiohttp, no Kopf, no I/O), so each rule is unit-tested on its own:
- `signed_url`: the public URL Twilio called - the configured public base URL, the receiver's
  path, and the request's query exactly as it arrived. `X-Forwarded-Proto`/`X-Forwarded-Host`
  replace the scheme and host only when the deployment says its proxy sets them (otherwise any
  client could pick the URL the signature is checked against).
- `parse_callback`: a form-encoded or JSON body into the bundle SID it names; anything else is
  `MalformedCallback`. The content is never trusted beyond picking whose token to verify with.
- `signature_valid`: the official SDK's `RequestValidator`, with the form scheme (HMAC over the
  URL and the sorted parameters) or the JSON scheme (the URL carries `bodySHA256`, the hash of the
  raw body; the HMAC covers the URL). HMAC-SHA1 unless `X-Twilio-Webhooks-Signature-Settings`
  names another algorithm the SDK supports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    get_signature_algorithm,
)

BUNDLE_SID = re.compile(r"^BU[0-9a-fA-F]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
# Parameter names Twilio may use for the bundle; the seed guide shows bundle_sid.
BUNDLE_SID_KEYS = ("bundle_sid", "BundleSid")
STATUS_KEYS = ("status", "Status")
_STATUS = re.compile(r"^[a-z-]{1,40}$")
ACCOUNT_SID_KEYS = ("account_sid", "AccountSid")
MAX_FORM_FIELDS = 64
_JSON_SUFFIX = re.compile(r"^application/[a-z0-9.+-]+\+json$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class BodyFormat(StrEnum):
    FORM = "form"
    JSON = "json"


class MalformedCallback(ValueError):
    """The request is not a bundle status callback (message: what is wrong, never the body)."""


@dataclass(frozen=True)
class ParsedCallback:
    """What a callback body says, untrusted until its signature is checked."""

    format: BodyFormat
    bundle_sid: str
    account_sid: str | None
    form: tuple[tuple[str, str], ...] = ()
    """Every form parameter, repeated names included (the signature covers all of them)."""
    text: str = ""
    """The raw JSON text (the signature covers its SHA-256)."""
    status: str | None = None
    """The bundle status the callback reports (`status`/`Status`), if it names a plausible one."""


def body_format(content_type: str | None) -> BodyFormat | None:
    """FORM or JSON by the Content-Type's media type; None for anything else."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return BodyFormat.FORM
    if media == "application/json" or _JSON_SUFFIX.fullmatch(media):
        return BodyFormat.JSON
    return None


def parse_callback(content_type: str | None, body: bytes) -> ParsedCallback:
    """The callback in `body`, or MalformedCallback saying why not."""
    fmt = body_format(content_type)
    if fmt is None:
        raise MalformedCallback("content type is neither form-encoded nor JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedCallback("body is not UTF-8") from None
    if fmt is BodyFormat.FORM:
        try:
            pairs = parse_qsl(
                text,
                keep_blank_values=True,
                strict_parsing=bool(text),
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (ValueError, UnicodeDecodeError):
            raise MalformedCallback("body is not a form-encoded parameter list") from None
        values: dict[str, list[str]] = {}
        for name, value in pairs:
            values.setdefault(name, []).append(value)
        bundle_sid = _single(values, BUNDLE_SID_KEYS)
        account_sid = _single(values, ACCOUNT_SID_KEYS)
        status = _single(values, STATUS_KEYS)
        form = tuple(pairs)
    else:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            raise MalformedCallback("body is not JSON") from None
        if not isinstance(document, dict):
            raise MalformedCallback("JSON body is not an object")
        bundle_sid = _json_string(document, BUNDLE_SID_KEYS)
        account_sid = _json_string(document, ACCOUNT_SID_KEYS)
        status = _json_string(document, STATUS_KEYS)
        form = ()
    if bundle_sid is None or not BUNDLE_SID.fullmatch(bundle_sid):
        raise MalformedCallback("no valid bundle_sid")
    if account_sid is not None and not ACCOUNT_SID.fullmatch(account_sid):
        raise MalformedCallback("account_sid is not an account SID")
    json_text = text if fmt is BodyFormat.JSON else ""
    if status is not None and not _STATUS.fullmatch(status):
        status = None  # not one of Twilio's statuses: the daemon is woken to look for itself
    return ParsedCallback(fmt, bundle_sid, account_sid, form, json_text, status)


def _single(values: Mapping[str, list[str]], keys: tuple[str, ...]) -> str | None:
    found = [v for key in keys for v in values.get(key, [])]
    if len(found) > 1:
        raise MalformedCallback(f"{keys[0]} is given more than once")
    return found[0] if found else None


def _json_string(document: Mapping[str, object], keys: tuple[str, ...]) -> str | None:
    found = [document[key] for key in keys if key in document]
    if len(found) > 1:
        raise MalformedCallback(f"{keys[0]} is given more than once")
    if not found:
        return None
    if not isinstance(found[0], str):
        raise MalformedCallback(f"{keys[0]} is not a string")
    return found[0]


def signed_url(
    public_base_url: str,
    path: str,
    raw_query: str,
    *,
    trust_forwarded: bool,
    forwarded_proto: str | None = None,
    forwarded_host: str | None = None,
) -> str:
    """The URL Twilio computed the signature over.

    `public_base_url` (scheme, host, optional port and path prefix) + `path` + `?raw_query` (as
    received, not re-encoded). With `trust_forwarded`, the first X-Forwarded-Proto value (http or
    https) and X-Forwarded-Host value replace the scheme and host; malformed values are ignored.
    """
    base = urlsplit(public_base_url)
    scheme, netloc = base.scheme, base.netloc
    if trust_forwarded:
        proto = _first(forwarded_proto).lower()
        if proto in ("http", "https"):
            scheme = proto
        host = _first(forwarded_host)
        if host and _HOST.fullmatch(host):
            netloc = host
    full_path = base.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit((scheme, netloc, full_path, raw_query, ""))


def _first(header: str | None) -> str:
    return (header or "").split(",", 1)[0].strip()


class _FormParams(Mapping[str, str]):
    """Form parameters for RequestValidator: `getall` gives every value of a repeated name, which
    Twilio's signature covers."""

    def __init__(self, pairs: tuple[tuple[str, str], ...]):
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def __getitem__(self, name: str) -> str:
        return self._values[name][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def getall(self, name: str) -> list[str]:
        return list(self._values[name])


def signature_valid(
    token: str,
    url: str,
    callback: ParsedCallback,
    signature: str | None,
    signature_settings: str | None = None,
) -> bool:
    """Whether `signature` (X-Twilio-Signature) is Twilio's signature of this request with
    `token` (the account's auth token). A missing signature, an unsupported algorithm, or a JSON
    body whose URL carries no bodySHA256 is invalid."""
    if not signature or not token:
        return False
    algorithm = get_signature_algorithm(signature_settings).upper()
    if algorithm not in (HMAC_SHA1, HMAC_SHA256):
        return False  # (the SDK would log the header's value; it is the sender's text)
    validator = RequestValidator(token)
    if callback.format is BodyFormat.FORM:
        valid: bool = validator.validate(url, _FormParams(callback.form), signature, algorithm)
        return valid
    if len(parse_qs(urlsplit(url).query).get("bodySHA256", [])) != 1:
        return False  # the JSON scheme signs the body only through this hash
    valid = validator.validate(url, callback.text, signature, algorithm)
    return bool(valid)
