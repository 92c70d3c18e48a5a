"""The alert rules, proven with Debian's promtool: both generated files are current and hold the
same groups, promtool accepts them, its unit tests (tests/monitoring/alert_rules_test.yaml) pass
and cover every alert both firing and quiet, every rule reads only metrics the operator exposes,
every runbook_url names the alert's runbook page (tests/monitoring/test_runbook_links.py builds
the site and opens them), and promtool's linter accepts the exposition."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from controller.telemetry.metrics import OperatorMetrics
from devtools import alert_rules
from devtools.metrics_size import every_family
from tests.monitoring.promtool import promtool, run_promtool

HERE = Path(__file__).resolve().parent
UNIT_TESTS = HERE / "alert_rules_test.yaml"
DOCS = alert_rules.REPO_ROOT / "docs"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_the_generated_files_are_up_to_date() -> None:
    for path, text in alert_rules.outputs().items():
        assert path.read_text() == text, f"{path} is stale: run devtools/alert_rules.py"
    assert alert_rules.main(["--check"]) == 0


def test_the_prometheus_rule_holds_exactly_the_rules_files_groups() -> None:
    plain = load(alert_rules.RULES_FILE)
    custom = load(alert_rules.PROMETHEUS_RULE_FILE)
    assert custom["apiVersion"] == "monitoring.coreos.com/v1"
    assert custom["kind"] == "PrometheusRule"
    assert custom["spec"]["groups"] == plain["groups"]
    names = [rule["alert"] for rule in plain["groups"][0]["rules"]]
    assert names == [alert.name for alert in alert_rules.ALERTS]


def test_promtool_accepts_both_rule_files(tmp_path: Path) -> None:
    output = promtool("check", "rules", str(alert_rules.RULES_FILE))
    assert f"SUCCESS: {len(alert_rules.ALERTS)} rules found" in output
    # promtool reads rules files, so the PrometheusRule's spec is checked as one.
    spec = tmp_path / "prometheusrule-spec.yaml"
    spec.write_text(yaml.safe_dump(load(alert_rules.PROMETHEUS_RULE_FILE)["spec"]))
    assert f"SUCCESS: {len(alert_rules.ALERTS)} rules found" in promtool(
        "check", "rules", str(spec)
    )


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    assert "SUCCESS" in promtool("test", "rules", str(UNIT_TESTS))


def test_promtool_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    # The expired case: a "deadline soon" rule guarded with > 0 and no alert for a passed one
    # misses an already-expired bundle. The unit tests must notice.
    rules = load(alert_rules.RULES_FILE)
    rules["groups"][0]["rules"] = [
        rule
        for rule in rules["groups"][0]["rules"]
        if rule["alert"] != "BundleRenewalDeadlinePassed"
    ]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    tests = load(UNIT_TESTS)
    tests["rule_files"] = ["rules.yaml"]
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(tests))
    code, output = run_promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert code != 0
    assert "alertname: BundleRenewalDeadlinePassed" in output


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in load(UNIT_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {alert.name for alert in alert_rules.ALERTS}
    assert firing == names, f"never seen firing: {names - firing}"
    assert quiet == names, f"never seen quiet: {names - quiet}"


def exposed_names(metrics: OperatorMetrics) -> set[str]:
    return {sample.name for family in metrics.collect() for sample in family.samples}


def test_every_rule_reads_only_metrics_the_operator_exposes() -> None:
    exposed = exposed_names(every_family())
    for alert in alert_rules.ALERTS:
        used = set(re.findall(r"\bbundle_renewal_\w+", alert.expr))
        assert used, alert.name
        assert used <= exposed, f"{alert.name} reads {used - exposed}, which nothing exposes"


def test_every_runbook_url_names_the_alerts_runbook_page() -> None:
    base = alert_rules.site_url()
    assert base == "https://bundle-renewal-operator.github.io/bundle-renewal-operator/"
    assert base == alert_rules.RUNBOOK_BASE
    for rules in (
        load(alert_rules.RULES_FILE)["groups"],
        load(alert_rules.PROMETHEUS_RULE_FILE)["spec"]["groups"],
    ):
        for rule in rules[0]["rules"]:
            name = rule["alert"]
            url = rule["annotations"]["runbook_url"]
            assert url == f"{base}runbooks/{name.lower()}/"
            # The page MkDocs publishes there, and its heading (anchor: the name in lower case).
            page = DOCS / "runbooks" / f"{name.lower()}.md"
            assert page.is_file(), f"no runbook page {page} for {url}"
            assert page.read_text().splitlines()[0] == f"# {name}"


def test_the_runbook_base_is_an_option(tmp_path: Path) -> None:
    mkdocs = tmp_path / "mkdocs.yml"
    mkdocs.write_text("site_name: x\nsite_url: 'https://docs.example.com/ops'\ntheme: material\n")
    assert alert_rules.site_url(mkdocs) == "https://docs.example.com/ops/"
    for base in ("https://docs.example.com/bro/", "https://docs.example.com/bro"):
        for text in alert_rules.outputs(alert_rules.with_slash(base)).values():
            urls = re.findall(r"runbook_url: (\S+)", text)
            assert urls == [
                f"https://docs.example.com/bro/runbooks/{alert.anchor}/"
                for alert in alert_rules.ALERTS
            ]


def test_promtool_lints_the_exposition_clean() -> None:
    exposition = every_family().render()
    assert promtool("check", "metrics", stdin=exposition).strip() == ""
