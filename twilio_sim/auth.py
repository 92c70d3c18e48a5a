"""HTTP Basic authentication as Twilio does it: account SID + auth token, or API key + secret.

An API key (SK...) is bound to one account; either way the request acts as that account.
"""

from __future__ import annotations

import base64
import binascii

from twilio_sim import errors
from twilio_sim.errors import TwilioError
from twilio_sim.store import Account, Store

_UNAUTHORIZED = TwilioError(401, errors.AUTHENTICATE, "Authenticate")


def authenticate(store: Store, header: str | None) -> Account:
    """The account the Authorization header authenticates, or a 401 (code 20003)."""
    if not header or not header[:6].lower() == "basic ":
        raise _UNAUTHORIZED
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _UNAUTHORIZED from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise _UNAUTHORIZED
    account = store.authenticate(username, password)
    if account is None:
        raise _UNAUTHORIZED
    return account
