"""`bundle-renewal status` and `renew` on the real API server: a rejected copy's reasons on one
screen; renew by selector touches exactly the selected resources; the kubectl plugin works."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from kubernetes import client

from tests.integration.cli_helpers import Cli
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import renewal_spec, seed_due_bundle
from tests.sim_fixtures import Sim

REFUSED = "2023-13-45-Refused"
REASON = "The issue date is not readable on the excerpt."


def test_status_shows_a_rejected_copys_reasons_and_events(
    sim: Sim, renewals: Renewals, cli: Cli, operator_factory: OperatorFactory
) -> None:
    case = seed_due_bundle(sim, phone_numbers=3)
    sim.set_config(
        review={
            "rejection_rules": [
                {
                    "document_type": "commercial_registrar_excerpt",
                    "field": "issue_date",
                    "value": REFUSED,
                    "failure_reason": REASON,
                }
            ]
        }
    )
    renewals.create_credentials(case.account)
    spec = renewal_spec(case.bundle_sid)
    spec["supportingDocuments"][0]["attributes"]["issue_date"] = REFUSED
    operator_factory().start()
    renewals.create("acme", spec)
    recorded = renewals.wait_for_phase("acme", "Rejected")
    cli.twilio(sim, None)  # no credentials given: the resource's own Secret is read

    screen = cli("status", "acme", "-n", renewals.namespace)

    assert screen.code == 0, screen.err
    text = screen.out
    assert "Phase:       Rejected" in text
    assert "Stalled=True  Rejected" in text
    assert "Original bundle (live from Twilio):" in text
    assert "Status:        twilio-approved" in text
    assert "Phone numbers: 3" in text
    assert f"Copy in flight: {recorded['copySid']}" in text
    assert "Status:        twilio-rejected" in text
    assert f"(commercial_registrar_excerpt): {REASON}" in text
    # When the operator looks next, and the renewal's record (issue 12).
    assert "Next check:  20" in text
    assert "Renewals (newest first):" in text
    assert "InProgress  started " in text
    assert "rejected: " in text
    events = text.split("Events (last 10):", 1)[1]
    assert " Rejected " in events
    assert REFUSED not in text  # the spec's values never shown
    assert case.account.auth_token not in text + screen.err

    as_json = json.loads(cli("status", "acme", "-n", renewals.namespace, "-o", "json").out)
    assert as_json["copy"]["status"] == "twilio-rejected"
    assert as_json["review"]["failureReasons"][0]["failureReason"] == REASON
    assert as_json["original"]["phoneNumbers"] == 3

    missing = cli("status", "nope", "-n", renewals.namespace)
    assert missing.code == 5
    assert "nope" in missing.err


def _label(renewals: Renewals, name: str, team: str) -> None:
    renewals.create(name, {"bundleSid": "BU" + "0" * 32, "credentialsSecretRef": {"name": "x"}})
    renewals.custom.patch_namespaced_custom_object(
        "twilio-compliance.io", "v1alpha1", renewals.namespace, "bundlerenewals", name,
        {"metadata": {"labels": {"team": team}}},
    )  # fmt: skip


def _requests(renewals: Renewals, namespace: str | None = None) -> dict[str, str | None]:
    items = renewals.custom.list_namespaced_custom_object(
        "twilio-compliance.io", "v1alpha1", namespace or renewals.namespace, "bundlerenewals"
    )["items"]
    return {i["metadata"]["name"]: i["spec"].get("renewalRequest") for i in items}


def test_renew_by_selector_touches_exactly_the_selected_resources(
    renewals: Renewals, cli: Cli, kube_api: client.ApiClient
) -> None:
    for name, team in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")):
        _label(renewals, name, team)
    other = Renewals(renewals.kube, kube_api, f"{renewals.namespace}-other")
    client.CoreV1Api(kube_api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=other.namespace))
    )
    _label(other, "a3", "a")

    result = cli("renew", "-l", "team=a", "-n", renewals.namespace)

    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"{renewals.namespace}/a1: renewal requested",
        f"{renewals.namespace}/a2: renewal requested",
    ]
    requests = _requests(renewals)
    assert requests["a1"] is not None
    assert requests["a1"] == requests["a2"]
    assert requests["a1"].endswith("bundle-renewal renew")
    assert (requests["b1"], requests["b2"]) == (None, None)
    assert _requests(other)["a3"] is None
    assert renewals.get("b1")["spec"]["bundleSid"] == "BU" + "0" * 32  # the rest untouched

    everywhere = json.loads(cli("renew", "-l", "team=a", "-A", "-o", "json").out)
    touched = {(t["namespace"], t["name"]) for t in everywhere["touched"]}
    assert (other.namespace, "a3") in touched
    assert (renewals.namespace, "b1") not in touched
    assert _requests(renewals)["a1"] != requests["a1"]  # a new value: a new request

    assert cli("renew", "-n", renewals.namespace).code == 2  # no NAME, selector or --all
    assert cli("renew", "ghost", "-n", renewals.namespace).code == 5
    assert _requests(renewals)["b1"] is None


def test_kubectl_finds_the_cli_as_a_plugin(renewals: Renewals, tmp_path: Path) -> None:
    """`kubectl bundlerenewal ...` runs an executable named kubectl-bundlerenewal on PATH: here
    one written as pip writes the console script, on this checkout's package."""
    _label(renewals, "plugged", "p")
    shim = tmp_path / "kubectl-bundlerenewal"
    repo = Path(__file__).resolve().parents[2]
    shim.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(repo)!r})\n"
        "from controller.cli.app import main\nsys.exit(main())\n"
    )
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    kubectl = renewals.kube.kubectl_argv
    env = {
        **os.environ,
        "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
        "KUBECONFIG": str(renewals.kube.kubeconfig_path),
    }
    done = subprocess.run(
        [*kubectl, "bundlerenewal", "renew", "plugged", "-n", renewals.namespace],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{renewals.namespace}/plugged: renewal requested"
    assert _requests(renewals)["plugged"] is not None
    usage = subprocess.run(
        [*kubectl, "bundlerenewal", "--help"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert usage.stdout.startswith("usage: kubectl bundlerenewal")
