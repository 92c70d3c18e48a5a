"""One account's HTTP plumbing: an aiohttp session, the SDK client on top of it, upload auth.

Built lazily inside the running event loop (aiohttp sessions belong to one loop) and reused by
every gateway the factory hands out for the same credentials. The SDK's own retries stay off
(`max_retries=None`), and the request time limit is applied here because the SDK passes
`timeout=None` to aiohttp, which would otherwise mean "no limit".
"""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from controller.adapters.twilio_gateway.config import GatewaySettings
from controller.adapters.twilio_gateway.port import TwilioCredentials, TwilioTransientError


class _TimeLimitedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client on a session we own, with a per-request time limit, no retries."""

    def __init__(self, session: aiohttp.ClientSession, timeout_seconds: float) -> None:
        super().__init__(pool_connections=False, timeout=timeout_seconds, max_retries=None)
        self.session = session

    # The SDK logs every request and response at INFO (URL, query, headers): the gateway logs
    # its own one debug line per call instead.
    def log_request(self, kwargs: dict[str, Any]) -> None:
        return None

    def log_response(self, status_code: int, response: Any) -> None:
        return None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's signature
        allow_redirects: bool = False,
    ) -> Any:
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=self.timeout if timeout is None else timeout,
            allow_redirects=allow_redirects,
        )


def secret_of(credentials: TwilioCredentials) -> str:
    secret = credentials.auth_token or credentials.api_key_secret
    if secret is None:  # pragma: no cover - TwilioCredentials validates this
        raise ValueError("credentials without a secret")
    return secret.get_secret_value()


class AccountConnection:
    """The shared client for one set of credentials. `repr` shows the account SID only."""

    def __init__(self, credentials: TwilioCredentials, settings: GatewaySettings) -> None:
        self._credentials = credentials
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._client: Any = None
        self._closed = False

    def __repr__(self) -> str:
        return f"AccountConnection(account_sid={self._credentials.account_sid!r})"

    @property
    def account_sid(self) -> str:
        return self._credentials.account_sid

    def uses_secret_of(self, credentials: TwilioCredentials) -> bool:
        """Whether this connection authenticates with the same secret as `credentials`."""
        return secrets.compare_digest(secret_of(self._credentials), secret_of(credentials))

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session (created on first use, inside the running loop)."""
        if self._closed:
            # Retired after a credential rotation (or shut down): the next reconcile reads the
            # credentials again and gets a current connection.
            raise TwilioTransientError("the connection for these credentials was closed")
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self._settings.request_timeout_seconds)
            # As many pooled connections as the account's limit may allow requests: aiohttp
            # must not queue requests (and inflate the latencies the limit learns from).
            connector = aiohttp.TCPConnector(
                limit=self._settings.max_concurrent_requests_per_account
            )
            self._session = aiohttp.ClientSession(timeout=timeout, connector=connector)
            # aiohttp silently resends GET/DELETE once when a kept-alive connection drops: the
            # gateway's retry policy must be the only one (a resent DELETE's 404 means "done"
            # only if the gateway knows it resent it).
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
            self._client = None
        return self._session

    def compliance(self) -> Any:
        """`client.numbers.v2.regulatory_compliance` of an SDK client on our session."""
        session = self.session()
        if self._client is None:
            http_client = _TimeLimitedHttpClient(session, self._settings.request_timeout_seconds)
            client = Client(
                self._credentials.username,
                secret_of(self._credentials),
                self._credentials.account_sid,
                http_client=http_client,
            )
            # TWILIO_EDGE/TWILIO_REGION in the environment would rewrite the host: the base URL
            # setting is the only way to point the gateway elsewhere.
            client.edge = None
            client.region = None
            client.numbers.base_url = self._settings.base_url.rstrip("/")
            client.api.base_url = self._settings.effective_api_base_url.rstrip("/")
            self._client = client
        return self._client.numbers.v2.regulatory_compliance

    def incoming_phone_numbers(self) -> Any:
        """The account's IncomingPhoneNumbers list (API v2010) on the same client."""
        self.compliance()
        return self._client.api.v2010.accounts(self.account_sid).incoming_phone_numbers

    def basic_auth(self) -> aiohttp.BasicAuth:
        return aiohttp.BasicAuth(self._credentials.username, secret_of(self._credentials))

    async def close(self) -> None:
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        self._client = None
