"""GET /metrics of a running operator (real API server, simulator, `python -m controller`).

After one completed renewal the Twilio request counters equal what the simulator received, per
operation; the reconcile, completion, phase and per-resource metrics reflect the completion and
go with the resource when it is deleted; and the body holds
none of the spec's attribute values, the credentials or any SID (the resource's namespace and
name are labels of its own series).
"""

from __future__ import annotations

import time
from datetime import datetime

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import Renewals
from tests.integration.scenario import (
    DOCUMENT_VALUE,
    END_USER_VALUE,
    renewal_spec,
    requests_by_route,
    seed_due_bundle,
)
from tests.metrics_scrape import scrape, total, value
from tests.sim_fixtures import Sim

# The gateway operation behind each write route of the renewal (no webhook: no StatusCallback).
WRITE_OPERATIONS = {
    "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/Copies": "create_bundle_copy",
    "POST /v2/RegulatoryCompliance/EndUsers/{Sid}": "update_end_user",
    "POST /v2/RegulatoryCompliance/SupportingDocuments/{Sid}": "update_supporting_document",
    "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/Evaluations": "create_evaluation",
    "POST /v2/RegulatoryCompliance/Bundles/{Sid}": "submit_bundle",
    "POST /v2/RegulatoryCompliance/Bundles/{BundleSid}/ReplaceItems": "replace_items",
    "DELETE /v2/RegulatoryCompliance/Bundles/{Sid}": "delete_bundle",
}


def test_metrics_after_a_completed_renewal_count_it_and_leak_nothing(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    before = scrape(operator.metrics())
    assert total(before["bundle_renewal_twilio_requests_total"]) == 0
    assert total(before["bundle_renewal_renewals_completed_total"]) == 0

    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    renewals.create("acme-fr-mobile", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("acme-fr-mobile", "Completed", timeout=90)
    # The operator counts a status once the API server has accepted it, so a moment later.
    deadline = time.monotonic() + 10
    while True:
        body = operator.metrics()
        families = scrape(body)
        if total(families["bundle_renewal_renewals_completed_total"]) or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(0.1)

    requests = families["bundle_renewal_twilio_requests_total"]
    sent = requests_by_route(sim, case.account.sid)
    for route, operation in WRITE_OPERATIONS.items():
        assert value(requests, operation=operation) == sent[route] == 1, (route, body)
    assert value(requests, operation="fetch_bundle") > 0
    # Every request the simulator saw from this account, and no more (no list spans two pages).
    assert total(requests) == sum(sent.values()), (sent, body)
    assert total(families["bundle_renewal_twilio_request_failures_total"]) == 0

    reconciles = families["bundle_renewal_reconciles_total"]
    assert value(reconciles, outcome="ok") > 0
    assert total(reconciles) == value(reconciles, outcome="ok")
    completed = families["bundle_renewal_renewals_completed_total"]
    assert value(completed, namespace=renewals.namespace) == 1
    assert total(completed) == 1
    phases = families["bundle_renewal_resources"]
    assert value(phases, phase="Completed") == 1
    assert total(phases) == 1

    # Per resource, by namespace and name: Ready, Completed, the deadline gone with the renewal.
    resource = {"namespace": renewals.namespace, "name": "acme-fr-mobile"}
    assert value(families["bundle_renewal_ready_status"], **resource, condition="True") == 1
    assert value(families["bundle_renewal_phase"], **resource, phase="Completed") == 1
    assert families["bundle_renewal_valid_until_timestamp_seconds"].samples == []
    status = renewals.status("acme-fr-mobile")
    completed_at = value(families["bundle_renewal_last_completed_timestamp_seconds"], **resource)
    assert completed_at == datetime.fromisoformat(status["completedAt"]).timestamp()
    renewal_count = families["bundle_renewal_renewal_duration_seconds"]
    assert value(renewal_count, le="+Inf") == 1
    reviews = families["bundle_renewal_review_duration_seconds"]
    assert value(reviews, outcome="approved", le="+Inf") == 1
    assert value(families["bundle_renewal_review_polls_total"]) >= 1
    latency = families["bundle_renewal_twilio_request_duration_seconds"]
    attempts = sum(s.value for s in latency.samples if s.name.endswith("_count"))
    assert attempts == total(requests)  # no retry, no list of two pages: one attempt a request
    assert total(families["bundle_renewal_twilio_throttled_total"]) == 0

    for secret in (
        END_USER_VALUE,
        DOCUMENT_VALUE,
        case.account.auth_token,
        case.account.sid,
        case.bundle_sid,
        case.end_user_sid,
        *case.documents_by_type.values(),
        sim.base_url,
    ):
        assert secret not in body, f"{secret!r} appears in /metrics"

    # Deleted, the resource takes its series with it (the operator-wide ones stay).
    renewals.delete("acme-fr-mobile")
    renewals.wait_gone("acme-fr-mobile")
    deadline = time.monotonic() + 10
    while True:
        families = scrape(operator.metrics())
        named = [
            (family.name, sample.labels)
            for family in families.values()
            for sample in family.samples
            if sample.labels.get("name") == "acme-fr-mobile"
        ]
        if not named or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert named == []
    assert total(families["bundle_renewal_resources"]) == 0
    assert value(families["bundle_renewal_renewals_completed_total"], namespace=renewals.namespace)
