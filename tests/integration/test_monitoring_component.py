"""manifests/monitoring/ as users add it: an overlay naming manifests/ and the component, built by
a real kubectl's kustomize. The PrometheusRule lands in the operator's namespace with exactly the
plain rules file's groups, and the ServiceMonitor selects the operator's Service by its labels
and scrapes its `metrics` port with the exposed labels kept. The overlay that
docs/operations/alerts.md gives for another runbook base, built as written, points every
runbook_url there and leaves its ConfigMap out."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Any

import yaml

from devtools import alert_rules
from tests.integration.operator_fixtures import KubeCluster

MANIFESTS = alert_rules.REPO_ROOT / "manifests"
ALERTS_PAGE = alert_rules.REPO_ROOT / "docs" / "operations" / "alerts.md"


def test_an_overlay_with_the_component_builds_the_rule_and_the_monitor(
    kube: KubeCluster, tmp_path: Path
) -> None:
    overlay = {
        "resources": [os.path.relpath(MANIFESTS, tmp_path)],
        "components": [os.path.relpath(MANIFESTS / "monitoring", tmp_path)],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    built = [d for d in yaml.safe_load_all(kube.kubectl("kustomize", str(tmp_path)).stdout) if d]

    def one(kind: str) -> dict[str, Any]:
        found = [d for d in built if d["kind"] == kind]
        assert len(found) == 1, (kind, [d["kind"] for d in built])
        return found[0]

    rule, monitor, service = one("PrometheusRule"), one("ServiceMonitor"), one("Service")
    plain = yaml.safe_load(alert_rules.RULES_FILE.read_text())
    assert rule["spec"]["groups"] == plain["groups"]
    namespace = service["metadata"]["namespace"]
    assert rule["metadata"]["namespace"] == monitor["metadata"]["namespace"] == namespace
    for added in (rule, monitor):
        assert added["metadata"]["labels"] == {
            key: value
            for key, value in service["metadata"]["labels"].items()
            if key.endswith(("/name", "/part-of"))
        }
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["port"] == "metrics"
    assert endpoint["honorLabels"] is True
    # Without the component, the manifests hold neither.
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": overlay["resources"]})
    )
    plain_build = yaml.safe_load_all(kube.kubectl("kustomize", str(tmp_path)).stdout)
    assert not {"PrometheusRule", "ServiceMonitor"} & {d["kind"] for d in plain_build if d}


def documented_overlay() -> str:
    """The kustomization docs/operations/alerts.md shows for another runbook base, as written."""
    blocks = re.findall(
        r"^( *)```yaml\n(.*?)^\1```", ALERTS_PAGE.read_text(), re.MULTILINE | re.DOTALL
    )
    (overlay,) = [textwrap.dedent(body) for _, body in blocks if "replacements:" in body]
    return overlay


def test_the_documented_overlay_sets_another_runbook_base(
    kube: KubeCluster, tmp_path: Path
) -> None:
    overlay = documented_overlay()
    found = re.search(r"baseURL=(\S+?)\]", overlay)
    assert found is not None, overlay
    base = found.group(1)
    assert base.endswith("/")
    assert base != alert_rules.site_url()
    (tmp_path / "kustomization.yaml").write_text(
        overlay.replace("<path-to-repo>", os.path.relpath(alert_rules.REPO_ROOT, tmp_path))
    )
    built = [d for d in yaml.safe_load_all(kube.kubectl("kustomize", str(tmp_path)).stdout) if d]
    (rule,) = [d for d in built if d["kind"] == "PrometheusRule"]
    urls = {
        entry["alert"]: entry["annotations"]["runbook_url"]
        for group in rule["spec"]["groups"]
        for entry in group["rules"]
    }
    assert urls == {a.name: f"{base}runbooks/{a.anchor}/" for a in alert_rules.ALERTS}
    # Nothing else changed, and the ConfigMap holding the base is not among the objects.
    expected = yaml.safe_load(alert_rules.outputs(base)[alert_rules.PROMETHEUS_RULE_FILE])
    assert rule["spec"] == expected["spec"]
    assert not [
        d for d in built if d["kind"] == "ConfigMap" and "runbooks" in d["metadata"]["name"]
    ]
