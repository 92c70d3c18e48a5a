"""The operator's Prometheus metrics: what is counted, and its rendering in the text format.

The operator process keeps one `OperatorMetrics`; the Kopf handlers record reconciles, completed
renewals and each resource's last known phase, the status-callback receiver records its answers,
and the Twilio gateway's own `CallCounter` (read here, never counted twice) supplies the request
counts. `render()` is what `GET /metrics` answers (http_server.py serves it on METRICS_PORT).

Labels carry only bounded, non-sensitive values: operation and error class names, outcome and
reason keywords, HTTP codes, phases, and namespaces. Never a resource's attribute values, a SID of
an end-user or document, a URL or a token.

The text format (version 0.0.4): for each family a `# HELP` line (backslash and newline escaped),
a `# TYPE` line, then `name{label="value",...} number` samples, label values escaped for
backslash, double quote and newline. No dependency: this is all of it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from controller.models import Phase
from controller.plan import ErrorKind

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Reconcile outcomes besides the workflow's error kinds.
RECONCILE_OK = "ok"
RECONCILE_INVALID_SPEC = "invalid_spec"
RECONCILE_EXCEPTION = "exception"
RECONCILE_OUTCOMES = (
    RECONCILE_OK,
    *(kind.value for kind in ErrorKind),
    RECONCILE_INVALID_SPEC,
    RECONCILE_EXCEPTION,
)
#: A resource the operator has not written a status for yet counts under this phase.
PHASE_WITHOUT_STATUS = Phase.PENDING


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class MetricFamily:
    name: str
    type: MetricType
    help: str
    samples: list[Sample] = field(default_factory=list)


class CallCounts(Protocol):
    """What the Twilio gateway counts (twilio_gateway.metrics.CallCounter)."""

    def calls(self) -> dict[str, int]: ...

    def failures(self) -> dict[tuple[str, str], int]: ...


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[MetricFamily]) -> str:
    """The families in Prometheus' text exposition format (ends with a newline)."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type.value}")
        for sample in family.samples:
            labels = ",".join(
                f'{key}="{escape_label_value(value)}"' for key, value in sample.labels.items()
            )
            name = f"{family.name}{{{labels}}}" if labels else family.name
            lines.append(f"{name} {format_value(sample.value)}")
    return "\n".join(lines) + "\n"


class OperatorMetrics:
    """Everything /metrics reports, for one operator process."""

    def __init__(self, twilio: CallCounts | None = None) -> None:
        self.twilio = twilio
        self._reconciles: Counter[str] = Counter({outcome: 0 for outcome in RECONCILE_OUTCOMES})
        self._completed: Counter[str] = Counter()
        self._callbacks: Counter[tuple[int, str]] = Counter()
        self._phases: dict[str, Phase] = {}

    def record_reconcile(self, outcome: str) -> None:
        self._reconciles[outcome] += 1

    def record_completion(self, namespace: str) -> None:
        self._completed[namespace] += 1

    def record_callback(self, code: int, reason: str) -> None:
        self._callbacks[(code, reason)] += 1

    def set_phase(self, uid: str, phase: Phase | None) -> None:
        self._phases[uid] = phase or PHASE_WITHOUT_STATUS

    def forget(self, uid: str) -> None:
        self._phases.pop(uid, None)

    def families(self) -> list[MetricFamily]:
        phases = Counter(self._phases.values())
        families = [
            MetricFamily(
                "bundle_renewal_reconciles_total",
                MetricType.COUNTER,
                "Reconciles of BundleRenewals by outcome: ok, a workflow error kind"
                " (transient, permanent, not_found, authentication, credentials), invalid_spec,"
                " or exception (the daemon restarts).",
                [Sample({"outcome": o}, n) for o, n in sorted(self._reconciles.items())],
            ),
            MetricFamily(
                "bundle_renewal_renewals_completed_total",
                MetricType.COUNTER,
                "Renewals this process took to the Completed phase, by namespace.",
                [Sample({"namespace": ns}, n) for ns, n in sorted(self._completed.items())],
            ),
            MetricFamily(
                "bundle_renewal_resources",
                MetricType.GAUGE,
                "BundleRenewals watched by this process, by their last known phase.",
                [Sample({"phase": p.value}, phases[p]) for p in Phase],
            ),
            MetricFamily(
                "bundle_renewal_webhook_callbacks_total",
                MetricType.COUNTER,
                "Twilio status callbacks received, by HTTP answer code and reason.",
                [
                    Sample({"code": str(code), "reason": reason}, n)
                    for (code, reason), n in sorted(self._callbacks.items())
                ],
            ),
        ]
        calls = self.twilio.calls() if self.twilio is not None else {}
        failures = self.twilio.failures() if self.twilio is not None else {}
        families += [
            MetricFamily(
                "bundle_renewal_twilio_requests_total",
                MetricType.COUNTER,
                "HTTP requests sent to Twilio, by gateway operation (each retry counts; a"
                " paginated list counts once).",
                [Sample({"operation": op}, n) for op, n in sorted(calls.items())],
            ),
            MetricFamily(
                "bundle_renewal_twilio_request_failures_total",
                MetricType.COUNTER,
                "Twilio requests that failed, by gateway operation and error class.",
                [
                    Sample({"operation": op, "error": error}, n)
                    for (op, error), n in sorted(failures.items())
                ],
            ),
        ]
        return families

    def render(self) -> str:
        return render(self.families())
