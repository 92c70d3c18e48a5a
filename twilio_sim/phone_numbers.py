"""The account's phone numbers as Twilio's API v2010 lists them (IncomingPhoneNumbers, read only).

Numbers v2 has no way to count a bundle's phone numbers: Twilio records the bundle on each number
instead (`bundle_sid` of an IncomingPhoneNumber, api.twilio.com/2010-04-01). Tools that want a
count per bundle (the `bundle-renewal scan` CLI) list the account's numbers once and group them by
`bundle_sid`, so the simulator serves that list for the numbers its seeded bundles hold. Only the
list is simulated, with v2010's own paging envelope (relative `*_page_uri`s, `start`/`end`), and
only the fields such a tool reads plus the identifying ones; numbers are never created, moved or
released through it.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from twilio_sim import errors, paging, sids
from twilio_sim.api import account_of, json_response
from twilio_sim.render import iso
from twilio_sim.store import Bundle

API_VERSION = "2010-04-01"
LIST_PATH = f"/{API_VERSION}/Accounts/{{AccountSid}}/IncomingPhoneNumbers.json"


def _e164(sid: str) -> str:
    """A stable, obviously fictitious number for a PN SID (+1 555 is the fiction prefix)."""
    digest = int(hashlib.sha256(sid.encode()).hexdigest()[:8], 16)
    return f"+1555{digest % 10_000_000:07d}"


def _render(sid: str, bundle: Bundle, account_sid: str) -> dict[str, Any]:
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "bundle_sid": bundle.sid,
        "phone_number": _e164(sid),
        "friendly_name": _e164(sid),
        "status": "in-use",
        "date_created": iso(bundle.date_created),
        "date_updated": iso(bundle.date_updated),
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json",
    }


async def list_incoming_phone_numbers(request: web.Request) -> web.Response:
    account = account_of(request)
    path_account = request.match_info["AccountSid"]
    if not sids.is_sid(path_account, sids.ACCOUNT) or path_account != account.sid:
        # Twilio answers another account's path (or a malformed one) as not found.
        raise errors.not_found(request.path)
    numbers = [
        (pn, bundle)
        for bundle in sorted(account.bundles.values(), key=lambda b: b.seq)
        for pn in bundle.phone_numbers
    ]
    page_size, page, start = paging.window(request.query)
    chunk = numbers[start : start + page_size]
    filters = paging.filters_of(request.query)

    def uri(page_no: int, offset: int | None) -> str:
        params = [*filters, ("PageSize", str(page_size)), ("Page", str(page_no))]
        if offset is not None:
            params.append(("PageToken", f"PT{offset}"))
        return f"{request.path}?{urlencode(params)}"

    has_next = start + page_size < len(numbers)
    has_previous = page > 0 and start - page_size >= 0
    return json_response(
        {
            "incoming_phone_numbers": [_render(sid, b, account.sid) for sid, b in chunk],
            "start": start,
            "end": start + max(len(chunk) - 1, 0),
            "page": page,
            "page_size": page_size,
            "first_page_uri": uri(0, None),
            "previous_page_uri": uri(page - 1, start - page_size) if has_previous else None,
            "next_page_uri": uri(page + 1, start + page_size) if has_next else None,
            "uri": request.path_qs,
        }
    )


def routes() -> list[web.RouteDef]:
    return [web.get(LIST_PATH, list_incoming_phone_numbers)]
