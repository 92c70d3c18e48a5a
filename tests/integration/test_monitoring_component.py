"""manifests/monitoring/ as users add it: an overlay naming manifests/ and the component, built by
a real kubectl's kustomize. The PrometheusRule lands in the operator's namespace with exactly the
plain rules file's groups, and the ServiceMonitor selects the operator's Service by its labels
and scrapes its `metrics` port with the exposed labels kept."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from devtools import alert_rules
from tests.integration.operator_fixtures import KubeCluster

MANIFESTS = alert_rules.REPO_ROOT / "manifests"


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
