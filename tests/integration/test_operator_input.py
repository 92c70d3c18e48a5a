"""Bad input (acceptance 6): the API server refuses malformed specs, bad credentials stall the
resource with a clear message and no retry storm, and no secret or attribute value ever shows up
in the operator's output or in events.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from controller.telemetry.redaction import REDACTED
from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import (
    DOCUMENT_VALUE,
    END_USER_VALUE,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
)
from tests.sim_fixtures import Sim


def _manifest(namespace: str, name: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "twilio-compliance.io/v1alpha1",
            "kind": "BundleRenewal",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda s: s.update(bundleSid="BU123"), "spec.bundleSid", id="short-bundle-sid"
        ),
        pytest.param(
            lambda s: s.update(bundleSid="XX" + "0" * 32), "spec.bundleSid", id="wrong-prefix"
        ),
        pytest.param(
            lambda s: s.pop("credentialsSecretRef"), "credentialsSecretRef", id="no-secret-ref"
        ),
    ],
)
def test_api_server_refuses_bad_specs(renewals: Renewals, mutate: Any, expected: str) -> None:
    spec = renewal_spec("BU" + "a" * 32)
    mutate(spec)
    with pytest.raises(client.ApiException) as refused:
        renewals.create("bad", spec)
    assert refused.value.status == 422
    message = json.loads(refused.value.body or "{}")["message"]
    assert expected in message, message


def test_kubectl_apply_refuses_unknown_fields(renewals: Renewals) -> None:
    spec = renewal_spec("BU" + "a" * 32)
    spec["bundleSids"] = ["BU" + "b" * 32]  # a typo of bundleSid
    result = renewals.kubectl(
        "apply", "-f", "-", input=_manifest(renewals.namespace, "typo", spec), check=False
    )
    assert result.returncode != 0
    assert "bundleSids" in result.stderr, result.stderr
    assert not renewals.exists("typo")


def _wait_stalled(renewals: Renewals, name: str) -> dict[str, Any]:
    return renewals.wait_for(
        name,
        lambda s: any(
            c.get("type") == "Stalled" and c.get("status") == "True"
            for c in s.get("conditions") or []
        ),
        "Stalled",
    )


def test_missing_secret_stalls_with_a_clear_message(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    renewals.create("no-secret", renewal_spec(case.bundle_sid))
    status = _wait_stalled(renewals, "no-secret")
    assert "Secret twilio-credentials not found" in status["message"]
    assert sum(requests_by_route(sim, case.account.sid).values()) == 0


def test_refused_credentials_stall_without_a_retry_storm(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    operator = operator_factory(BACKOFF_BASE_SECONDS="1", BACKOFF_MAX_SECONDS="60")
    operator.start()
    case = seed_due_bundle(sim)
    renewals.create_secret({"accountSid": case.account.sid, "authToken": "not-the-token-9f8e7d"})
    renewals.create("bad-token", renewal_spec(case.bundle_sid))
    status = _wait_stalled(renewals, "bad-token")
    assert status["phase"] == "Failed"
    assert "401" in status["message"] or "uthenticat" in status["message"], status["message"]
    time.sleep(4)
    refused = sum(row["count"] for row in sim.stats()["requests"] if row["status"] == 401)
    # Exponential backoff from 1 s: attempts at about 0, 1 and 3 s in the first 4 s (one
    # request each: a 401 is not retried inside an attempt), where polling would make dozens.
    assert 2 <= refused <= 4, refused
    assert renewals.status("bad-token")["failedAttempts"] == refused


def test_no_secret_or_attribute_value_in_output_or_events(
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    operator_log: Path,
) -> None:
    # DEBUG: the most talkative setting, where Kopf logs whole object bodies and patches.
    operator = operator_factory(LOG_LEVEL="DEBUG")
    operator.start()
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("scan", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("scan", "Completed", timeout=90)
    # A second resource with a refused token, so the error paths log too.
    renewals.create_secret(
        {"accountSid": case.account.sid, "authToken": "wrong-token-4c3b2a1f"}, name="wrong"
    )
    wrong = renewal_spec(case.bundle_sid, secret_name="wrong")
    renewals.create("scan-wrong", wrong)
    _wait_stalled(renewals, "scan-wrong")
    operator.stop()

    output = operator_log.read_text()
    assert "replace items" in output  # the log is the operator's
    assert REDACTED in output  # Kopf did log bodies with attributes, and they were redacted
    secrets = [case.account.auth_token, "wrong-token-4c3b2a1f", *_api_key_secrets(case)]
    values = [END_USER_VALUE, DOCUMENT_VALUE]
    events = renewals.events("scan") + renewals.events("scan-wrong")
    event_text = "\n".join(f"{e.reason} {e.message}" for e in events)
    status_text = json.dumps([renewals.status("scan"), renewals.status("scan-wrong")])
    for needle in secrets + values:
        assert needle not in output, f"operator output leaks {needle[:4]}..."
        assert needle not in event_text, f"an event leaks {needle[:4]}..."
        assert needle not in status_text, f"status leaks {needle[:4]}..."


def _api_key_secrets(case: Any) -> list[str]:
    return [key["secret"] for key in case.account.api_keys if key.get("secret")]
