"""Credentials from a Secret: both ways to authenticate, and clear errors that leak no value."""

from __future__ import annotations

import pytest

from controller.adapters.cluster import ObjectNotFound
from controller.engine.credentials import (
    CredentialsError,
    credentials_from_secret_data,
    load_credentials,
)

ACCOUNT = "AC" + "1" * 32
TOKEN = "tok-" + "s3cr3t" * 4
KEY_SID = "SK" + "2" * 32
KEY_SECRET = "key-" + "hush" * 6


class FakeSecrets:
    def __init__(self, secrets: dict[tuple[str, str], dict[str, bytes]]):
        self.secrets = secrets

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        try:
            return self.secrets[(namespace, name)]
        except KeyError:
            raise ObjectNotFound("Secret", namespace, name) from None


def test_account_sid_and_auth_token() -> None:
    creds = credentials_from_secret_data(
        "twilio", {"accountSid": ACCOUNT.encode(), "authToken": f" {TOKEN}\n".encode()}
    )
    assert creds.account_sid == ACCOUNT
    assert creds.username == ACCOUNT
    assert creds.auth_token is not None
    assert creds.auth_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(creds)


def test_api_key() -> None:
    creds = credentials_from_secret_data(
        "twilio",
        {
            "accountSid": ACCOUNT.encode(),
            "apiKeySid": KEY_SID.encode(),
            "apiKeySecret": KEY_SECRET.encode(),
        },
    )
    assert creds.username == KEY_SID
    assert creds.api_key_secret is not None
    assert creds.api_key_secret.get_secret_value() == KEY_SECRET


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"authToken": TOKEN.encode()}, "no key accountSid", id="no-account"),
        pytest.param(
            {"accountSid": b"AC123", "authToken": TOKEN.encode()}, "not an account SID", id="bad"
        ),
        pytest.param({"accountSid": ACCOUNT.encode()}, "needs authToken", id="no-secret"),
        pytest.param(
            {"accountSid": ACCOUNT.encode(), "authToken": b"  "}, "needs authToken", id="empty"
        ),
        pytest.param(
            {"accountSid": ACCOUNT.encode(), "apiKeySid": KEY_SID.encode()},
            "no key apiKeySecret",
            id="key-without-secret",
        ),
        pytest.param(
            {"accountSid": ACCOUNT.encode(), "apiKeySecret": KEY_SECRET.encode()},
            "no key apiKeySid",
            id="secret-without-key",
        ),
        pytest.param(
            {
                "accountSid": ACCOUNT.encode(),
                "apiKeySid": b"XX" + b"2" * 32,
                "apiKeySecret": KEY_SECRET.encode(),
            },
            "not an API key SID",
            id="bad-key-sid",
        ),
    ],
)
def test_unusable_secrets_say_which_key(data: dict[str, bytes], expected: str) -> None:
    with pytest.raises(CredentialsError, match=expected) as caught:
        credentials_from_secret_data("twilio", data)
    assert "Secret twilio" in str(caught.value)
    for value in data.values():
        if len(value.strip()) > 4:
            assert value.decode() not in str(caught.value)


async def test_load_reads_the_named_secret_in_the_resource_namespace() -> None:
    source = FakeSecrets(
        {("telecom", "twilio"): {"accountSid": ACCOUNT.encode(), "authToken": TOKEN.encode()}}
    )
    creds = await load_credentials(source, "telecom", "twilio")
    assert creds.account_sid == ACCOUNT
    with pytest.raises(CredentialsError, match="Secret twilio not found in namespace other"):
        await load_credentials(source, "other", "twilio")


def test_callback_token_is_callback_auth_token_else_auth_token() -> None:
    from controller.engine.credentials import callback_token_from_secret_data

    token_secret = {"accountSid": ACCOUNT.encode(), "authToken": TOKEN.encode()}
    account, token = callback_token_from_secret_data("twilio", token_secret)
    assert (account, token.get_secret_value()) == (ACCOUNT, TOKEN)
    key_secret = {
        "accountSid": ACCOUNT.encode(),
        "apiKeySid": KEY_SID.encode(),
        "apiKeySecret": KEY_SECRET.encode(),
    }
    with pytest.raises(CredentialsError, match="callbackAuthToken") as caught:
        callback_token_from_secret_data("twilio", key_secret)
    assert KEY_SECRET not in str(caught.value)
    key_secret["callbackAuthToken"] = f" {TOKEN}\n".encode()
    _, token = callback_token_from_secret_data("twilio", key_secret)
    assert token.get_secret_value() == TOKEN
    # The API key still makes the API calls.
    assert credentials_from_secret_data("twilio", key_secret).username == KEY_SID
    with pytest.raises(CredentialsError, match="no key accountSid"):
        callback_token_from_secret_data("twilio", {"authToken": TOKEN.encode()})
