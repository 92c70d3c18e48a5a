"""Twilio credentials and the gateway the CLI talks to Twilio through.

Credentials come from a Secret (`--credentials-secret NAMESPACE/NAME`, the operator's keys, see
controller/engine/credentials.py) or from the environment as twilio-cli reads it: TWILIO_ACCOUNT_SID
with TWILIO_AUTH_TOKEN, or with TWILIO_API_KEY and TWILIO_API_SECRET. TWILIO_BASE_URL points
every call elsewhere (the simulator); TWILIO_API_BASE_URL, the API v2010 host (phone numbers)
alone, for a validating proxy that knows the numbers API only. Values never reach the output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import SecretStr, ValidationError

from controller.adapters.twilio_gateway.config import TWILIO_NUMBERS_BASE_URL, GatewaySettings
from controller.adapters.twilio_gateway.factory import SdkTwilioGatewayFactory
from controller.adapters.twilio_gateway.port import TwilioCredentials
from controller.cli.errors import CliError, ExitCode
from controller.cli.kube import Kube
from controller.engine.credentials import CredentialsError, credentials_from_secret_data

ENV_ACCOUNT_SID = "TWILIO_ACCOUNT_SID"
ENV_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"  # noqa: S105 - a variable name
ENV_API_KEY = "TWILIO_API_KEY"
ENV_API_SECRET = "TWILIO_API_SECRET"  # noqa: S105 - a variable name
ENV_BASE_URL = "TWILIO_BASE_URL"
ENV_API_BASE_URL = "TWILIO_API_BASE_URL"


def split_reference(reference: str, default_namespace: str) -> tuple[str, str]:
    """`NAMESPACE/NAME` (or `NAME` in the default namespace) -> (namespace, name)."""
    namespace, _, name = reference.rpartition("/")
    if not name:
        raise CliError(
            f"--credentials-secret {reference!r}: expected NAMESPACE/NAME", ExitCode.USAGE
        )
    return namespace or default_namespace, name


def credentials_from_env(env: Mapping[str, str]) -> TwilioCredentials | None:
    """The twilio-cli variables' credentials; None when TWILIO_ACCOUNT_SID is unset."""
    account_sid = env.get(ENV_ACCOUNT_SID, "").strip()
    if not account_sid:
        return None
    token = env.get(ENV_AUTH_TOKEN, "").strip()
    key, secret = env.get(ENV_API_KEY, "").strip(), env.get(ENV_API_SECRET, "").strip()
    try:
        if key or secret:
            return TwilioCredentials(
                account_sid=account_sid,
                api_key_sid=key or None,
                api_key_secret=SecretStr(secret) if secret else None,
            )
        return TwilioCredentials(
            account_sid=account_sid, auth_token=SecretStr(token) if token else None
        )
    except ValidationError:
        raise CliError(
            f"{ENV_ACCOUNT_SID} needs {ENV_AUTH_TOKEN}, or {ENV_API_KEY} and {ENV_API_SECRET}",
            ExitCode.CONFIGURATION,
        ) from None


def credentials_from_secret(kube: Kube, namespace: str, name: str) -> TwilioCredentials:
    try:
        data = kube.read_secret(namespace, name)
    except CliError as exc:
        raise CliError(str(exc), ExitCode.CONFIGURATION) from None
    try:
        return credentials_from_secret_data(f"{namespace}/{name}", data)
    except CredentialsError as exc:
        raise CliError(str(exc), ExitCode.CONFIGURATION) from None


def resolve_credentials(
    secret_reference: str | None, kube: Kube | None, env: Mapping[str, str] = os.environ
) -> TwilioCredentials | None:
    """`--credentials-secret` first, then the environment; None when neither is given."""
    if secret_reference is not None:
        if kube is None:  # pragma: no cover - the caller builds one whenever a Secret is named
            raise CliError("--credentials-secret needs cluster access", ExitCode.CONFIGURATION)
        namespace, name = split_reference(secret_reference, kube.namespace)
        return credentials_from_secret(kube, namespace, name)
    return credentials_from_env(env)


def gateway_factory(
    env: Mapping[str, str] = os.environ, page_size: int | None = None
) -> SdkTwilioGatewayFactory:
    settings = GatewaySettings(
        base_url=env.get(ENV_BASE_URL) or TWILIO_NUMBERS_BASE_URL,
        api_base_url=env.get(ENV_API_BASE_URL) or None,
        page_size=page_size,
    )
    return SdkTwilioGatewayFactory(settings)
