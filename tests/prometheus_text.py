"""A strict reader of Prometheus' text exposition format (0.0.4), for the tests of /metrics.

Independent of controller/metrics.py's renderer: it re-implements the grammar from the format's
description, so a rendering mistake (a missing TYPE line, a bad escape, a sample of an undeclared
family, a duplicate series) fails the tests instead of being read back by the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n"}


class FormatError(ValueError):
    pass


@dataclass
class Family:
    name: str
    help: str | None = None
    type: str | None = None
    samples: dict[frozenset[tuple[str, str]], float] = field(default_factory=dict)

    def value(self, **labels: str) -> float:
        """The sample with exactly these labels (KeyError if there is none)."""
        return self.samples[frozenset(labels.items())]

    def total(self, **labels: str) -> float:
        """The sum of the samples whose labels include these."""
        wanted = set(labels.items())
        return sum(v for key, v in self.samples.items() if wanted <= key)


def _unescape(text: str, allowed: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        escaped = next(chars, None)
        if escaped is None or escaped not in allowed:
            raise FormatError(f"bad escape \\{escaped} in {text!r}")
        out.append(_UNESCAPE[escaped])
    return "".join(out)


def _labels(text: str, pos: int) -> tuple[dict[str, str], int]:
    """Parses `{name="value",...}` starting at text[pos] == '{'; returns labels and end pos."""
    labels: dict[str, str] = {}
    pos += 1
    while True:
        if text[pos] == "}":
            return labels, pos + 1
        match = LABEL_NAME.match(text, pos)
        if match is None:
            raise FormatError(f"bad label name at {pos} in {text!r}")
        name = match.group()
        pos = match.end()
        if text[pos : pos + 2] != '="':
            raise FormatError(f'expected =" after {name} in {text!r}')
        pos += 2
        start = pos
        while text[pos] != '"':
            if text[pos] == "\n":
                raise FormatError(f"raw newline in a label value in {text!r}")
            pos += 2 if text[pos] == "\\" else 1
        if name in labels:
            raise FormatError(f"label {name} twice in {text!r}")
        labels[name] = _unescape(text[start:pos], '\\"n')
        pos += 1
        if text[pos] == ",":
            pos += 1
        elif text[pos] != "}":
            raise FormatError(f"expected , or }} at {pos} in {text!r}")


def parse(text: str) -> dict[str, Family]:
    """Every family by name. Refuses what a Prometheus server would, and a few things it merely
    tolerates: a sample before its family's HELP and TYPE, a repeated series."""
    if not text.endswith("\n"):
        raise FormatError("the exposition must end with a newline")
    families: dict[str, Family] = {}
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            keyword, rest = line[2:6], line[7:]
            name, _, value = rest.partition(" ")
            if not METRIC_NAME.fullmatch(name):
                raise FormatError(f"bad metric name in {line!r}")
            family = families.setdefault(name, Family(name))
            if family.samples:
                raise FormatError(f"{keyword} after samples in {line!r}")
            if keyword == "HELP":
                if family.help is not None:
                    raise FormatError(f"second HELP for {name}")
                family.help = _unescape(value, "\\n")
            else:
                if family.type is not None or value not in TYPES:
                    raise FormatError(f"second or unknown TYPE in {line!r}")
                family.type = value
            continue
        if not line or line.startswith("#"):
            continue
        match = METRIC_NAME.match(line)
        if match is None:
            raise FormatError(f"bad sample line {line!r}")
        name, pos = match.group(), match.end()
        labels: dict[str, str] = {}
        if pos < len(line) and line[pos] == "{":
            try:
                labels, pos = _labels(line, pos)
            except IndexError:
                raise FormatError(f"unterminated labels in {line!r}") from None
        if line[pos : pos + 1] != " ":
            raise FormatError(f"expected a space before the value in {line!r}")
        value_text = line[pos + 1 :].split(" ")[0]
        try:
            number = float(value_text)
        except ValueError:
            raise FormatError(f"bad value in {line!r}") from None
        declared = families.get(name)
        if declared is None or declared.help is None or declared.type is None:
            raise FormatError(f"sample of {name} before its HELP and TYPE")
        key = frozenset(labels.items())
        if key in declared.samples:
            raise FormatError(f"repeated series in {line!r}")
        declared.samples[key] = number
    return families
