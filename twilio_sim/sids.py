"""Twilio SIDs: a two-letter prefix naming the resource type plus 32 hex characters.

The simulator mints SIDs here and checks the prefix of SIDs it is given, so that a SID of the
wrong kind is answered the way Twilio answers it (not found) instead of reaching a lookup.
"""

from __future__ import annotations

import hashlib
import re
import uuid

ACCOUNT = "AC"
API_KEY = "SK"
BUNDLE = "BU"
END_USER = "IT"
SUPPORTING_DOCUMENT = "RD"
ITEM_ASSIGNMENT = "BV"
EVALUATION = "EL"
REGULATION = "RN"
TYPE = "OY"
PHONE_NUMBER = "PN"
ADDRESS = "AD"

_ANY_SID = re.compile(r"^[A-Za-z]{2}[0-9a-fA-F]{32}$")


def new_sid(prefix: str) -> str:
    """A fresh random SID with the given prefix."""
    return prefix + uuid.uuid4().hex


def stable_sid(prefix: str, name: str) -> str:
    """A SID derived from a name, identical on every run (catalogue entries: RN, OY)."""
    return prefix + hashlib.sha256(name.encode()).hexdigest()[:32]


def new_secret() -> str:
    """A random 32-hex-character secret, the shape of a Twilio auth token."""
    return uuid.uuid4().hex


def is_sid(value: str, prefix: str | None = None) -> bool:
    """Whether value is a well-formed SID, optionally with the given prefix."""
    if not _ANY_SID.match(value):
        return False
    return prefix is None or value[:2] == prefix
