"""Twilio credentials from the Secret a BundleRenewal names, in the BundleRenewal's namespace.

The Secret holds `accountSid` with either `authToken`, or `apiKeySid` and `apiKeySecret`.
Twilio signs status callbacks with the account's auth token, whichever credentials call the API:
the webhook verifies them with `callbackAuthToken` if the Secret has it (for API-key Secrets),
else `authToken` (`callback_token_from_secret_data`).
A missing Secret, a missing or empty key, or a malformed SID is the user's to fix: it raises
`CredentialsError`, which the handlers turn into Stalled without retrying in a loop. Messages
name the Secret and the keys, never a value.

`LastGoodCredentials` remembers, in memory only, the credentials each resource last loaded: when
a namespace is deleted its Secret (and the RoleBinding that lets the operator read it) often goes
before the BundleRenewal's finalizer runs, and the clean-up would otherwise have to abandon the
copy (with its personal data) at Twilio.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Protocol

from pydantic import SecretStr

from controller.adapters.cluster import ClusterAccessError, ObjectNotFound
from controller.adapters.twilio_gateway.port import TwilioCredentials

ACCOUNT_SID_KEY = "accountSid"
AUTH_TOKEN_KEY = "authToken"  # noqa: S105 - a key name, not a secret
API_KEY_SID_KEY = "apiKeySid"
API_KEY_SECRET_KEY = "apiKeySecret"  # noqa: S105 - a key name, not a secret
CALLBACK_AUTH_TOKEN_KEY = "callbackAuthToken"  # noqa: S105 - a key name, not a secret

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")


class SecretSource(Protocol):
    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]: ...


class CredentialsError(Exception):
    """The credentials Secret is missing or unusable. Permanent until the user fixes it."""


def credentials_from_secret_data(secret_name: str, data: dict[str, bytes]) -> TwilioCredentials:
    """Build credentials from a Secret's decoded data, or say which key is wrong."""

    def text(key: str) -> str | None:
        raw = data.get(key)
        if raw is None:
            return None
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise CredentialsError(f"Secret {secret_name}: key {key} is not UTF-8 text") from None
        return value or None

    account_sid = text(ACCOUNT_SID_KEY)
    if account_sid is None:
        raise CredentialsError(f"Secret {secret_name} has no key {ACCOUNT_SID_KEY}")
    if not _ACCOUNT_SID.match(account_sid):
        raise CredentialsError(
            f"Secret {secret_name}: {ACCOUNT_SID_KEY} is not an account SID (AC + 32 hex digits)"
        )
    auth_token = text(AUTH_TOKEN_KEY)
    api_key_sid = text(API_KEY_SID_KEY)
    api_key_secret = text(API_KEY_SECRET_KEY)

    if auth_token is not None:
        return TwilioCredentials(account_sid=account_sid, auth_token=SecretStr(auth_token))
    if api_key_sid is not None and api_key_secret is not None:
        if not _API_KEY_SID.match(api_key_sid):
            raise CredentialsError(
                f"Secret {secret_name}: {API_KEY_SID_KEY} is not an API key SID"
                " (SK + 32 hex digits)"
            )
        return TwilioCredentials(
            account_sid=account_sid,
            api_key_sid=api_key_sid,
            api_key_secret=SecretStr(api_key_secret),
        )
    if api_key_sid is not None or api_key_secret is not None:
        missing = API_KEY_SECRET_KEY if api_key_sid is not None else API_KEY_SID_KEY
        raise CredentialsError(f"Secret {secret_name} has no key {missing}")
    raise CredentialsError(
        f"Secret {secret_name} needs {AUTH_TOKEN_KEY}, or {API_KEY_SID_KEY} and"
        f" {API_KEY_SECRET_KEY}, next to {ACCOUNT_SID_KEY}"
    )


def callback_token_from_secret_data(
    secret_name: str, data: dict[str, bytes]
) -> tuple[str, SecretStr]:
    """(account SID, auth token) to verify the account's status callbacks with: the Secret must
    hold usable credentials, and `callbackAuthToken` or else `authToken`."""
    credentials = credentials_from_secret_data(secret_name, data)
    for key in (CALLBACK_AUTH_TOKEN_KEY, AUTH_TOKEN_KEY):
        raw = data.get(key)
        if raw is None:
            continue
        try:
            token = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise CredentialsError(f"Secret {secret_name}: key {key} is not UTF-8 text") from None
        if token:
            return credentials.account_sid, SecretStr(token)
    raise CredentialsError(
        f"Secret {secret_name} has no {CALLBACK_AUTH_TOKEN_KEY} or {AUTH_TOKEN_KEY}: Twilio signs"
        " status callbacks with the account's auth token, so they cannot be verified"
    )


async def load_callback_token(
    source: SecretSource, namespace: str, secret_name: str
) -> tuple[str, SecretStr]:
    """Read the Secret `secret_name` in `namespace` for `callback_token_from_secret_data`."""
    try:
        data = await source.read_secret(namespace, secret_name)
    except ObjectNotFound:
        raise CredentialsError(f"Secret {secret_name} not found in namespace {namespace}") from None
    return callback_token_from_secret_data(secret_name, data)


async def load_credentials(
    source: SecretSource, namespace: str, secret_name: str
) -> TwilioCredentials:
    """Read and check the Secret `secret_name` in `namespace`."""
    try:
        data = await source.read_secret(namespace, secret_name)
    except ObjectNotFound:
        raise CredentialsError(f"Secret {secret_name} not found in namespace {namespace}") from None
    return credentials_from_secret_data(secret_name, data)


class LastGoodCredentials:
    """The credentials each resource (by UID) last loaded, to clean up after its Secret is gone;
    and each Secret's credentials for `fresh_seconds`, so a fleet sharing one Secret reads it
    once per interval, not once per reconcile (a rotation is seen within that interval)."""

    def __init__(
        self, fresh_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._by_uid: dict[str, TwilioCredentials] = {}
        self._fresh: dict[tuple[str, str], tuple[float, TwilioCredentials]] = {}
        self._fresh_seconds = fresh_seconds
        self._clock = clock

    async def load(
        self,
        source: SecretSource,
        uid: str,
        namespace: str,
        secret_name: str,
        *,
        fallback: bool = False,
    ) -> tuple[TwilioCredentials, bool]:
        """The Secret's credentials (remembered for `uid`), or with `fallback` the remembered ones
        when the Secret cannot be read. The flag says whether the remembered ones were used."""
        key = (namespace, secret_name)
        now = self._clock()
        cached = self._fresh.get(key)
        if cached is not None and now - cached[0] < self._fresh_seconds:
            self._by_uid[uid] = cached[1]
            return cached[1], False
        try:
            credentials = await load_credentials(source, namespace, secret_name)
        except (CredentialsError, ClusterAccessError):
            self._fresh.pop(key, None)
            remembered = self._by_uid.get(uid) if fallback else None
            if remembered is None:
                raise
            return remembered, True
        self._fresh[key] = (now, credentials)
        self._by_uid[uid] = credentials
        return credentials, False

    def forget(self, uid: str) -> None:
        self._by_uid.pop(uid, None)

    def __len__(self) -> int:
        return len(self._by_uid)

    def __repr__(self) -> str:
        return f"LastGoodCredentials({len(self)} resources)"
