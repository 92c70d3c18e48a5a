"""The CLI's pure parts: durations and dates, credentials from the environment, what an
evaluation says is missing, scaffold's YAML, and exit codes that need no cluster."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from controller.cli import scaffold
from controller.cli.access import credentials_from_env, split_reference
from controller.cli.app import main
from controller.cli.errors import CliError, ExitCode
from controller.cli.output import age, parse_duration, parse_moment, table
from controller.core.twilio_models import Bundle, Evaluation, Regulation
from controller.engine.accounts.scan import BundleRow, Missing, days_left, missing_of

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(days=14)),
     ("90m", timedelta(minutes=90)), ("45s", timedelta(seconds=45))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "3 days", "-5d", "1.5d"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(CliError) as caught:
        parse_duration(text)
    assert caught.value.code == ExitCode.USAGE


def test_moments_dates_and_days_left() -> None:
    assert parse_moment("2026-12-31", NOW) == datetime(2026, 12, 31, tzinfo=UTC)
    assert parse_moment("10d", NOW) == NOW + timedelta(days=10)
    assert days_left(NOW + timedelta(days=3, hours=23), NOW) == 3
    assert days_left(NOW - timedelta(hours=1), NOW) == -1
    assert days_left(None, NOW) is None
    assert age(NOW - timedelta(minutes=5, seconds=3), NOW) == "5m"
    assert age(NOW - timedelta(days=2), NOW) == "2d"


def test_table_aligns_columns() -> None:
    out = io.StringIO()
    table(["A", "LONGER"], [["x", None], ["yyyy", 3]], out)
    assert out.getvalue().splitlines() == ["A      LONGER", "x      -", "yyyy   3"]


def test_credentials_from_the_twilio_cli_variables() -> None:
    sid = "AC" + "1" * 32
    assert credentials_from_env({}) is None
    token = credentials_from_env({"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": "t0k"})
    assert token is not None
    assert token.username == sid
    key = credentials_from_env(
        {"TWILIO_ACCOUNT_SID": sid, "TWILIO_API_KEY": "SK" + "2" * 32, "TWILIO_API_SECRET": "s"}
    )
    assert key is not None
    assert key.username == "SK" + "2" * 32
    with pytest.raises(CliError) as caught:
        credentials_from_env({"TWILIO_ACCOUNT_SID": sid, "TWILIO_API_KEY": "SK" + "2" * 32})
    assert caught.value.code == ExitCode.CONFIGURATION
    assert "t0k" not in repr(token)


def test_secret_references() -> None:
    assert split_reference("telecom/creds", "default") == ("telecom", "creds")
    assert split_reference("creds", "default") == ("default", "creds")


EVALUATION = Evaluation.model_validate(
    {
        "sid": "EL" + "0" * 32,
        "status": "noncompliant",
        "results": [
            {"requirement_name": "business_info", "requirement_friendly_name": "Business",
             "object_type": "business", "passed": False, "error_code": 22215,
             "invalid": [{"object_field": "business_registration_authority",
                          "friendly_name": "Business Registration Authority",
                          "error_code": 22215}]},
            {"requirement_name": "proof_of_address", "requirement_friendly_name": "Address",
             "object_type": "utility_bill", "passed": False, "error_code": 22216,
             "invalid": [{"object_field": "address_sids", "friendly_name": "Address sid(s)",
                          "error_code": 22219}]},
            {"requirement_name": "power_of_attorney_info",
             "requirement_friendly_name": "Power of Attorney",
             "object_type": "power_of_attorney", "passed": False, "error_code": 22216,
             "invalid": []},
            {"requirement_name": "ok", "object_type": "passport", "passed": True},
        ],
    }
)  # fmt: skip

REGULATION = Regulation.model_validate(
    {
        "sid": "RN" + "0" * 32,
        "friendly_name": "Somewhere: Local - Business",
        "requirements": {
            "end_user": [{"type": "business", "detailed_fields": [
                {"machine_name": "business_registration_authority", "constraint": "String"}]}],
            "supporting_document": [[{"accepted_documents": [{"type": "utility_bill",
                "detailed_fields": [{"machine_name": "address_sids", "constraint": "Array"}]}]}]],
        },
    }
)  # fmt: skip


def test_missing_of_an_evaluation_lists_fields_and_whole_documents() -> None:
    missing = missing_of(EVALUATION)
    assert [(m.object_type, m.field, m.error_code) for m in missing] == [
        ("business", "business_registration_authority", 22215),
        ("utility_bill", "address_sids", 22216),  # the document itself is missing
        ("power_of_attorney", None, 22216),
    ]
    assert [m.end_user for m in missing] == [True, False, False]
    assert [m.whole_object for m in missing] == [False, True, True]


def _row(friendly_name: str, missing: list[Missing] | None) -> BundleRow:
    bundle = Bundle(
        sid="BU" + "a" * 32,
        friendly_name=friendly_name,
        status="twilio-approved",
        regulation_sid=REGULATION.sid,
        valid_until=NOW + timedelta(days=9),
    )
    return BundleRow(bundle, 9, regulation=REGULATION, missing=missing)


def test_scaffold_renders_placeholders_comments_and_file_entries() -> None:
    rows = [_row("ACME: Paris HQ!", missing_of(EVALUATION)), _row("ACME: Paris HQ!", None)]
    text = scaffold.render(rows, "telecom", "twilio-credentials")
    first, second = (yaml.safe_load(d) for d in text.split("---\n"))

    assert first["metadata"] == {"name": "acme-paris-hq", "namespace": "telecom"}
    assert second["metadata"]["name"] == "acme-paris-hq-2"
    spec = first["spec"]
    assert spec["credentialsSecretRef"] == {"name": "twilio-credentials"}
    assert spec["endUser"]["attributes"] == {
        "business_registration_authority": "<FILL IN: Business Registration Authority>"
    }
    bill, attorney = spec["supportingDocuments"]
    assert bill["type"] == "utility_bill"
    assert bill["attributes"] == {"address_sids": ["<FILL IN: Address sid(s)>"]}  # an Array
    assert bill["file"]["contentType"] == "application/pdf"
    assert attorney == {
        "type": "power_of_attorney",
        "attributes": {},
        "file": attorney["file"],
    }
    assert '# Business Registration Authority, for requirement "Business" (business_info)' in text
    assert "# Missing from the bundle, to be created, for requirement" in text
    assert '"Power of Attorney" (power_of_attorney_info)' in text
    assert "# Not evaluated" in text.split("---\n")[1]
    assert second["spec"].get("endUser") is None


def test_scan_without_credentials_exits_3(
    tmp_path: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kubeconfig = tmp_path / "kubeconfig"  # type: ignore[operator]
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u, namespace: telecom}}]\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: x}}]\n"
    )
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["scan", "--kubeconfig", str(kubeconfig)]) == ExitCode.CONFIGURATION
    assert "no Twilio credentials" in capsys.readouterr().err
    # An API server that does not answer: an API error, said as such.
    assert main(["renew", "--all", "--kubeconfig", str(kubeconfig)]) == ExitCode.API_ERROR
    assert "no answer from the API server" in capsys.readouterr().err


def test_missing_kubeconfig_exits_3(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent")
    assert main(["renew", "--all", "--kubeconfig", missing]) == ExitCode.CONFIGURATION
