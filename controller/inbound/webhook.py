"""The status-callback receiver: an aiohttp server in the operator process that turns a signed
Twilio callback into an immediate reconcile of the BundleRenewal owning the bundle.

A callback is only a hint: its content is never trusted or stored. The receiver finds the
bundle's owners in the reconcile daemons' index (`BundleOwners`), verifies `X-Twilio-Signature`
with each owner's account token (from that owner's credentials Secret, never an account named by
the body) against the public URL Twilio called (`callback_signature`), and wakes the daemon of
every owner whose token verifies it; that daemon then re-reads Twilio as on any poll.

It accepts each shape Twilio may send (`callback_signature`): GET with the fields in the
query, POST form-encoded, POST JSON with `?bodySHA256=`.

Answers (and the reason keyword each is counted under in /metrics, with the request's method
and shape): 204 woken (`woken`) or nothing to poll for (`noted`); 400 malformed (`malformed`);
403 missing signature (`no_signature`), or a bad one or no token to verify with
(`not_verified`); 404 unknown bundle (`unknown_bundle`) or path (not counted); 405 neither GET
nor POST (`method_not_allowed`); 413 body over WEBHOOK_MAX_BODY_BYTES (`body_too_large`); 415 a
body neither form nor JSON (`unsupported_media_type`); 503 only when the credentials Secret
cannot be read right now (`credentials_unavailable`). Never a 500: an unexpected error is
logged and answered 400 (`unexpected_error`). Log lines name the refusal, the bundle SID and the
resource, never the body, the query, the signature or a token. HttpServer (http_server.py)
serves the application.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import SecretStr

from controller.adapters.cluster import ClusterAccessError
from controller.core.bundle_owners import BundleOwner, BundleOwners
from controller.core.settings import OperatorSettings
from controller.engine.credentials import CredentialsError, SecretSource, load_callback_token
from controller.inbound.callback_signature import (
    METHODS,
    CallbackError,
    MalformedCallback,
    MethodNotAllowed,
    ParsedCallback,
    UnsupportedMediaType,
    parse_callback,
    signature_valid,
    signed_url,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"

_log = logging.getLogger("controller.inbound.webhook")

TokenLoader = Callable[[BundleOwner], Awaitable[tuple[str, SecretStr]]]
#: Wakes the owner's daemon about the bundle the callback names.
Wake = Callable[[BundleOwner, str], None]
# Whether a verified callback about `bundle_sid` reporting `status` is worth waking the owner's
# daemon for (a copy still in review, as already recorded, is not: it would cost a poll).
Wanted = Callable[[BundleOwner, str, str | None], bool]


def _always(owner: BundleOwner, bundle_sid: str, status: str | None) -> bool:
    return True


#: Called with each answer's HTTP status, reason keyword, method (GET, POST or `other`) and
#: shape (`query`, `form`, `json`, or `unknown` when refused before it was known)
#: (OperatorMetrics.record_callback).
AnswerRecorder = Callable[[int, str, str, str], None]
UNKNOWN_ENCODING = "unknown"


@dataclass
class _CachedToken:
    expires: float
    value: tuple[str, SecretStr] | None
    error: CredentialsError | None


class CallbackTokens:
    """(account SID, auth token) per credentials Secret, read through `credentials` and kept for
    `ttl` seconds (refusals too, so a flood of callbacks does not become a flood of Secret reads;
    an API server failure is not kept)."""

    def __init__(
        self,
        secrets: SecretSource,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._secrets = secrets
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str], _CachedToken] = {}

    async def __call__(self, owner: BundleOwner) -> tuple[str, SecretStr]:
        key = (owner.namespace, owner.secret_name)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is None or cached.expires <= now:
            try:
                value = await load_callback_token(self._secrets, *key)
            except CredentialsError as exc:
                cached = _CachedToken(now + self._ttl, None, exc)
            else:
                cached = _CachedToken(now + self._ttl, value, None)
            if self._ttl > 0:
                self._cache[key] = cached
        if cached.error is not None:
            raise cached.error
        assert cached.value is not None
        return cached.value


class _Refused(Exception):
    def __init__(
        self,
        status: int,
        kind: str,
        reason: str,
        *,
        level: int = logging.INFO,
        encoding: str = UNKNOWN_ENCODING,
    ):
        super().__init__(reason)
        self.status = status
        self.kind = kind
        self.reason = reason
        self.level = level
        self.encoding = encoding


#: Each CallbackError's answer and reason keyword.
_PARSE_REFUSALS: dict[type[CallbackError], tuple[int, str]] = {
    MethodNotAllowed: (405, "method_not_allowed"),
    UnsupportedMediaType: (415, "unsupported_media_type"),
    MalformedCallback: (400, "malformed"),
}


def _ignore_answer(status: int, kind: str, method: str, encoding: str) -> None:
    pass


class CallbackReceiver:
    """The request handler and its aiohttp application."""

    def __init__(
        self,
        settings: OperatorSettings,
        owners: BundleOwners,
        tokens: TokenLoader,
        wake: Wake,
        record: AnswerRecorder = _ignore_answer,
        wanted: Wanted = _always,
    ):
        if settings.webhook_public_url is None:
            raise ValueError("the webhook needs WEBHOOK_PUBLIC_URL")
        self.public_base_url = str(settings.webhook_public_url)
        self.path = settings.webhook_path
        self.trust_forwarded = settings.webhook_trust_forwarded_headers
        self.max_body_bytes = settings.webhook_max_body_bytes
        self.owners = owners
        self.tokens = tokens
        self.wake = wake
        self.record = record
        self.wanted = wanted

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_route("*", self.path, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # A bounded label: the method is the client's text.
        method = request.method if request.method in METHODS else "other"
        try:
            sid, woken, encoding = await self._handle(request)
        except _Refused as refusal:
            _log.log(
                refusal.level,
                "status callback refused (%s): %s",
                refusal.status,
                refusal.reason,
            )
            self.record(refusal.status, refusal.kind, method, refusal.encoding)
            # The answer names the status only: details (resources, Secrets) stay in the log.
            headers = {"Allow": ", ".join(METHODS)} if refusal.status == 405 else None
            return web.Response(status=refusal.status, headers=headers)
        except Exception as exc:
            _log.error("status callback refused (400): unexpected %s", type(exc).__name__)
            self.record(400, "unexpected_error", method, UNKNOWN_ENCODING)
            return web.Response(status=400)
        if woken:
            _log.info(
                "status callback for %s (%s %s): woke %s", sid, method, encoding, ", ".join(woken)
            )
            self.record(204, "woken", method, encoding)
        else:
            _log.info(
                "status callback for %s (%s %s): no news (still in review)", sid, method, encoding
            )
            self.record(204, "noted", method, encoding)
        return web.Response(status=204)

    async def _handle(self, request: web.Request) -> tuple[str, list[str], str]:
        """(bundle SID, the owners woken, the callback's shape), or _Refused."""
        if request.method not in METHODS:
            raise _Refused(405, "method_not_allowed", "method not allowed")
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise _Refused(
                413, "body_too_large", f"body of {request.content_length} bytes is too large"
            )
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _Refused(413, "body_too_large", "body is too large") from None
        raw_query = request.rel_url.raw_query_string
        try:
            callback = parse_callback(
                request.method, request.headers.get("Content-Type"), raw_query, body
            )
        except CallbackError as exc:
            status, kind = _PARSE_REFUSALS[type(exc)]
            raise _Refused(status, kind, f"{kind.replace('_', ' ')}: {exc}") from None
        encoding = callback.encoding.value
        owners = self.owners.owners_of(callback.bundle_sid)
        if not owners:
            raise _Refused(
                404,
                "unknown_bundle",
                f"bundle {callback.bundle_sid} is not managed here",
                encoding=encoding,
            )
        url = signed_url(
            self.public_base_url,
            self.path,
            raw_query,
            trust_forwarded=self.trust_forwarded,
            forwarded_proto=request.headers.get("X-Forwarded-Proto"),
            forwarded_host=request.headers.get("X-Forwarded-Host"),
        )
        verified = await self._verified_owners(request, callback, url, owners)
        woken = [o for o in verified if self.wanted(o, callback.bundle_sid, callback.status)]
        for owner in woken:
            self.wake(owner, callback.bundle_sid)
        return callback.bundle_sid, [f"{o.namespace}/{o.name}" for o in woken], encoding

    async def _verified_owners(
        self,
        request: web.Request,
        callback: ParsedCallback,
        url: str,
        owners: list[BundleOwner],
    ) -> list[BundleOwner]:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise _Refused(
                403,
                "no_signature",
                f"callback for {callback.bundle_sid} has no {SIGNATURE_HEADER}",
                encoding=callback.encoding.value,
            )
        settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        verified: list[BundleOwner] = []
        problems: list[str] = []
        unavailable = False
        for owner in owners:
            try:
                account_sid, token = await self.tokens(owner)
            except CredentialsError as exc:
                problems.append(f"{owner.namespace}/{owner.name}: {exc}")
                continue
            except ClusterAccessError as exc:
                unavailable = unavailable or (exc.status or 500) >= 500
                problems.append(f"{owner.namespace}/{owner.name}: {exc}")
                continue
            if callback.account_sid is not None and callback.account_sid != account_sid:
                problems.append(f"{owner.namespace}/{owner.name}: another account's callback")
                continue
            if signature_valid(token.get_secret_value(), url, callback, signature, settings_header):
                verified.append(owner)
            else:
                problems.append(f"{owner.namespace}/{owner.name}: signature does not match")
        if verified:
            return verified
        if unavailable:
            raise _Refused(
                503,
                "credentials_unavailable",
                f"cannot verify the callback for {callback.bundle_sid} now: {'; '.join(problems)}",
                level=logging.WARNING,
                encoding=callback.encoding.value,
            )
        raise _Refused(
            403,
            "not_verified",
            f"callback for {callback.bundle_sid} ({callback.encoding}) refused:"
            f" {'; '.join(problems)}",
            level=logging.WARNING,
            encoding=callback.encoding.value,
        )
