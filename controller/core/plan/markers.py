"""Markers: how the operator recognises, at Twilio, what it made for a resource.

A copy's friendly name is `bundle-renewal <uid>`; a document created for spec entry `key` carries
`bundle-renewal <uid> <key>` (after the user's friendlyName, in parentheses). A restart finds
them again by these names, which is what makes every step safe to repeat. Pure.
"""

from __future__ import annotations

MARKER_PREFIX = "bundle-renewal"


def copy_marker(uid: str) -> str:
    """Friendly name of the copy made for the resource with this UID (how it is found again)."""
    return f"{MARKER_PREFIX} {uid}"


def copy_owner(friendly_name: str | None) -> str | None:
    """The UID of the resource a copy was made for, if its friendly name is a copy marker (any
    resource's, not only this one's); None for a bundle nobody marked."""
    if friendly_name is None or not friendly_name.startswith(f"{MARKER_PREFIX} "):
        return None
    uid = friendly_name[len(MARKER_PREFIX) + 1 :]
    return uid if uid and " " not in uid else None


def document_marker(uid: str, key: str) -> str:
    """The marker in the friendly name of a supporting document created for the resource's spec
    entry `key` (the whole name, or the end of it after the user's friendlyName)."""
    return f"{MARKER_PREFIX} {uid} {key}"


def created_document_name(uid: str, key: str, friendly_name: str | None) -> str:
    """Friendly name for a document created for spec entry `key`: the marker, after the user's
    friendlyName in parentheses when one is given."""
    marker = document_marker(uid, key)
    return marker if friendly_name is None else f"{friendly_name} ({marker})"


def created_document_key(uid: str, friendly_name: str | None) -> str | None:
    """The spec entry key a document was created for, if its friendly name carries the marker of
    the resource with this UID; None for any other document."""
    if friendly_name is None:
        return None
    prefix = f"{MARKER_PREFIX} {uid} "
    name = friendly_name.removesuffix(")")
    start = name.find(prefix)
    if start < 0 or (start > 0 and not friendly_name.endswith(")")):
        return None
    key = name[start + len(prefix) :]
    return key or None
