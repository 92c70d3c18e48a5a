"""How big /metrics gets: 1,000 BundleRenewals' statuses fed into OperatorMetrics, rendered.

    .venv/bin/python devtools/metrics_size.py [N]     # or: make bench-metrics

Prints the exposition's size in bytes, its number of series and the render time. The statuses
are deterministic (a fixed clock, names `renewal-0000`...), spread over the phases as a fleet
might be: most Completed, some in review with a deadline, a few waiting for a person or failed;
names are realistic (`team-07`, `renewal-0042`): the figure is for planning a scrape. The
series per resource (12 to 15) are pinned by tests/unit/telemetry/test_resource_metrics.py; the
documentation's figure for 1,000 resources is generated from `measure(1000)`
(devtools/docs_reference.py).
"""

from __future__ import annotations

import gzip
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from controller.adapters.twilio_gateway.metrics import CallCounter  # noqa: E402
from controller.core.conditions import set_condition  # noqa: E402
from controller.core.models import (  # noqa: E402
    BundleRenewalStatus,
    ConditionType,
    OriginalBundleStatus,
    Phase,
    ReviewStatus,
)
from controller.core.models.account import ComplianceAccountStatus  # noqa: E402
from controller.telemetry.metrics import OperatorMetrics  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Size:
    resources: int
    bytes: int
    gzip_bytes: int
    """The same, gzipped: what a scrape would transfer if /metrics compressed (Prometheus asks
    for gzip; the operator's endpoint, controller/inbound/http_server.py, answers uncompressed)."""
    series: int
    seconds: float


def status(i: int) -> BundleRenewalStatus:
    """The i-th resource's status: 80% Completed, 10% InReview, 5% NeedsInput, 5% Failed."""
    slot = i % 20
    if slot < 16:
        phase, ready = Phase.COMPLETED, True
    elif slot < 18:
        phase, ready = Phase.IN_REVIEW, False
    else:
        phase, ready = (Phase.NEEDS_INPUT if slot == 18 else Phase.FAILED), False
    due = phase is not Phase.COMPLETED
    result = BundleRenewalStatus(
        phase=phase,
        original=OriginalBundleStatus(
            status="twilio-approved",
            valid_until=NOW + timedelta(days=5 + i % 30) if due else None,
        ),
        review=ReviewStatus(submitted_at=NOW - timedelta(hours=i % 48))
        if phase is Phase.IN_REVIEW
        else None,
        completed_at=NOW - timedelta(days=i % 365),
        failed_attempts=3 if phase is Phase.FAILED else 0,
    )
    return set_condition(
        result,
        ConditionType.READY,
        ready,
        phase.value,
        "",
        observed_generation=1,
        now=NOW - timedelta(days=1),
    )


def fleet(resources: int, twilio: CallCounter | None = None) -> OperatorMetrics:
    """OperatorMetrics holding `resources` BundleRenewals' statuses, its callback receiver on."""
    metrics = OperatorMetrics(twilio, clock=NOW.timestamp)
    metrics.enable_webhook()
    for i in range(resources):
        metrics.reconciling(f"uid-{i}", f"team-{i % 25:02d}", f"renewal-{i:04d}", status(i))
    return metrics


def every_family() -> OperatorMetrics:
    """A small OperatorMetrics whose every family holds samples (for the documentation's table and
    the tests that read the whole exposition): a fleet of 20, one renewal completed after an
    approved review, one callback, a gateway that retried after a 429, and one scanned
    ComplianceAccount."""
    counter = CallCounter()
    counter.record_call("fetch_bundle")
    counter.record_failure("fetch_bundle", "TwilioTransientError")
    counter.record_attempt("fetch_bundle", "throttled", 0.02)
    counter.record_retry("fetch_bundle")
    counter.record_call("fetch_bundle")
    counter.record_attempt("fetch_bundle", "ok", 0.2)
    metrics = fleet(20, counter)
    metrics.record_reconcile("ok")
    metrics.record_callback(204, "woken", "GET", "query")
    in_review = status(16)
    approved = BundleRenewalStatus(
        phase=Phase.COMPLETED,
        review=ReviewStatus(submitted_at=NOW - timedelta(hours=3), status="twilio-approved"),
        completed_at=NOW,
    )
    metrics.status_written("uid-16", "team-16", "renewal-0016", in_review, approved)
    scanned = ComplianceAccountStatus(
        bundles_with_deadline=60,
        covered=40,
        uncovered=20,
        next_uncovered_deadline=NOW + timedelta(days=20),
        last_scan_time=NOW,
    )
    metrics.account_scanned("uid-account", "telecom", "acme", scanned)
    return metrics


def measure(resources: int) -> Size:
    metrics = fleet(resources)
    started = time.perf_counter()
    body = metrics.render()
    elapsed = time.perf_counter() - started
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    return Size(resources, len(body), len(gzip.compress(body, mtime=0)), series, elapsed)


def main(argv: list[str]) -> int:
    resources = int(argv[0]) if argv else 1000
    size = measure(resources)
    print(
        f"{size.resources} BundleRenewals: /metrics is {size.bytes} bytes"
        f" ({size.gzip_bytes} gzipped), {size.series} series,"
        f" rendered in {size.seconds * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
