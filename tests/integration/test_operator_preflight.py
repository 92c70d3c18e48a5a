"""The preflight and spec.dryRun through the operator process, the API server and the simulator
(issue 13): a typo'd attribute stalls before any copy exists; a dry run writes nothing to Twilio
but the original's evaluation, reports the changes, and renews once turned off.
"""

from __future__ import annotations

import json
from typing import Any

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import Renewals
from tests.integration.scenario import (
    COPIES_ROUTE,
    DOCUMENT_VALUE,
    END_USER_VALUE,
    assert_renewed,
    bundle_state,
    copies_of,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
)
from tests.sim_fixtures import Sim

RC = "/v2/RegulatoryCompliance"
REGULATION_READS = (
    f"GET {RC}/Regulations/{{Sid}}",
    f"GET {RC}/EndUserTypes",
    f"GET {RC}/SupportingDocumentTypes",
)
EVALUATIONS = f"POST {RC}/Bundles/{{BundleSid}}/Evaluations"


def writes(calls: dict[str, int]) -> dict[str, int]:
    return {route: n for route, n in calls.items() if not route.startswith("GET ")}


def stalled(status: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Stalled" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def test_a_typod_attribute_stalls_before_any_copy_exists(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    spec = renewal_spec(case.bundle_sid)
    spec["endUser"]["attributes"] = {"business_registration_authorty": END_USER_VALUE}
    renewals.create("typo", spec)

    status = renewals.wait_for("typo", stalled, "Stalled")
    condition = renewals.condition("typo", "Stalled")
    assert condition is not None
    assert condition["reason"] == "SpecNotAccepted"
    message = status["message"]
    assert "spec.endUser.attributes.business_registration_authorty" in message
    assert "did you mean business_registration_authority?" in message
    assert "business_registration_number" in message  # the accepted names are listed
    assert END_USER_VALUE not in json.dumps(status)
    assert "SpecNotAccepted" in [e.reason for e in renewals.events("typo")]

    calls = requests_by_route(sim, case.account.sid)
    assert f"POST {COPIES_ROUTE}" not in calls, calls  # not even attempted
    assert writes(calls) == {}
    assert copies_of(sim, case) == []
    # Read through the cache, then once more past it before refusing.
    assert calls[REGULATION_READS[0]] == 2, calls

    renewals.replace_spec("typo", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("typo", "Completed", timeout=90)
    assert_renewed(sim, case)


def test_a_dry_run_writes_nothing_but_the_original_evaluation_then_renews(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    # A second bundle of the same account under the same regulation, also dry run.
    second = sim.seed_approved_bundle(case.account.sid)["bundle_sid"]
    renewals.create_credentials(case.account)
    renewals.create("preview", {**renewal_spec(case.bundle_sid), "dryRun": True})
    renewals.create("preview-2", {**renewal_spec(second), "dryRun": True})

    renewals.kubectl(
        "wait",
        "--for=condition=Ready",
        "--timeout=60s",
        "-n",
        renewals.namespace,
        "bundlerenewals/preview",
        "bundlerenewals/preview-2",
    )
    status = renewals.status("preview")
    assert status["phase"] == "DryRun"
    report = status["dryRun"]
    assert report["changes"] == [
        {"object": "endUser", "action": "update", "fields": ["business_registration_authority"]},
        {
            "object": "commercial_registrar_excerpt",
            "type": "commercial_registrar_excerpt",
            "action": "update",
            "fields": ["issue_date"],
        },
    ]
    assert report["renewalDue"] is True
    assert report["originalCompliant"] is False
    assert report.get("missing", []) == []  # the spec supplies what the regulation now wants
    assert report["evaluationSid"].startswith("EL")
    for value in (END_USER_VALUE, DOCUMENT_VALUE):
        assert value not in json.dumps(status)

    calls = requests_by_route(sim, case.account.sid)
    print(f"\nTwilio calls for two dry runs in one account: {sum(calls.values())}")
    for route, count in sorted(calls.items()):
        print(f"  {count:3d}  {route}")
    assert writes(calls) == {EVALUATIONS: 2}, calls  # one per original, nothing else
    for route in REGULATION_READS:
        assert calls[route] == 1, (route, calls)  # read once for both resources
    assert copies_of(sim, case) == []
    original = bundle_state(sim, case.bundle_sid)
    assert original["status"] == "twilio-approved"
    assert original["valid_until"] is not None

    renewals.replace_spec("preview", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("preview", "Completed", timeout=90)
    assert_renewed(sim, case)
    assert "dryRun" not in renewals.status("preview")
