"""The operator process end to end: the seed's renewal, NeedsInput, and a rejection then a fix.

Acceptance 1, 2, 3 and 8 of issue 4: a real API server, the simulator, and `python -m controller`.
"""

from __future__ import annotations

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import Renewals
from tests.integration.scenario import (
    DOCUMENT_VALUE,
    assert_renewed,
    copies_of,
    missing_field_spec,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
)
from tests.sim_fixtures import Sim

# The seed guide's sequence for this bundle (three documents, one of them and the end-user to
# update): list bundles with a valid_until, create the copy, evaluate, list the copy's items,
# fetch its three documents and its end-user, update one document and the end-user, evaluate
# again, submit, replace items, delete the copy. Waiting for the review is polling on top.
SEED_SEQUENCE_CALLS = 14
# The preflight's reads, kept per process by account and regulation (an hour): once per process
# here, once an hour for a whole fleet under the regulation in production.
PREFLIGHT_READS = (
    "GET /v2/RegulatoryCompliance/Regulations/{Sid}",
    "GET /v2/RegulatoryCompliance/EndUserTypes",
    "GET /v2/RegulatoryCompliance/SupportingDocumentTypes",
)


def test_happy_path_completes_and_kubectl_wait_returns(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("acme-fr-mobile", renewal_spec(case.bundle_sid))

    # Ready says the bundle is valid, which it is all along (issue 12): the renewal itself is
    # done when Renewing turns False; then the resource is Ready.
    for condition in ("Renewing=false", "Ready"):
        renewals.kubectl(
            "wait",
            f"--for=condition={condition}",
            "--timeout=90s",
            "-n",
            renewals.namespace,
            "bundlerenewals/acme-fr-mobile",
        )

    status = renewals.status("acme-fr-mobile")
    assert status["phase"] == "Completed"
    assert status.get("completedAt")
    assert status.get("copySid") is None
    assert status["original"].get("validUntil") is None
    stalled = renewals.condition("acme-fr-mobile", "Stalled")
    assert stalled is not None
    assert stalled["status"] == "False"
    assert_renewed(sim, case)
    # Kopf's bookkeeping stays out of status: only our schema's fields are there.
    assert "kopf" not in status

    renewals.wait_for_event("acme-fr-mobile", "Completed")

    # `kubectl get br` shows the bundle, phase and Ready columns.
    listing = renewals.kubectl("get", "br", "-n", renewals.namespace).stdout
    assert "acme-fr-mobile" in listing
    assert case.bundle_sid in listing
    assert "Completed" in listing

    calls = requests_by_route(sim, case.account.sid)
    total = sum(calls.values())
    polls = (
        calls["GET /v2/RegulatoryCompliance/Bundles/{Sid}"]
        + calls["GET /v2/RegulatoryCompliance/Bundles/{BundleSid}/Copies"]
    )
    print(f"\nTwilio calls for one renewal through the operator: {total}")
    for route, count in sorted(calls.items()):
        print(f"  {count:3d}  {route}")
    # Writes: exactly the seed's; reads beyond the seed's sequence are review polls only.
    writes = {route: n for route, n in calls.items() if not route.startswith("GET ")}
    assert writes == {
        "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/Copies": 1,
        "POST /v2/RegulatoryCompliance/EndUsers/{Sid}": 1,
        "POST /v2/RegulatoryCompliance/SupportingDocuments/{Sid}": 1,
        "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/Evaluations": 1,
        "POST /v2/RegulatoryCompliance/Bundles/{Sid}": 1,
        "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/ReplaceItems": 1,
        "DELETE /v2/RegulatoryCompliance/Bundles/{Sid}": 1,
    }
    assert [calls[route] for route in PREFLIGHT_READS] == [1, 1, 1], calls
    assert total - polls - len(PREFLIGHT_READS) <= SEED_SEQUENCE_CALLS, calls


def test_needs_input_lists_the_missing_field_then_a_fix_completes(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("acme", missing_field_spec(case.bundle_sid))

    status = renewals.wait_for_phase("acme", "NeedsInput")
    failures = status["evaluation"]["failures"]
    assert {(f.get("objectType"), f.get("field")) for f in failures} == {
        ("business", "business_registration_authority")
    }
    assert all(f.get("errorCode") and f.get("failureReason") for f in failures)
    stalled = renewals.condition("acme", "Stalled")
    assert stalled is not None
    assert stalled["status"] == "True"
    # Nothing was submitted.
    assert all(c["status"] == "draft" for c in copies_of(sim, case))

    renewals.replace_spec("acme", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("acme", "Completed", timeout=90)
    assert_renewed(sim, case)


def test_rejected_then_fixed_then_resubmitted_completes(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    case = seed_due_bundle(sim)
    refused = "2023-13-45-Refused"
    sim.set_config(
        review={
            "rejection_rules": [
                {
                    "document_type": "commercial_registrar_excerpt",
                    "field": "issue_date",
                    "value": refused,
                    "failure_reason": "The issue date is not readable on the excerpt.",
                }
            ]
        }
    )
    renewals.create_credentials(case.account)
    spec = renewal_spec(case.bundle_sid)
    spec["supportingDocuments"][0]["attributes"]["issue_date"] = refused
    renewals.create("acme", spec)

    status = renewals.wait_for_phase("acme", "Rejected")
    reasons = status["review"]["failureReasons"]
    assert any(
        r.get("type") == "commercial_registrar_excerpt"
        and r.get("failureReason") == "The issue date is not readable on the excerpt."
        for r in reasons
    ), reasons
    rejected_copy = status["copySid"]
    renewals.wait_for_event("acme", "Rejected")  # posted in the background, after the status
    event_messages = [e.message or "" for e in renewals.events("acme")]
    assert any("not readable" in m for m in event_messages), event_messages

    renewals.replace_spec("acme", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("acme", "Completed", timeout=90)
    assert_renewed(sim, case)
    # The same copy was patched and resubmitted: one copy in all, two submissions.
    calls = requests_by_route(sim, case.account.sid)
    assert calls["POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/Copies"] == 1
    assert calls["POST /v2/RegulatoryCompliance/Bundles/{Sid}"] == 2
    assert rejected_copy.startswith("BU")
    assert DOCUMENT_VALUE not in str(renewals.status("acme"))
