"""manifests/monitoring/grafana-dashboard.json: every query is PromQL that Prometheus parses
(promtool checks each as a recording rule) and reads only metrics the operator exposes, so the
dashboard cannot silently show "No data" after a metric is renamed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from devtools.metrics_size import every_family
from tests.monitoring.promtool import promtool

DASHBOARD = (
    Path(__file__).resolve().parents[2] / "manifests" / "monitoring" / "grafana-dashboard.json"
)


def queries() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_query_parses(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": expr}
                    for i, expr in enumerate(queries())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules))
    assert f"SUCCESS: {len(queries())} rules found" in promtool("check", "rules", str(path))


def test_every_query_reads_exposed_metrics() -> None:
    exposed = {s.name for family in every_family().collect() for s in family.samples}
    used: set[str] = set()
    for expr in queries():
        names = set(re.findall(r"\bbundle_renewal_\w+", expr))
        assert names, expr
        used |= names
    assert used <= exposed, used - exposed
    # The dashboard shows the deadline, readiness, reviews, Twilio and the callbacks at least.
    for wanted in (
        "bundle_renewal_valid_until_timestamp_seconds",
        "bundle_renewal_ready_status",
        "bundle_renewal_in_review_seconds",
        "bundle_renewal_twilio_throttled_total",
        "bundle_renewal_webhook_callbacks_total",
        "bundle_renewal_review_polls_total",
    ):
        assert wanted in used, wanted
