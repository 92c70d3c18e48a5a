"""Keeps attribute values (personal data) out of every log line, Kopf's own included.

The operator never logs attribute values itself, but Kopf logs whole object bodies and patches at
DEBUG level, a BundleRenewal's spec carries end-user and document attributes, and a traceback
quotes its exception's message (pydantic's ValidationError quotes the offending input). A filter
on the log handlers replaces, in a rendered message and in a record's traceback text:
- the content of every `attributes` mapping: `'attributes': {...}` in Python reprs,
  `"attributes":{...}` in JSON (also JSON held in a string, as in Kopf's
  last-handled-configuration annotation) and `attributes={...}` in keyword reprs;
- the input pydantic quotes in a validation error (`input_value=..., input_type=...`).
When the braces do not balance, the rest of the message is dropped rather than risk a leak.
"""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"

_ATTRIBUTES_KEY = re.compile(r"""(?P<key>(?:\\?["']attributes\\?["']\s*:|\battributes=)\s*)\{""")
# pydantic: "[type=int_parsing, input_value='...', input_type=str]"; the value may span lines.
_INPUT_VALUE = re.compile(r"(?P<key>\binput_value=).*?(?=, input_type=\w+\])", re.DOTALL)


def redact_attributes(message: str) -> str:
    """`message` with attribute mappings and quoted validation input replaced by a marker."""
    if "input_value=" in message:
        message = _INPUT_VALUE.sub(lambda m: m.group("key") + REDACTED, message)
    if "attributes" not in message:
        return message
    out: list[str] = []
    position = 0
    while True:
        match = _ATTRIBUTES_KEY.search(message, position)
        if match is None:
            out.append(message[position:])
            return "".join(out)
        out.append(message[position : match.start()])
        out.append(match.group("key") + "{" + REDACTED + "}")
        end = _closing_brace(message, match.end() - 1)
        if end is None:
            return "".join(out)
        position = end + 1


def _closing_brace(text: str, opening: int) -> int | None:
    depth = 0
    for index in range(opening, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


class AttributeRedactingFilter(logging.Filter):
    """A handler filter: renders the record's message (and its traceback) once, redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record; let logging report it as usual
        redacted = redact_attributes(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters use a record's exc_text when it is set: set it, redacted.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_attributes(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (the root logger by default)."""
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, AttributeRedactingFilter) for f in handler.filters):
            handler.addFilter(AttributeRedactingFilter())
