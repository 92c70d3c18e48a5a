"""Attribute values from Secrets, and no value anywhere but the spec, through the real operator.

Issue 12: a renewal whose every personal value comes from Secrets (attributesFrom for the
end-user, valueFrom for the document) completes; a missing Secret, then a missing key, stall it
with a message naming them and no Twilio call at all, and it resumes by itself once the key is
added (the operator does not watch Secrets: the failure backoff re-reads them). With literal
values, Kopf's bookkeeping keeps none on the object: the whole object but its spec, the events,
the status and the operator's DEBUG output hold no value, and a change of a value alone still
wakes the resource.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import (
    DOCUMENT_KEY,
    DOCUMENT_SECRET,
    DOCUMENT_VALUE,
    END_USER_SECRET,
    END_USER_VALUE,
    account_state,
    assert_renewed,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
    value_secrets,
    values_spec,
)
from tests.measurements import report
from tests.sim_fixtures import Sim

DIFFBASE = "bundle-renewal.twilio-compliance.io/last-handled-configuration"


def stalled_reason(status: dict[str, Any]) -> str | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Stalled" and condition.get("status") == "True":
            return str(condition.get("reason"))
    return None


def assert_nowhere(values: list[str], renewals: Renewals, name: str, log: Path, spec: bool) -> None:
    """None of `values` in the object (without its spec unless `spec`; metadata, annotations and
    managedFields included), its events, its status or the operator's output."""
    obj = renewals.get(name)
    if not spec:
        obj.pop("spec")
    places = {
        "the object": json.dumps(obj),
        "an event": "\n".join(f"{e.reason} {e.message}" for e in renewals.events(name)),
        "the operator log": log.read_text(),
    }
    for value in values:
        for place, text in places.items():
            assert value not in text, f"{place} holds the value {value[:4]}..."


def test_every_value_from_secrets_renews_and_appears_nowhere(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, operator_log: Path
) -> None:
    operator_factory(LOG_LEVEL="DEBUG").start()  # Kopf logs whole bodies and patches
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    for name, data in value_secrets().items():
        renewals.create_secret(data, name)
    renewals.create("from-secrets", values_spec(case.bundle_sid))

    status = renewals.wait_for_phase("from-secrets", "Completed", timeout=90)
    assert_renewed(sim, case)  # the Secrets' values are the original's now
    assert status["applied"]["endUserFields"] == ["business_registration_authority"]
    assert "Twilio: replace items" in operator_log.read_text()
    assert_nowhere([END_USER_VALUE, DOCUMENT_VALUE], renewals, "from-secrets", operator_log, True)


def test_a_missing_secret_or_key_stalls_untouched_and_resumes_when_added(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    operator_factory().start()
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create_secret({"business_registration_authority": END_USER_VALUE}, END_USER_SECRET)
    renewals.create("waiting", values_spec(case.bundle_sid))

    missing = renewals.wait_for(
        "waiting", lambda s: stalled_reason(s) == "ValueSecretMissing", "stalled on its Secret"
    )
    assert missing["phase"] == "Failed"
    where = "spec.supportingDocuments[0].attributes.issue_date"
    assert f"{where}: Secret {DOCUMENT_SECRET} not found in namespace" in missing["message"]

    renewals.create_secret({"other-key": "unrelated"}, DOCUMENT_SECRET)
    no_key = renewals.wait_for(
        "waiting",
        lambda s: f"Secret {DOCUMENT_SECRET} has no key {DOCUMENT_KEY}" in (s.get("message") or ""),
        "stalled on the missing key",
    )
    assert stalled_reason(no_key) == "ValueSecretMissing"
    assert no_key["failedAttempts"] >= 2
    assert sum(requests_by_route(sim, case.account.sid).values()) == 0  # not even a read
    reasons = [e.reason for e in renewals.events("waiting")]
    assert reasons.count("ValueSecretMissing") == 1, reasons  # once, not once per attempt

    added = time.monotonic()
    renewals.core.patch_namespaced_secret(
        DOCUMENT_SECRET,
        renewals.namespace,
        {"data": {DOCUMENT_KEY: base64.b64encode(DOCUMENT_VALUE.encode()).decode()}},
    )
    renewals.wait_for_phase("waiting", "Completed", timeout=90)
    report("value Secret key added -> renewal Completed", f"{time.monotonic() - added:.1f} s")
    assert_renewed(sim, case)


def test_literal_values_stay_in_the_spec_and_a_value_change_still_wakes(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, operator_log: Path
) -> None:
    operator_factory(LOG_LEVEL="DEBUG").start()
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    manifest = {
        "apiVersion": "twilio-compliance.io/v1alpha1",
        "kind": "BundleRenewal",
        "metadata": {"name": "literal", "namespace": renewals.namespace},
        "spec": renewal_spec(case.bundle_sid),
    }
    # Server-side apply: client-side `kubectl apply` keeps its own copy of the spec in the
    # kubectl.kubernetes.io/last-applied-configuration annotation (docs/operations/security.md).
    renewals.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(manifest))
    renewals.wait_for_phase("literal", "Completed", timeout=90)
    assert_renewed(sim, case)
    # Kopf keeps no copy of the spec in an annotation (controller/operator/diffbase.py).
    assert DIFFBASE not in (renewals.get("literal")["metadata"].get("annotations") or {})

    # A new value alone: its new generation must still wake the resource, which renews again
    # with it (the light check would come only after 30 s).
    new_value = "Registre-Changed-Lyon-0417"
    changed = time.monotonic()
    renewals.patch_spec(
        "literal", {"endUser": {"attributes": {"business_registration_authority": new_value}}}
    )
    renewals.wait_for(
        "literal",
        lambda s: s.get("appliedGeneration") == 2 and s.get("phase") == "Completed",
        "renewed with the new value",
        timeout=25,
    )
    report("value-only spec change -> renewal Completed", f"{time.monotonic() - changed:.1f} s")
    items = set(sim.admin.bundle(case.bundle_sid)["item_object_sids"])
    end_users = [u for u in account_state(sim, case.account.sid)["end_users"] if u["sid"] in items]
    assert [u["attributes"]["business_registration_authority"] for u in end_users] == [new_value]
    assert_nowhere(
        [END_USER_VALUE, DOCUMENT_VALUE, new_value], renewals, "literal", operator_log, False
    )


def test_the_api_server_takes_references_and_the_operator_refuses_malformed_ones(
    renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    operator_factory().start()
    spec = values_spec("BU" + "a" * 32)
    spec["endUser"]["attributes"] = {"first_name": {"valueFrom": {"secretKeyRef": {"name": "x"}}}}
    renewals.create("malformed", spec)
    status = renewals.wait_for("malformed", lambda s: bool(stalled_reason(s)), "Stalled")
    assert (
        "spec.endUser.attributes: Value error, first_name: valueFrom.secretKeyRef.key"
        in (status["message"])
    )
    with pytest.raises(client.ApiException) as refused:
        renewals.create("bad-from", {**spec, "endUser": {"attributesFrom": [{"secretRef": {}}]}})
    assert refused.value.status == 422
    assert "secretRef.name" in (refused.value.body or "")
