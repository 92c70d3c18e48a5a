"""Figures the tests measure and the documentation quotes, shown in pytest's terminal summary of
every session that measured them, whether the tests passed or not (a passing test's prints are
captured and never shown).

A test calls ``report(what, value)``; this module is a pytest plugin (tests/conftest.py loads it)
whose terminal-summary hook prints the reported lines in order under a ``measurements`` header.
"""

from __future__ import annotations

import pytest

_REPORTED: list[str] = []


def report(what: str, value: str) -> None:
    """Show ``what: value`` at the end of the session."""
    _REPORTED.append(f"{what}: {value}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _REPORTED:
        return
    terminalreporter.write_sep("-", "measurements")
    for line in _REPORTED:
        terminalreporter.write_line(line)
