"""The install manifests and the Dockerfile agree with the code they deploy.

Read as files (no cluster): every environment variable they set is an operator setting and
parses; the Deployment carries the hardened securityContext and probes the liveness endpoint the
settings configure; the CRDs come from crds/ (referenced, not copied); two replicas peer through
the ClusterKopfPeering the RBAC covers; the RBAC rules are exactly the documented least-privilege
set. tests/integration/test_rbac.py applies them for real.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from controller.core.settings import OperatorSettings
from controller.operator.peering import Peering

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    return data


def manifest_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for entry in kustomization()["resources"]:
        path = MANIFESTS / entry
        if path.is_dir():
            sub = yaml.safe_load((path / "kustomization.yaml").read_text())
            for name in sub["resources"]:
                objects.extend(load_all(path / name))
        else:
            objects.extend(load_all(path))
    return objects


def one(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in manifest_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> OperatorSettings:
    known = {name.upper() for name in OperatorSettings.model_fields}
    unknown = set(env) - known
    assert not unknown, f"not operator settings: {sorted(unknown)}"
    for key in known:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return OperatorSettings()


def dockerfile_env() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final_stage = text.split("\nFROM ")[-1]
    env: dict[str, str] = {}
    for line in final_stage.splitlines():
        if line.startswith("ENV "):
            env.update(re.findall(r"(\w+)=(\S+)", line))
    return env


def operator_container() -> dict[str, Any]:
    deployment = one("Deployment", "bundle-renewal-operator")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["operator"]
    container: dict[str, Any] = containers[0]
    return container


def test_the_crd_is_referenced_from_crds_not_copied() -> None:
    assert "../crds" in kustomization()["resources"]
    assert not list(MANIFESTS.glob("*bundlerenewals*"))
    crd = one("CustomResourceDefinition", "bundlerenewals.twilio-compliance.io")
    assert crd == load_all(ROOT / "crds" / "bundlerenewals.yaml")[0]


def test_settings_configmap_and_deployment_env_are_valid_operator_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generators = kustomization()["configMapGenerator"]
    assert [g["name"] for g in generators] == ["bundle-renewal-operator-settings"]
    env = {}
    for name in generators[0]["envs"]:
        env.update(env_file(MANIFESTS / name))
    container = operator_container()
    assert container["envFrom"] == [{"configMapRef": {"name": "bundle-renewal-operator-settings"}}]
    from_pod = {item["name"]: item["valueFrom"] for item in container["env"] if "valueFrom" in item}
    assert from_pod == {"POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}}}
    env.update({item["name"]: item["value"] for item in container["env"] if "value" in item})
    env["POD_NAME"] = "bundle-renewal-operator-5d9c7b8f6-x2x7q"
    settings = settings_from(env, monkeypatch)
    assert settings.clusterwide  # the ClusterRole has no namespace list/watch (rbac.yaml)
    assert settings.liveness_endpoint is not None
    assert settings.peering_enabled


def test_probes_hit_the_liveness_endpoint_the_settings_configure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    container = operator_container()
    env = {item["name"]: item["value"] for item in container["env"] if "value" in item}
    endpoint = urlsplit(env["LIVENESS_ENDPOINT"])
    assert endpoint.hostname == "0.0.0.0"  # reachable by the kubelet, not loopback only
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == endpoint.path
        assert ports[get["port"]] == endpoint.port
    service = one("Service", "bundle-renewal-operator")
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    labels = one("Deployment", "bundle-renewal-operator")["spec"]["template"]["metadata"]
    assert service["spec"]["selector"].items() <= labels["labels"].items()
    # The image's defaults are valid settings too, with the same endpoint.
    image_env = dockerfile_env()
    settings = settings_from(
        {k: v for k, v in image_env.items() if k.lower() in OperatorSettings.model_fields},
        monkeypatch,
    )
    assert settings.liveness_endpoint == env["LIVENESS_ENDPOINT"]


def test_the_webhook_port_is_the_settings_port_and_the_service_exposes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env: dict[str, str] = {}
    for name in kustomization()["configMapGenerator"][0]["envs"]:
        env.update(env_file(MANIFESTS / name))
    settings = settings_from(env, monkeypatch)
    assert not settings.webhook_enabled  # off until a public URL is configured
    ports = {p["name"]: p["containerPort"] for p in operator_container()["ports"]}
    assert ports["webhook"] == settings.webhook_port
    service = one("Service", "bundle-renewal-operator")
    assert {"name": "webhook", "port": 8081, "targetPort": "webhook", "protocol": "TCP"} in service[
        "spec"
    ]["ports"]


def test_the_metrics_port_is_the_settings_port_and_the_service_and_annotations_name_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env: dict[str, str] = {}
    for name in kustomization()["configMapGenerator"][0]["envs"]:
        env.update(env_file(MANIFESTS / name))
    settings = settings_from(env, monkeypatch)
    assert settings.metrics_enabled
    assert settings.metrics_host == "0.0.0.0"  # reachable by Prometheus, not loopback only
    ports = {p["name"]: p["containerPort"] for p in operator_container()["ports"]}
    assert ports["metrics"] == settings.metrics_port
    service = one("Service", "bundle-renewal-operator")
    assert {
        "name": "metrics",
        "port": settings.metrics_port,
        "targetPort": "metrics",
        "protocol": "TCP",
    } in service["spec"]["ports"]
    template = one("Deployment", "bundle-renewal-operator")["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(settings.metrics_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    # The image's default (no METRICS_PORT in the Dockerfile) is the same port.
    assert "METRICS_PORT" not in dockerfile_env()
    monkeypatch.delenv("METRICS_PORT")
    assert OperatorSettings().metrics_port == settings.metrics_port


def test_dockerfile_runs_the_operator_as_a_numeric_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final_stage = text.split("\nFROM ")[-1]
    assert 'ENTRYPOINT ["python", "-m", "controller"]' in final_stage
    assert "CMD" not in final_stage  # the operator takes no arguments; settings are env vars
    user = re.findall(r"^USER (\S+)$", final_stage, flags=re.MULTILINE)
    assert user == ["10001:10001"]
    assert "[dev]" not in text
    assert ".[dev]" not in text
    pod = one("Deployment", "bundle-renewal-operator")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001


def test_dockerfile_exposes_the_deployments_container_ports() -> None:
    final_stage = (ROOT / "Dockerfile").read_text().split("\nFROM ")[-1]
    exposed = {
        int(port)
        for line in re.findall(r"^EXPOSE (.+)$", final_stage, re.M)
        for port in line.split()
    }
    ports = {p["containerPort"] for p in operator_container()["ports"]}
    assert exposed == ports == {8080, 8081, 8082}


def test_deployment_is_hardened() -> None:
    deployment = one("Deployment", "bundle-renewal-operator")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "bundle-renewal-operator"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = operator_container()["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    resources = operator_container()["resources"]
    assert resources["requests"]["memory"]
    assert resources["limits"]["memory"]
    # Two replicas, one working (peering); an upgrade never runs old and new code side by side.
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    spread = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert [term["podAffinityTerm"]["topologyKey"] for term in spread] == ["kubernetes.io/hostname"]
    selector = spread[0]["podAffinityTerm"]["labelSelector"]["matchLabels"]
    assert selector == deployment["spec"]["selector"]["matchLabels"]


def test_the_probes_leave_room_for_the_start_up_wait_and_restart_an_idle_operator() -> None:
    container = operator_container()
    startup, liveness = container["startupProbe"], container["livenessProbe"]
    # The start-up waits for the API server to serve BundleRenewals before /healthz answers.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300
    assert "initialDelaySeconds" not in liveness  # the startup probe covers the start
    # A failing probe (Kopf not watching BundleRenewals) restarts the pod within two minutes.
    assert liveness["periodSeconds"] * liveness["failureThreshold"] <= 120


def test_two_replicas_peer_through_the_clusterkopfpeering_the_rbac_lets_them_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env: dict[str, str] = {}
    for name in kustomization()["configMapGenerator"][0]["envs"]:
        env.update(env_file(MANIFESTS / name))
    settings = settings_from(env, monkeypatch)
    peering = Peering.from_settings(settings)
    assert peering.run_arguments()["peering_name"] == "bundle-renewal-operator"
    assert peering.plural == "clusterkopfpeerings"
    # The peering CRDs come from crds/, as Kopf's selectors name them (kopf.dev/v1).
    for plural, kind, scope in [
        ("clusterkopfpeerings", "ClusterKopfPeering", "Cluster"),
        ("kopfpeerings", "KopfPeering", "Namespaced"),
    ]:
        crd = one("CustomResourceDefinition", f"{plural}.kopf.dev")
        assert crd in load_all(ROOT / "crds" / "kopfpeerings.yaml")
        assert (crd["spec"]["names"]["kind"], crd["spec"]["scope"]) == (kind, scope)
        assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [
            ("v1", True, True)
        ]
    # Kopf keeps the peering object alive; the operator creates it when missing.
    assert {
        verb for group, resource, verb in rules("bundle-renewal-operator") if group == "kopf.dev"
    } == {"list", "watch", "patch", "create"}
    assert not [o for o in manifest_objects() if o["kind"] == "ClusterKopfPeering"]


def rules(name: str) -> set[tuple[str, str, str]]:
    role = one("ClusterRole", name)
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_rbac_is_exactly_what_the_operator_uses() -> None:
    assert rules("bundle-renewal-operator") == {
        ("twilio-compliance.io", "bundlerenewals", "list"),
        ("twilio-compliance.io", "bundlerenewals", "watch"),
        ("twilio-compliance.io", "bundlerenewals", "patch"),
        ("twilio-compliance.io", "bundlerenewals", "create"),
        ("twilio-compliance.io", "bundlerenewals/status", "patch"),
        ("twilio-compliance.io", "complianceaccounts", "list"),
        ("twilio-compliance.io", "complianceaccounts", "watch"),
        ("twilio-compliance.io", "complianceaccounts", "patch"),
        ("twilio-compliance.io", "complianceaccounts/status", "patch"),
        ("", "events", "create"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("kopf.dev", "clusterkopfpeerings", "list"),
        ("kopf.dev", "clusterkopfpeerings", "watch"),
        ("kopf.dev", "clusterkopfpeerings", "patch"),
        ("kopf.dev", "clusterkopfpeerings", "create"),
    }
    # Credentials and document files: `get` only, granted per namespace by a RoleBinding.
    assert rules("bundle-renewal-operator-credentials-reader") == {
        ("", "secrets", "get"),
        ("", "configmaps", "get"),
    }
    bindings = [o for o in manifest_objects() if o["kind"] == "ClusterRoleBinding"]
    assert [b["roleRef"]["name"] for b in bindings] == ["bundle-renewal-operator"]
    assert bindings[0]["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": "bundle-renewal-operator",
            "namespace": "bundle-renewal-system",
        }
    ]
