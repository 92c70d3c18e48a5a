"""Twilio list paging: PageSize / Page / PageToken in, ``meta`` with absolute URLs out.

The page URLs point back at the simulator (the request's own scheme and host, or the configured
public base URL), keep the caller's filters in their order, and carry an opaque PageToken for the
next page, as Twilio's do. The SDK follows ``meta.next_page_url`` verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from multidict import MultiMapping

from twilio_sim.errors import invalid_parameter

T = TypeVar("T")
_PAGING_KEYS = ("PageSize", "Page", "PageToken")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def _int_param(query: MultiMapping[str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_parameter(name, "must be an integer") from None
    if not low <= value <= high:
        raise invalid_parameter(name, f"must be between {low} and {high}")
    return value


def window(query: MultiMapping[str]) -> tuple[int, int, int]:
    """(page size, page number, offset of the page's first item) the query asks for."""
    page_size = _int_param(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _int_param(query, "Page", 0, 0, 10**9)
    token = query.get("PageToken")
    if token is None:
        return page_size, page, page * page_size
    if not (token.startswith("PT") and token[2:].isdigit()):
        raise invalid_parameter("PageToken")
    return page_size, page, int(token[2:])


def filters_of(query: MultiMapping[str]) -> list[tuple[str, str]]:
    """The query's parameters other than paging, in their order (kept in page URLs)."""
    return [(k, v) for k, v in query.items() if k not in _PAGING_KEYS]


def paginate(
    items: Sequence[T],
    query: MultiMapping[str],
    base_url: str,
    path: str,
    key: str = "results",
) -> tuple[list[T], dict[str, Any]]:
    """The requested page of items and its meta object."""
    page_size, page, offset = window(query)
    token = query.get("PageToken")
    chunk = list(items[offset : offset + page_size])
    filters = filters_of(query)
    root = f"{base_url}{path}"

    def url(page_no: int, page_token: str | None) -> str:
        params = [*filters, ("PageSize", str(page_size)), ("Page", str(page_no))]
        if page_token is not None:
            params.append(("PageToken", page_token))
        return f"{root}?{urlencode(params)}"

    has_next = offset + page_size < len(items)
    prev_offset = offset - page_size
    meta = {
        "page": page,
        "page_size": page_size,
        "first_page_url": url(0, None),
        "previous_page_url": (
            url(page - 1, f"PT{prev_offset}") if page > 0 and prev_offset >= 0 else None
        ),
        "url": url(page, token),
        "next_page_url": url(page + 1, f"PT{offset + page_size}") if has_next else None,
        "key": key,
    }
    return chunk, meta
