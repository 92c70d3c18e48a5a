"""Reads a /metrics exposition for the tests with prometheus_client's own parser
(`text_string_to_metric_families`), and looks samples up by their labels.

That parser is lax by design (its docstring: parsing does not imply the text meets the
specification): a sample of an undeclared family becomes an `unknown` family of its own, a repeated
series or a second HELP line passes, an unknown escape is kept as is. `scrape` adds those checks, so
that a Prometheus server would take what the operator serves, not merely this parser.
"""

from __future__ import annotations

import re
from collections import Counter

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

TYPES = {"counter", "gauge", "histogram", "summary"}
_HELP_ESCAPES = re.compile(r"\\[\\n]")
_LABEL_ESCAPES = re.compile(r'\\[\\"n]')


class ExpositionError(ValueError):
    pass


def _check_lines(text: str) -> None:
    if not text.endswith("\n"):
        raise ExpositionError("the exposition must end with a newline")
    declared: Counter[tuple[str, str]] = Counter()
    for line in text[:-1].split("\n"):
        if line.startswith(("# HELP ", "# TYPE ")):
            keyword, name = line.split(" ")[1:3]
            declared[(keyword, name)] += 1
            if declared[(keyword, name)] > 1:
                raise ExpositionError(f"second {keyword} line for {name}")
        escapes = _HELP_ESCAPES if line.startswith("# HELP ") else _LABEL_ESCAPES
        if "\\" in escapes.sub("", line):
            raise ExpositionError(f"bad escape in {line!r}")


def scrape(exposition: str | bytes) -> dict[str, Metric]:
    """Every family by the name its samples have (a counter's with `_total`, as in PromQL).
    Raises ValueError for what the parser refuses and for what Prometheus merely should not get:
    a sample without its family's HELP and TYPE, a repeated series, a family split in two."""
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    _check_lines(text)
    families: dict[str, Metric] = {}
    for family in text_string_to_metric_families(text):
        name = f"{family.name}_total" if family.type == "counter" else family.name
        if family.type not in TYPES or not family.documentation:
            raise ExpositionError(f"{name} lacks its HELP or TYPE line")
        if name in families:
            raise ExpositionError(f"{name} appears twice")
        series = Counter((s.name, frozenset(s.labels.items())) for s in family.samples)
        repeated = [key for key, n in series.items() if n > 1]
        if repeated:
            raise ExpositionError(f"repeated series {repeated}")
        families[name] = family
    return families


def value(family: Metric, **labels: str) -> float:
    """The sample with exactly these labels (KeyError if there is none)."""
    for sample in family.samples:
        if sample.labels == labels:
            return sample.value
    raise KeyError(labels)


def total(family: Metric, **labels: str) -> float:
    """The sum of the samples whose labels include these."""
    wanted = labels.items()
    return sum(s.value for s in family.samples if wanted <= s.labels.items())
