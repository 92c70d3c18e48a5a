"""The ComplianceAccounts' series on /metrics: each account's deadlines, covered or not, and the
soonest uncovered one. Pure bookkeeping, read by OperatorMetrics.collect.

Labels: the ComplianceAccount's namespace and name only (never an account or bundle SID).
A resource's series appear after its first complete scan and go with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from controller.core.models.account import ComplianceAccountStatus

LABELS = ["namespace", "name"]


@dataclass(frozen=True)
class _Figures:
    namespace: str
    name: str
    with_deadline: int
    covered: int
    uncovered: int
    next_uncovered: float | None
    last_scan: float | None


class AccountMetrics:
    def __init__(self) -> None:
        self._accounts: dict[str, _Figures] = {}

    def scanned(self, uid: str, namespace: str, name: str, status: ComplianceAccountStatus) -> None:
        """The figures of `status` (nothing until a scan has counted the deadlines)."""
        if status.bundles_with_deadline is None:
            return
        self._accounts[uid] = _Figures(
            namespace,
            name,
            status.bundles_with_deadline,
            status.covered or 0,
            status.uncovered or 0,
            status.next_uncovered_deadline.timestamp()
            if status.next_uncovered_deadline is not None
            else None,
            status.last_scan_time.timestamp() if status.last_scan_time is not None else None,
        )

    def forget(self, uid: str) -> None:
        self._accounts.pop(uid, None)

    def collect(self) -> Iterator[Metric]:
        families = {
            "with_deadline": GaugeMetricFamily(
                "bundle_renewal_account_bundles_with_deadline",
                "Bundles of a ComplianceAccount's Twilio account with a valid_until (renewal"
                " copies aside), at its last scan.",
                labels=LABELS,
            ),
            "covered": GaugeMetricFamily(
                "bundle_renewal_account_covered_bundles",
                "Of those, the bundles a BundleRenewal with the same account's credentials names.",
                labels=LABELS,
            ),
            "uncovered": GaugeMetricFamily(
                "bundle_renewal_account_uncovered_bundles",
                "Of those, the bundles no BundleRenewal covers: nothing renews them.",
                labels=LABELS,
            ),
            "next_uncovered": GaugeMetricFamily(
                "bundle_renewal_account_next_uncovered_deadline_timestamp_seconds",
                "The soonest valid_until of an uncovered bundle (no series: none).",
                labels=LABELS,
            ),
            "last_scan": GaugeMetricFamily(
                "bundle_renewal_account_last_scan_timestamp_seconds",
                "When the ComplianceAccount's last complete scan ended.",
                labels=LABELS,
            ),
        }
        for figures in sorted(self._accounts.values(), key=lambda f: (f.namespace, f.name)):
            labels = [figures.namespace, figures.name]
            for key, family in families.items():
                value = getattr(figures, key)
                if value is not None:
                    family.add_metric(labels, value)
        yield from families.values()
