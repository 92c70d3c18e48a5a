"""How results reach the terminal: aligned tables for people, YAML or JSON for scripts, and
the durations both read (`--within 30d`, `5m ago`).

Tables go to stdout; progress and notes go to stderr, so `-o json | jq` and `> file` keep
working while a long scan reports where it is.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import yaml

from controller.cli.errors import CliError, ExitCode

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `2w`, `90m`, `45s` -> timedelta (one number, one unit)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise CliError(
            f"duration {text!r}: expected a number and a unit (s, m, h, d or w), e.g. 30d",
            ExitCode.USAGE,
        )
    try:
        return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    except OverflowError:  # beyond timedelta's 999,999,999 days
        raise CliError(f"duration {text!r} is too long", ExitCode.USAGE) from None


def parse_moment(text: str, now: datetime) -> datetime:
    """An ISO 8601 date or date-time (UTC unless it says), or a duration from now (`30d`)."""
    if _DURATION.match(text.strip()):
        try:
            return now + parse_duration(text)
        except OverflowError:  # past year 9999
            raise CliError(f"{text!r} from now is too long a duration", ExitCode.USAGE) from None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"{text!r}: expected an ISO 8601 date (2026-12-31) or a duration (30d)", ExitCode.USAGE
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def age(moment: datetime | None, now: datetime) -> str:
    """kubectl's short age: 45s, 12m, 3h, 5d."""
    if moment is None:
        return "-"
    seconds = max(int((now - moment).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def iso(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], out: TextIO) -> None:
    """kubectl-style columns: upper-case headers, three spaces apart, no borders."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        out.write("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def dump(document: Any, fmt: str, out: TextIO) -> None:
    """`-o json` or `-o yaml` of plain data (datetimes as ISO 8601 UTC strings)."""
    plain = json.loads(json.dumps(document, default=_json_default))
    if fmt == "json":
        out.write(json.dumps(plain, indent=2) + "\n")
    else:
        out.write(yaml.safe_dump(plain, sort_keys=False))


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Progress:
    """`what: n read` on stderr per page once a list spans pages (silent with quiet)."""

    def __init__(self, what: str, *, quiet: bool, out: TextIO | None = None):
        self._what = what
        self._quiet = quiet
        self._out = out or sys.stderr
        self._pages = 0

    def __call__(self, count: int) -> None:
        self._pages += 1
        if self._quiet or self._pages < 2:
            return
        self._out.write(f"{self._what}: {count} read ({self._pages} pages)\n")
        self._out.flush()

    def note(self, message: str) -> None:
        if not self._quiet:
            self._out.write(message + "\n")
            self._out.flush()
