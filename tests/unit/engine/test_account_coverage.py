"""ComplianceAccount: the spec's rules, which deadlines count as covered, and the status a scan
writes (pure functions, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from controller.adapters.cluster import ClusterAccessError
from controller.adapters.twilio_gateway.port import (
    TwilioAuthenticationError,
    TwilioPermanentError,
    TwilioTransientError,
)
from controller.core.conditions import get_condition
from controller.core.models import ConditionStatus, ConditionType
from controller.core.models.account import (
    DEADLINES_SHOWN,
    ComplianceAccountSpec,
    ComplianceAccountStatus,
    parse_interval,
)
from controller.core.plan.markers import copy_marker
from controller.core.twilio_models import Bundle, BundleStatus, Regulation
from controller.engine.accounts.coverage import (
    RenewalRef,
    coverage,
    dated_originals,
    failed_status,
    scanned_status,
)
from controller.engine.accounts.renewals import TemplateInvalid, renewal_body, renewal_name
from controller.engine.credentials import CredentialsError
from controller.operator.accounts import daemon

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ACCOUNT = "AC" + "a" * 32
OTHER = "AC" + "b" * 32
REGULATION = Regulation(sid="RN" + "1" * 32, iso_country="FR", number_type="mobile")


def bundle(i: int, days: int | None, name: str | None = "customer bundle") -> Bundle:
    return Bundle(
        sid=f"BU{i:032x}",
        regulation_sid=REGULATION.sid,
        friendly_name=name,
        status=BundleStatus.TWILIO_APPROVED,
        valid_until=NOW + timedelta(days=days) if days is not None else None,
    )


def ref(i: int, account: str | None = ACCOUNT, name: str = "") -> RenewalRef:
    return RenewalRef("team", name or f"renewal-{i}", f"BU{i:032x}", account)


# --- the spec ------------------------------------------------------------------------------


def test_the_spec_defaults_and_its_interval() -> None:
    spec = ComplianceAccountSpec.model_validate({"credentialsSecretRef": {"name": "twilio"}})
    assert spec.interval == timedelta(hours=1)
    assert spec.status_callbacks == "Keep"
    assert spec.renewals.create == "Never"
    assert parse_interval("1h30m") == timedelta(minutes=90)
    assert parse_interval("2d") == timedelta(days=2)
    fast = ComplianceAccountSpec.model_validate(
        {"credentialsSecretRef": {"name": "twilio"}, "scanInterval": "5s"}
    )
    assert fast.interval == timedelta(minutes=1)  # the floor: no scan storm


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({}, "credentialsSecretRef"),
        ({"credentialsSecretRef": {"name": "twilio"}, "scanInterval": "1 hour"}, "scanInterval"),
        (
            {"credentialsSecretRef": {"name": "twilio"}, "statusCallbacks": "Always"},
            "statusCallbacks",
        ),
        (
            {
                "credentialsSecretRef": {"name": "twilio"},
                "renewals": {"create": "DryRun", "template": {"spec": {"bundleSid": "BU1"}}},
            },
            "may not set bundleSid",
        ),
        (
            {"credentialsSecretRef": {"name": "twilio"}, "renewals": {"create": "Always"}},
            "create",
        ),
    ],
)
def test_bad_specs_are_refused_with_the_field_named(spec: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ComplianceAccountSpec.model_validate(spec)


# --- coverage ------------------------------------------------------------------------------


def test_dated_originals_are_soonest_first_without_copies_or_undated_bundles() -> None:
    bundles = [
        bundle(1, 20),
        bundle(2, None),
        bundle(3, 5),
        bundle(4, 1, name=copy_marker("uid-x")),  # a renewal copy: covered by definition
    ]
    assert [b.sid for b in dated_originals(bundles)] == [bundle(3, 5).sid, bundle(1, 20).sid]


def test_a_bundle_is_covered_only_by_a_renewal_with_the_same_account() -> None:
    bundles = [bundle(i, 10 + i) for i in range(4)]
    renewals = [
        ref(0),
        ref(1, account=OTHER),  # another account's credentials name the same SID
        ref(2, account=None),  # its Secret could not be read
        ref(9),  # a bundle without a deadline, or of another account
    ]
    found = coverage(bundles, {REGULATION.sid: REGULATION}, renewals, ACCOUNT)
    assert [d.covered_by for d in found.deadlines] == ["team/renewal-0", None, None, None]
    assert found.counts() == (4, 1, 3)
    first = found.deadlines[0]
    assert (first.iso_country, first.number_type, first.twilio_status) == (
        "FR",
        "mobile",
        "twilio-approved",
    )


def test_two_renewals_of_one_bundle_name_the_first_by_namespace_and_name() -> None:
    found = coverage([bundle(0, 3)], {}, [ref(0, name="zeta"), ref(0, name="alpha")], ACCOUNT)
    assert found.deadlines[0].covered_by == "team/alpha"
    assert found.deadlines[0].iso_country is None  # regulation not read: left out, not guessed


# --- status ----------------------------------------------------------------------------------


def test_a_scan_writes_counts_the_soonest_deadlines_and_ready() -> None:
    bundles = [bundle(i, i + 1) for i in range(DEADLINES_SHOWN + 10)]
    found = coverage(bundles, {}, [ref(0), ref(1)], ACCOUNT)
    status = scanned_status(
        ComplianceAccountStatus(), found, generation=3, now=NOW, next_scan=NOW + timedelta(hours=1)
    )
    assert (status.bundles_with_deadline, status.covered, status.uncovered) == (60, 2, 58)
    assert len(status.deadlines) == DEADLINES_SHOWN
    assert status.next_deadline == NOW + timedelta(days=1)
    assert status.next_uncovered_deadline == NOW + timedelta(days=3)
    assert (status.last_scan_time, status.next_scan_time) == (NOW, NOW + timedelta(hours=1))
    ready = get_condition(status, ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.reason, ready.observed_generation) == (
        ConditionStatus.TRUE,
        "Uncovered",
        3,
    )
    assert "58 uncovered" in ready.message
    stalled = get_condition(status, ConditionType.STALLED)
    assert stalled is not None
    assert stalled.status == ConditionStatus.FALSE
    wire = status.to_wire()
    assert "friendlyName" not in str(wire)  # no customer text


def test_a_failed_scan_keeps_the_last_findings_and_says_why() -> None:
    found = coverage([bundle(0, 3)], {}, [], ACCOUNT)
    scanned = scanned_status(
        ComplianceAccountStatus(), found, generation=1, now=NOW, next_scan=NOW + timedelta(hours=1)
    )
    later = NOW + timedelta(hours=1)
    failed = failed_status(
        scanned,
        "CredentialsInvalid",
        "scan failed: Secret twilio not found in namespace team",
        permanent=True,
        generation=1,
        now=later,
        next_scan=later + timedelta(hours=1),
    )
    assert (failed.uncovered, failed.deadlines, failed.last_scan_time) == (
        1,
        scanned.deadlines,
        NOW,
    )
    stalled = get_condition(failed, ConditionType.STALLED)
    ready = get_condition(failed, ConditionType.READY)
    reconciling = get_condition(failed, ConditionType.RECONCILING)
    assert stalled is not None
    assert ready is not None
    assert reconciling is not None
    assert (stalled.status, stalled.reason) == (ConditionStatus.TRUE, "CredentialsInvalid")
    assert stalled.last_transition_time == later
    assert (ready.status, reconciling.status) == (ConditionStatus.FALSE, ConditionStatus.FALSE)
    transient = failed_status(
        scanned,
        "TransientError",
        "scan failed: Twilio answered 500",
        permanent=False,
        generation=1,
        now=later,
        next_scan=later + timedelta(seconds=15),
    )
    reconciling = get_condition(transient, ConditionType.RECONCILING)
    stalled = get_condition(transient, ConditionType.STALLED)
    assert reconciling is not None
    assert stalled is not None
    assert (reconciling.status, stalled.status) == (ConditionStatus.TRUE, ConditionStatus.FALSE)


# --- dry-run renewals ----------------------------------------------------------------------


def dry_run_spec(template: dict[str, object] | None = None) -> ComplianceAccountSpec:
    return ComplianceAccountSpec.model_validate(
        {
            "credentialsSecretRef": {"name": "twilio"},
            "renewals": {"create": "DryRun", "template": template or {}},
        }
    )


def test_a_created_renewal_is_named_after_account_and_bundle_and_only_dry_runs() -> None:
    sid = f"BU{7:032x}"
    template = {"labels": {"team": "telecom"}, "spec": {"endUser": {"attributes": {}}}}
    body = renewal_body("acme", dry_run_spec(template), sid)
    assert body["metadata"]["name"] == f"acme-{sid.lower()}"
    assert body["metadata"]["labels"] == {
        "team": "telecom",
        "twilio-compliance.io/compliance-account": "acme",
        "app.kubernetes.io/managed-by": "bundle-renewal-operator",
    }
    assert body["spec"] == {
        "endUser": {"attributes": {}},
        "bundleSid": sid,
        "credentialsSecretRef": {"name": "twilio"},
        "dryRun": True,
    }
    # The same bundle always gets the same name: a second attempt finds the first.
    assert renewal_body("acme", dry_run_spec(), sid)["metadata"]["name"] == renewal_name(
        "acme", sid
    )


def test_names_and_labels_stay_within_kubernetes_limits() -> None:
    sid = f"BU{7:032x}"
    long_name = "a" * 240 + "-b"
    body = renewal_body(long_name, dry_run_spec(), sid)
    assert len(body["metadata"]["name"]) <= 253
    assert body["metadata"]["name"].endswith(sid.lower())
    assert len(body["metadata"]["labels"]["twilio-compliance.io/compliance-account"]) <= 63


def test_a_template_that_makes_no_valid_renewal_names_its_fields_not_its_values() -> None:
    template = {"spec": {"endUser": {"attributes": "Personal-Value-77"}, "suspend": "often"}}
    with pytest.raises(TemplateInvalid) as refused:
        renewal_body("acme", dry_run_spec(template), f"BU{7:032x}")
    assert "endUser.attributes" in str(refused.value)
    assert "suspend" in str(refused.value)
    assert "Personal-Value-77" not in str(refused.value)


def test_covering_marks_only_the_named_uncovered_bundles() -> None:
    found = coverage([bundle(0, 3), bundle(1, 4), bundle(2, 5)], {}, [ref(0)], ACCOUNT)
    after = found.covering({bundle(1, 4).sid: "team/acme-x", bundle(0, 3).sid: "team/other"})
    assert [d.covered_by for d in after.deadlines] == ["team/renewal-0", "team/acme-x", None]
    assert after.counts() == (3, 2, 1)


@pytest.mark.parametrize(
    ("error", "reason", "permanent"),
    [
        (CredentialsError("Secret twilio not found in namespace team"), "CredentialsInvalid", True),
        (
            TwilioAuthenticationError("Authenticate", status=401, code=20003),
            "AuthenticationFailed",
            True,
        ),
        (TwilioPermanentError("Forbidden", status=403, code=20403), "TwilioRefused", True),
        (
            ClusterAccessError("listing BundleRenewals", 403, "Forbidden"),
            "ClusterAccessDenied",
            True,
        ),
        (TwilioTransientError("Internal", status=500, code=20500), "TransientError", False),
        (ClusterAccessError("listing BundleRenewals", 503, "Unavailable"), "TransientError", False),
    ],
)
def test_a_failed_look_is_stalled_only_when_a_person_must_act(
    error: Exception, reason: str, permanent: bool
) -> None:
    """A 403 on the list, refused credentials: Stalled and retried at the interval only."""
    assert daemon._failure(error)[::2] == (reason, permanent)
