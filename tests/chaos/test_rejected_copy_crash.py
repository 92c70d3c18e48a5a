"""A crash window the chaos run found, made deterministic: the operator is SIGKILLed after it
patched a rejected copy at Twilio (the spec was fixed) and before its status recorded the patch.

In a 400-renewal chaos run one renewal stayed Rejected for good: its copy already carried the
fixed value, so after the restart nothing "changes the copy" and, with no ``review.patchedAt``
recorded, the operator reads it as a rejected copy that no spec change alters, which it never
resubmits. Here the simulator carries the document update out at once and answers 1.5 s later
(``latency.when: after``), and the test kills the operator as soon as the update is done at the
simulator: the kill always lands in that window.

Expected: the restarted operator resubmits the patched copy, and the renewal completes once the
reviewer approves it. It does since editing a rejected copy is a checkpoint on status.review
(``patchedAt`` is persisted before the first write to it); it failed before.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kubernetes import client

from devtools.controlplane.testing import KubeCluster
from devtools.operator_runner import OperatorProcess
from tests.chaos.reviewer import FAILURE_REASON, copy_excerpts
from tests.integration.operator_fixtures import Renewals, operator_env
from tests.integration.scenario import (
    account_state,
    bundle_state,
    copies_created,
    copies_of,
    renewal_spec,
    seed_due_bundle,
)
from tests.sim_fixtures import Sim

pytestmark = pytest.mark.integration  # a control plane of its own (conftest.py)

NAMESPACE = "crash-window"
UPDATE_DOCUMENT = "POST /v2/RegulatoryCompliance/SupportingDocuments/{Sid}"
FIXED_DATE = "2025-01-31-Fixed-3307"


def _document_updates(sim: Sim, document_sid: str) -> int:
    return sum(
        w["count"]
        for w in sim.admin.writes(document_sid)
        if f"{w['method']} {w['route']}" == UPDATE_DOCUMENT and w["status"] == 200
    )


def test_killed_after_patching_a_rejected_copy_then_restarted_resubmits_it(
    chaos_kube: KubeCluster, chaos_sim: Sim, tmp_path: Path
) -> None:
    sim = chaos_sim
    case = seed_due_bundle(sim)
    sim.set_config(review={"manual_accounts": [case.account.sid]})
    with chaos_kube.api_client() as api:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE))
        )
        renewals = Renewals(chaos_kube, api, NAMESPACE)
        renewals.create_credentials(case.account)
        operator = OperatorProcess(
            operator_env(chaos_kube, sim, NAMESPACE), tmp_path / "operator.log"
        )
        operator.start()
        try:
            spec = renewal_spec(case.bundle_sid)
            renewals.create("crashy", spec)
            copy_sid = renewals.wait_for("crashy", lambda s: bool(s.get("copySid")), "copied")[
                "copySid"
            ]
            sim.wait_for_status(copy_sid, "in-review", timeout=60)
            (excerpt,) = copy_excerpts(sim.admin, copy_sid)
            refused = {excerpt: {"failure_reason": FAILURE_REASON}}
            sim.review(copy_sid, "reject", failure_reason=FAILURE_REASON, documents=refused)
            renewals.wait_for_phase("crashy", "Rejected")
            assert _document_updates(sim, excerpt) == 1

            sim.set_config(latency={"distribution": "constant", "mean_ms": 1500, "when": "after"})
            spec["supportingDocuments"][0]["attributes"]["issue_date"] = FIXED_DATE
            renewals.patch_spec("crashy", spec)
            deadline = time.monotonic() + 60
            while _document_updates(sim, excerpt) < 2:  # the fix is done at Twilio
                assert time.monotonic() < deadline, "the rejected copy was never patched"
                time.sleep(0.005)
            operator.kill()  # the answer is 1.5 s away: the operator never learns of it
            sim.set_config(latency={"distribution": "none", "when": "before"})

            operator.start()
            # Resubmitted (a restarted operator takes a few seconds; the defect: never).
            sim.wait_for_status(copy_sid, "in-review", timeout=20)
            sim.review(copy_sid, "approve")
            renewals.wait_for_phase("crashy", "Completed", timeout=60)
        finally:
            operator.stop()
    original = bundle_state(sim, case.bundle_sid)
    assert (original["status"], original["valid_until"]) == ("twilio-approved", None)
    assert original["phone_number_sids"] == case.phone_numbers
    account = account_state(sim, case.account.sid)
    items = set(original["item_object_sids"])
    dates = [
        d["attributes"].get("issue_date")
        for d in account["supporting_documents"]
        if d["sid"] in items and d["type"] == "commercial_registrar_excerpt"
    ]
    assert dates == [FIXED_DATE]
    assert copies_of(sim, case) == []
    assert copies_created(sim, case.account.sid) == 1
