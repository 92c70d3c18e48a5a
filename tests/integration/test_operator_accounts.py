"""ComplianceAccounts on a real API server with the operator and the simulator: an account's
every deadline counted, covered or not, in status, printer columns and metrics; bad input
Stalled with its reason and no retry storm."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client

from controller.core.models import API_GROUP, API_VERSION
from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import CREDENTIALS_SECRET, requests_by_route
from tests.integration.test_operator_failover import start_pair
from tests.integration.test_operator_webhook import webhook_operator
from tests.measurements import report
from tests.metrics_scrape import scrape, value
from tests.sim_fixtures import Sim, SimAccount

ACCOUNTS = "complianceaccounts"
DEADLINE = "2027-02-01T00:00:00Z"


class Accounts:
    """ComplianceAccount objects in the test's namespace."""

    def __init__(self, renewals: Renewals):
        self.renewals = renewals
        self.custom = renewals.custom
        self.namespace = renewals.namespace

    def create(self, name: str, spec: dict[str, Any]) -> None:
        body = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "ComplianceAccount",
            "metadata": {"name": name},
            "spec": spec,
        }
        self.custom.create_namespaced_custom_object(
            API_GROUP, API_VERSION, self.namespace, ACCOUNTS, body
        )

    def status(self, name: str) -> dict[str, Any]:
        body = self.custom.get_namespaced_custom_object(
            API_GROUP, API_VERSION, self.namespace, ACCOUNTS, name
        )
        return cast(dict[str, Any], body.get("status") or {})

    def condition(self, name: str, type_: str) -> dict[str, Any]:
        for condition in self.status(name).get("conditions") or []:
            if condition["type"] == type_:
                return cast(dict[str, Any], condition)
        return {}

    def rescan(self, name: str) -> None:
        """A spec change (the interval, to 2 h): the operator scans again at once."""
        self.custom.patch_namespaced_custom_object(
            API_GROUP, API_VERSION, self.namespace, ACCOUNTS, name, {"spec": {"scanInterval": "2h"}}
        )

    def wait_for(self, name: str, what: str, check: Any, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(name)
            if check(status):
                return status
            assert time.monotonic() < deadline, f"{name} not {what} in {timeout}s: {status}"
            time.sleep(0.2)


def suspended(bundle_sid: str, secret: str = CREDENTIALS_SECRET) -> dict[str, Any]:
    """A BundleRenewal that covers the bundle and does nothing (the deadlines must stay)."""
    return {"bundleSid": bundle_sid, "credentialsSecretRef": {"name": secret}, "suspend": True}


def account_with_deadlines(
    sim: Sim, renewals: Renewals, count: int
) -> tuple[SimAccount, list[str]]:
    """A new account with `count` bundles due on DEADLINE, and its credentials Secret."""
    account = sim.new_account()
    dated = [
        sim.seed_approved_bundle(account.sid, phone_numbers=0, valid_until=DEADLINE)["bundle_sid"]
        for _ in range(count)
    ]
    renewals.create_credentials(account)
    return account, dated


def test_an_account_of_1000_bundles_shows_its_60_deadlines_40_covered(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    account, dated = account_with_deadlines(sim, renewals, 60)
    for _ in range(940):
        sim.seed_approved_bundle(account.sid, phone_numbers=0)
    for i, sid in enumerate(dated[:40]):
        renewals.create(f"renewal-{i:02d}", suspended(sid))
    # Another account's credentials naming one of the 20 left: that covers nothing here.
    other = sim.new_account()
    renewals.create_credentials(other, name="other-account")
    renewals.create("other-account-renewal", suspended(dated[50], "other-account"))

    operator = operator_factory()
    operator.start()
    accounts = Accounts(renewals)
    before = sum(requests_by_route(sim, account.sid).values())
    started = time.monotonic()
    accounts.create("acme", {"credentialsSecretRef": {"name": "twilio-credentials"}})
    status = accounts.wait_for("acme", "scanned", lambda s: s.get("lastScanTime"))
    elapsed = time.monotonic() - started
    requests = sum(requests_by_route(sim, account.sid).values()) - before

    assert (status["bundlesWithDeadline"], status["covered"], status["uncovered"]) == (60, 40, 20)
    # 50 listed of 60 on one date: the uncovered first, all 20 of them.
    assert len(status["deadlines"]) == 50
    uncovered = {d["bundleSid"] for d in status["deadlines"] if "coveredBy" not in d}
    assert uncovered == set(dated[40:])
    covered = {d["bundleSid"]: d["coveredBy"] for d in status["deadlines"] if "coveredBy" in d}
    assert len(covered) == 30
    names = {sid: f"{renewals.namespace}/renewal-{i:02d}" for i, sid in enumerate(dated[:40])}
    assert all(covered[sid] == names[sid] for sid in covered)
    assert status["nextUncoveredDeadline"] == DEADLINE
    ready = accounts.condition("acme", "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Uncovered")
    # One list (60 dated bundles: one page at the gateway's page size) and one regulation.
    report(
        "ComplianceAccount: first scan of 1,000 bundles (60 dated, 40 covered)",
        f"{requests} Twilio requests, {elapsed:.2f} s from create to status",
    )
    assert requests == 2

    columns = renewals.kubectl("get", ACCOUNTS, "acme", "-n", renewals.namespace).stdout
    header, row = columns.splitlines()[:2]
    assert header.split()[:5] == ["NAME", "DEADLINES", "COVERED", "UNCOVERED", "NEXT-UNCOVERED"]
    assert row.split()[:5] == ["acme", "60", "40", "20", DEADLINE]
    events = renewals.kubectl(
        "get", "events", "-n", renewals.namespace, "--field-selector", "involvedObject.name=acme"
    ).stdout
    assert "DeadlineUncovered" in events

    families = scrape(operator.metrics())
    labels = {"namespace": renewals.namespace, "name": "acme"}
    assert value(families["bundle_renewal_account_bundles_with_deadline"], **labels) == 60
    assert value(families["bundle_renewal_account_covered_bundles"], **labels) == 40
    assert value(families["bundle_renewal_account_uncovered_bundles"], **labels) == 20
    for secret in (account.sid, account.auth_token, dated[0]):
        assert secret not in operator.metrics()


def stalled_without_a_storm(sim: Sim, accounts: Accounts, name: str, reason: str) -> dict[str, Any]:
    """Stalled with `reason`; over the next seconds, no further Twilio request for it."""
    accounts.wait_for(
        name, reason, lambda s: any(c.get("reason") == reason for c in s.get("conditions") or [])
    )
    stalled = accounts.condition(name, "Stalled")
    assert stalled["status"] == "True"
    # Every request the simulator sees (a refused one names no account): none while it waits
    # for the interval.
    requests = sim.stats()["total"]
    time.sleep(3)
    assert sim.stats()["total"] == requests
    return stalled


def test_bad_credentials_stall_the_account_with_their_reason(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    account = sim.new_account()
    sim.seed_approved_bundle(account.sid, valid_until=DEADLINE)
    accounts = Accounts(renewals)
    accounts.create("no-secret", {"credentialsSecretRef": {"name": "missing"}})
    renewals.create_secret({"accountSid": account.sid, "authToken": "wrong-token"}, name="wrong")
    accounts.create("wrong-token", {"credentialsSecretRef": {"name": "wrong"}})

    missing = stalled_without_a_storm(sim, accounts, "no-secret", "CredentialsInvalid")
    assert "missing" in missing["message"]
    refused = stalled_without_a_storm(sim, accounts, "wrong-token", "AuthenticationFailed")
    assert "wrong-token" not in refused["message"]
    assert accounts.status("wrong-token").get("bundlesWithDeadline") is None
    # The Secret is fixed: a spec change (here, the interval) scans again at once.
    renewals.core.patch_namespaced_secret(
        "wrong",
        renewals.namespace,
        client.V1Secret(string_data={"authToken": account.auth_token}),
    )
    accounts.rescan("wrong-token")
    status = accounts.wait_for(
        "wrong-token", "scanned", lambda s: s.get("bundlesWithDeadline") == 1
    )
    assert status["uncovered"] == 1
    assert accounts.condition("wrong-token", "Stalled")["status"] == "False"


def created_renewals(renewals: Renewals) -> list[dict[str, Any]]:
    items = renewals.custom.list_namespaced_custom_object(
        API_GROUP,
        API_VERSION,
        renewals.namespace,
        "bundlerenewals",
        label_selector="twilio-compliance.io/compliance-account=acme",
    )["items"]
    return cast(list[dict[str, Any]], items)


def test_dry_run_renewals_one_per_uncovered_bundle_even_after_a_sigkill(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    account, dated = account_with_deadlines(sim, renewals, 12)
    renewals.create("covered", suspended(dated[0]))
    accounts = Accounts(renewals)
    spec = {
        "credentialsSecretRef": {"name": CREDENTIALS_SECRET},
        "renewals": {"create": "DryRun", "template": {"labels": {"team": "telecom"}}},
    }
    operator = operator_factory()
    operator.start()
    accounts.create("acme", spec)
    # Killed while it creates them (or just after): whatever it made, no status said so yet.
    deadline = time.monotonic() + 30
    while not created_renewals(renewals):
        assert time.monotonic() < deadline, "no renewal created"
        time.sleep(0.01)
    operator.kill()
    killed_with = len(created_renewals(renewals))
    operator_factory().start()

    status = accounts.wait_for("acme", "all covered", lambda s: s.get("uncovered") == 0)
    made = created_renewals(renewals)
    assert sorted(r["spec"]["bundleSid"] for r in made) == sorted(dated[1:])  # one each
    assert {r["metadata"]["name"] for r in made} == {f"acme-{sid.lower()}" for sid in dated[1:]}
    for renewal in made:
        assert renewal["spec"]["dryRun"] is True
        assert renewal["metadata"]["labels"]["team"] == "telecom"
    assert (status["bundlesWithDeadline"], status["covered"]) == (12, 12)
    report(
        "ComplianceAccount DryRun: SIGKILL while creating 11 renewals",
        f"{killed_with} made before the kill, {len(made)} in all after the restart",
    )

    # Once covered, no more: a spec change scans again and creates nothing.
    accounts.rescan("acme")
    accounts.wait_for("acme", "rescanned", lambda s: s.get("observedGeneration") == 2)
    assert len(created_renewals(renewals)) == 11
    # The dry runs report; Twilio saw no write but evaluations.
    for renewal in made:
        renewals.wait_for(renewal["metadata"]["name"], lambda s: s.get("dryRun"), "reported")
    writes = {w["route"] for w in sim.admin.writes() if w["account_sid"] == account.sid}
    assert writes == {"/v2/RegulatoryCompliance/Bundles/{BundleSid}/Evaluations"}, writes


def test_registered_callbacks_bring_a_regulation_change_within_seconds(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    """statusCallbacks: Register with a 1 h interval: the operator's URL on the approved bundles
    without one (never over the customer's), written once for two ComplianceAccounts of one
    account; a regulation change then shows in both statuses and the metrics in seconds."""
    account = sim.new_account()
    customer_url = "http://127.0.0.1:9/customer-hook"
    ours = [sim.seed_approved_bundle(account.sid)["bundle_sid"] for _ in range(3)]
    theirs = sim.seed_approved_bundle(account.sid, status_callback=customer_url)["bundle_sid"]
    renewals.create_credentials(account)
    operator, url = webhook_operator(operator_factory)
    accounts = Accounts(renewals)
    spec = {"credentialsSecretRef": {"name": CREDENTIALS_SECRET}, "statusCallbacks": "Register"}
    for name in ("acme", "acme-too"):
        accounts.create(name, spec)
    for name in ("acme", "acme-too"):
        status = accounts.wait_for(name, "registered", lambda s: s.get("callbacksRegistered") == 3)
        assert status["bundlesWithDeadline"] == 0
    for sid in ours:
        assert sim.admin.bundle(sid)["status_callback"] == url
        assert [w["method"] for w in sim.admin.writes(sid)] == ["POST"]  # once, for both
    assert sim.admin.bundle(theirs)["status_callback"] == customer_url
    assert sim.admin.writes(theirs) == []
    before = sim.stats()["total"]

    started = time.monotonic()
    change = sim.change_regulation()
    assert set(ours) | {theirs} <= set(change["affected_bundle_sids"])
    for name in ("acme", "acme-too"):
        status = accounts.wait_for(
            name, "told by callbacks", lambda s: s.get("bundlesWithDeadline") == 3, timeout=5
        )
        assert {d["bundleSid"] for d in status["deadlines"]} == set(ours)  # theirs: next scan
    elapsed = time.monotonic() - started
    labels = {"namespace": renewals.namespace, "name": "acme"}
    families = scrape(operator.metrics())
    assert value(families["bundle_renewal_account_uncovered_bundles"], **labels) == 3
    # A re-check of the bundles called about: a fetch each, no list.
    routes = requests_by_route(sim, account.sid)
    assert routes["GET /v2/RegulatoryCompliance/Bundles"] == 2 + 2  # each account: dated, approved
    report(
        "ComplianceAccount Register: regulation change -> both statuses",
        f"{elapsed:.2f} s; {sim.stats()['total'] - before} Twilio requests for the re-checks",
    )


def test_register_without_a_callback_receiver_is_stalled_and_still_counts(
    sim: Sim, renewals: Renewals, operator: OperatorProcess
) -> None:
    _, dated = account_with_deadlines(sim, renewals, 2)
    accounts = Accounts(renewals)
    spec = {"credentialsSecretRef": {"name": CREDENTIALS_SECRET}, "statusCallbacks": "Register"}
    accounts.create("acme", spec)
    stalled = stalled_without_a_storm(sim, accounts, "acme", "WebhookDisabled")
    assert "WEBHOOK_PUBLIC_URL" in stalled["message"]
    status = accounts.status("acme")
    assert (status["bundlesWithDeadline"], status["uncovered"]) == (2, 2)
    assert all(sim.admin.writes(sid) == [] for sid in dated)  # nothing registered


@pytest.mark.usefixtures("peering_crds")
def test_with_two_replicas_only_the_working_one_scans_and_the_standby_takes_over(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, tmp_path: Path
) -> None:
    account, _ = account_with_deadlines(sim, renewals, 3)
    first, second = start_pair(operator_factory, renewals, tmp_path)
    accounts = Accounts(renewals)
    accounts.create("acme", {"credentialsSecretRef": {"name": CREDENTIALS_SECRET}})
    accounts.wait_for("acme", "scanned", lambda s: s.get("bundlesWithDeadline") == 3)
    time.sleep(2)
    assert sum(requests_by_route(sim, account.sid).values()) == 2  # one scan: one replica
    assert "acme" not in second.output()  # the standby did not look

    first.kill()
    accounts.rescan("acme")
    accounts.wait_for(
        "acme", "scanned by the standby", lambda s: s.get("observedGeneration") == 2, timeout=60
    )
    assert sum(requests_by_route(sim, account.sid).values()) == 4
