"""`bundle-renewal scan` and `scaffold` on the real API server and the simulator.

An account with a few hundred bundles (several pages of Twilio's list), some with deadlines,
some covered by BundleRenewals; then scaffold's YAML, its placeholders filled in, applied as is
and renewed by the operator.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from controller.cli.scaffold import placeholder
from tests.integration.cli_helpers import Cli
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import (
    DOCUMENT_VALUE,
    END_USER_VALUE,
    account_state,
    assert_renewed,
    seed_due_bundle,
)
from tests.sim_fixtures import Sim
from twilio_sim import sids

AU_LOCAL_INDIVIDUAL = sids.stable_sid(sids.REGULATION, "AU/local/individual")
DE_LOCAL_BUSINESS = sids.stable_sid(sids.REGULATION, "DE/local/business")
UNDATED, DUE_BY_CHANGE, COVERED = 240, 24, 10


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bundles_list_requests(sim: Sim, account_sid: str) -> int:
    return sum(
        row["count"]
        for row in sim.stats()["requests"]
        if row["account_sid"] == account_sid
        and row["method"] == "GET"
        and row["route"] == "/v2/RegulatoryCompliance/Bundles"
    )


def test_scan_of_a_large_account_orders_counts_and_flags_uncovered_deadlines(
    sim: Sim, renewals: Renewals, cli: Cli
) -> None:
    account = sim.new_account()
    now = datetime.now(UTC)
    numbers: dict[str, int] = {}
    for i in range(UNDATED):
        seeded = sim.seed_approved_bundle(
            account.sid, regulation_sid=AU_LOCAL_INDIVIDUAL, phone_numbers=i % 3
        )
        numbers[seeded["bundle_sid"]] = i % 3
    due = []
    for i in range(DUE_BY_CHANGE):
        seeded = sim.seed_approved_bundle(account.sid, phone_numbers=1 + i % 2)
        numbers[seeded["bundle_sid"]] = 1 + i % 2
        due.append(seeded["bundle_sid"])
    changed = sim.change_regulation()  # valid_until in 30 days on the France bundles
    assert sorted(changed["affected_bundle_sids"]) == sorted(due)
    # Deadlines set by hand (still compliant): one soon, one far beyond the window.
    soon = sim.seed_approved_bundle(
        account.sid, regulation_sid=DE_LOCAL_BUSINESS, valid_until=_iso(now + timedelta(days=5))
    )["bundle_sid"]
    far = sim.seed_approved_bundle(
        account.sid, regulation_sid=DE_LOCAL_BUSINESS, valid_until=_iso(now + timedelta(days=90))
    )["bundle_sid"]
    numbers[soon] = numbers[far] = 1
    for i, sid in enumerate(due[:COVERED]):
        renewals.create(f"covered-{i}", {"bundleSid": sid, "credentialsSecretRef": {"name": "x"}})
    cli.twilio(sim, account)

    result = cli("scan", "-n", renewals.namespace, "--within", "45d", "--page-size", "50",
                 "-o", "json")  # fmt: skip

    items = json.loads(result.out)["items"]
    assert len(items) == UNDATED + DUE_BY_CHANGE + 2
    # Soonest deadline first, then the bundles without one.
    dated = [i for i in items if i["validUntil"] is not None]
    assert (dated[0]["sid"], dated[-1]["sid"]) == (soon, far)
    assert [i["validUntil"] for i in dated] == sorted(i["validUntil"] for i in dated)
    assert all(i["validUntil"] is None for i in items[len(dated) :])
    assert {i["sid"]: i["phoneNumbers"] for i in items} == numbers
    covered = {i["sid"]: i["renewals"] for i in items if i["renewals"]}
    assert set(covered) == set(due[:COVERED])
    assert {r["namespace"] for rs in covered.values() for r in rs} == {renewals.namespace}
    by_sid = {i["sid"]: i for i in items}
    # What the France bundles lack after the change, by name; the hand-dated ones lack nothing.
    lacking = {(m["objectType"], m["field"]) for m in by_sid[due[0]]["missing"]}
    assert lacking == {
        ("business", "business_registration_authority"),
        ("commercial_registrar_excerpt", "issue_date"),
    }
    assert by_sid[soon]["missing"] == []
    assert by_sid[soon]["compliant"] is True
    assert by_sid[items[-1]["sid"]]["missing"] is None  # no deadline: not evaluated
    assert by_sid[due[0]]["regulation"] == "France: Mobile - Business"
    # Paging: 240 undated at 50 a page is 5 pages, plus the dated list's pages.
    assert _bundles_list_requests(sim, account.sid) >= 6
    assert "bundles without a valid_until: 100 read (2 pages)" in result.err
    # Exit 1 names exactly the uncovered bundles due inside 45 days.
    assert result.code == 1
    named = result.err.strip().splitlines()[-1].split(": ", 1)[1].split(", ")
    assert sorted(named) == sorted([soon, *due[COVERED:]])
    # Evaluating the originals changed nothing at Twilio.
    states = Counter(b["status"] for b in sim.state()["accounts"][0]["bundles"])
    assert states == {"twilio-approved": len(items)}

    for i, sid in enumerate([soon, *due[COVERED:]]):
        renewals.create(f"more-{i}", {"bundleSid": sid, "credentialsSecretRef": {"name": "x"}})
    table = cli("scan", "-n", renewals.namespace, "--within", "45d", "--due", "--no-evaluate")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split()[:3] == ["BUNDLE", "FRIENDLY", "NAME"]
    assert len(lines) == 1 + DUE_BY_CHANGE + 2
    assert lines[1].startswith(soon)
    assert f"{renewals.namespace}/more-0 (no phase)" in lines[1]
    assert cli("scan", "-n", renewals.namespace, "--within", "120d", "--due",
               "--no-evaluate", "--no-numbers").code == 1  # fmt: skip


def _fill(document: str) -> str:
    return document.replace(
        json.dumps(placeholder("Business Registration Authority")), json.dumps(END_USER_VALUE)
    ).replace(json.dumps(placeholder("Issue Date")), json.dumps(DOCUMENT_VALUE))


def test_scaffold_yaml_filled_in_and_applied_completes_a_renewal(
    sim: Sim, renewals: Renewals, cli: Cli, operator_factory: OperatorFactory
) -> None:
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    cli.twilio(sim, None)  # credentials from the Secret, as the operator reads them
    secret = f"{renewals.namespace}/twilio-credentials"

    result = cli("scaffold", "-n", renewals.namespace, "--credentials-secret", secret)

    assert result.code == 0, result.err
    assert "<FILL IN: Business Registration Authority>" in result.out
    assert 'for requirement "Business" (business_info)' in result.out
    account = account_state(sim, case.account.sid)
    seeded_values = [
        str(v)
        for o in account["supporting_documents"] + account["end_users"]
        for v in o["attributes"].values()
    ]
    assert len(seeded_values) > 5
    assert not [v for v in seeded_values if v in result.out]  # nothing of Twilio's copied in
    assert case.account.auth_token not in result.out + result.err
    document: dict[str, Any] = yaml.safe_load(result.out)
    assert document["spec"]["bundleSid"] == case.bundle_sid
    assert document["spec"]["credentialsSecretRef"] == {"name": "twilio-credentials"}
    assert document["metadata"]["namespace"] == renewals.namespace

    operator_factory().start()
    renewals.kubectl("apply", "-f", "-", input=_fill(result.out))
    renewals.wait_for_phase(document["metadata"]["name"], "Completed", timeout=90)
    assert_renewed(sim, case)
    # Covered now: nothing left to scaffold, and scan is satisfied.
    again = cli("scaffold", "-n", renewals.namespace, "--credentials-secret", secret)
    assert (again.code, again.out) == (0, "")
