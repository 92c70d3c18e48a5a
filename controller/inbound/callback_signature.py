"""Twilio status callbacks, checked without any web framework: the request's shape, the URL
Twilio signed, and the `X-Twilio-Signature` over them.

Pure functions (no aiohttp, no Kopf, no I/O), so each rule is unit-tested on its own:
- `parse_callback`: a request (method, Content-Type, raw query, body) into the bundle SID it
  names, or an error saying why not. Twilio's callbacks come in three shapes, and each is
  accepted (docs/operations/webhook.md, with the evidence for each):
  - `query`: no body, the fields in the URL's query. A GET in the one real bundle callback on
    public record (twilio/twilio-php#861): PascalCase names, `bodySHA256` given twice.
  - `form`: a form-encoded POST body.
  - `json`: a JSON POST body (the seed guide shows snake_case keys), with `?bodySHA256=`.
  Names may be snake_case or PascalCase, and the fields are read from the query and the body
  together (the signature covers both); each of them may be given once only.
- `signed_url`: the public URL Twilio called - the configured public base URL, the receiver's
  path, and the request's query exactly as it arrived. `X-Forwarded-Proto`/`X-Forwarded-Host`
  replace the scheme and host only when the deployment says its proxy sets them (otherwise any
  client could pick the URL the signature is checked against).
- `signature_valid`: the official SDK's `RequestValidator`, by shape: the URL alone (`query`),
  the URL and the sorted form parameters (`form`), or the URL whose every `bodySHA256` is the
  raw body's SHA-256 (`json`). The SDK tries the URL with and without the default port.
  HMAC-SHA1 unless `X-Twilio-Webhooks-Signature-Settings` names another algorithm it supports.
The content is never trusted beyond picking whose token to verify with.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    get_signature_algorithm,
)

BUNDLE_SID = re.compile(r"^BU[0-9a-fA-F]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
# Parameter names Twilio may use: the seed guide's snake_case, the field report's PascalCase.
BUNDLE_SID_KEYS = ("bundle_sid", "BundleSid")
STATUS_KEYS = ("status", "Status")
_STATUS = re.compile(r"^[a-z-]{1,40}$")
ACCOUNT_SID_KEYS = ("account_sid", "AccountSid")
#: The query parameter of Twilio's JSON scheme: the SHA-256 (hex) of the raw body.
BODY_HASH = "bodySHA256"
MAX_FORM_FIELDS = 64
METHODS = ("GET", "POST")
_JSON_SUFFIX = re.compile(r"^application/[a-z0-9.+-]+\+json$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class BodyFormat(StrEnum):
    FORM = "form"
    JSON = "json"


class Encoding(StrEnum):
    """Where a callback's fields travel, which also decides what its signature covers."""

    QUERY = "query"
    FORM = "form"
    JSON = "json"


class CallbackError(ValueError):
    """The request is not a callback this receiver accepts (message: what is wrong, never the
    content)."""


class MethodNotAllowed(CallbackError):
    """Neither GET nor POST."""


class UnsupportedMediaType(CallbackError):
    """A body that is neither form-encoded nor JSON."""


class MalformedCallback(CallbackError):
    """The request is not a bundle status callback."""


@dataclass(frozen=True)
class ParsedCallback:
    """What a callback says, untrusted until its signature is checked."""

    encoding: Encoding
    bundle_sid: str
    account_sid: str | None
    form: tuple[tuple[str, str], ...] = ()
    """Every form body parameter, repeated names included (the signature covers all of them)."""
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


def parse_callback(
    method: str, content_type: str | None, raw_query: str, body: bytes
) -> ParsedCallback:
    """The callback in this request, or a CallbackError saying why not.

    No body: the `query` shape, whatever the method and Content-Type (Twilio's GET has neither
    body nor Content-Type). A body: POST only, form-encoded or JSON."""
    if method not in METHODS:  # (methods are case-sensitive: RFC 9110)
        raise MethodNotAllowed(f"method {method[:20]!r} is not GET or POST")
    fields: list[tuple[str, object]] = [
        (k, v) for k, v in _pairs(raw_query, "query") if k != BODY_HASH
    ]
    form: tuple[tuple[str, str], ...] = ()
    text = ""
    if not body:
        encoding = Encoding.QUERY
    elif method == "GET":
        raise MalformedCallback("a GET callback carries no body")
    else:
        fmt = body_format(content_type)
        if fmt is None:
            raise UnsupportedMediaType("content type is neither form-encoded nor JSON")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedCallback("body is not UTF-8") from None
        if fmt is BodyFormat.FORM:
            encoding = Encoding.FORM
            form = tuple(_pairs(text, "body"))
            fields.extend(form)
            text = ""
        else:
            encoding = Encoding.JSON
            fields.extend(_json_fields(text))
    bundle_sid = _single(fields, BUNDLE_SID_KEYS)
    account_sid = _single(fields, ACCOUNT_SID_KEYS)
    status = _single(fields, STATUS_KEYS)
    if bundle_sid is None or not BUNDLE_SID.fullmatch(bundle_sid):
        raise MalformedCallback("no valid bundle_sid")
    if account_sid is not None and not ACCOUNT_SID.fullmatch(account_sid):
        raise MalformedCallback("account_sid is not an account SID")
    if status is not None and not _STATUS.fullmatch(status):
        status = None  # not one of Twilio's statuses: the daemon is woken to look for itself
    return ParsedCallback(encoding, bundle_sid, account_sid, form, text, status)


def _pairs(text: str, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):
        raise MalformedCallback(f"{where} is not a form-encoded parameter list") from None


def _json_fields(text: str) -> list[tuple[str, object]]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedCallback("body is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedCallback("JSON body is not an object")
    return list(document.items())


def _single(fields: list[tuple[str, object]], keys: tuple[str, ...]) -> str | None:
    found = [value for name, value in fields if name in keys]
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
    body whose URL carries no `bodySHA256`, or one that is not the body's hash, is invalid."""
    if not signature or not token:
        return False
    algorithm = get_signature_algorithm(signature_settings).upper()
    if algorithm not in (HMAC_SHA1, HMAC_SHA256):
        return False  # (the SDK would log the header's value; it is the sender's text)
    validator = RequestValidator(token)
    if callback.encoding is Encoding.FORM:
        valid: bool = validator.validate(url, _FormParams(callback.form), signature, algorithm)
        return valid
    if callback.encoding is Encoding.JSON and not _body_hash_matches(url, callback.text):
        return False  # the JSON scheme signs the body only through this hash
    # `query` and `json`: the HMAC covers the URL alone (no parameters appended).
    valid = validator.validate(url, {}, signature, algorithm)
    return bool(valid)


def _body_hash_matches(url: str, text: str) -> bool:
    """Every `bodySHA256` of the URL is the body's SHA-256, and there is at least one (Twilio
    may repeat it; a second, different hash would leave the body unbound)."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True, errors="replace")
    hashes = [value for name, value in query if name == BODY_HASH]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    # (compare_digest takes ASCII text only; a non-ASCII value is no hex digest anyway)
    return bool(hashes) and all(h.isascii() and hmac.compare_digest(h, digest) for h in hashes)
