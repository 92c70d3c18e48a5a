"""`bundle-renewal scan` with Twilio credentials in the environment and no cluster at all (no
kubeconfig, not in a pod): it scans Twilio, shows coverage as unknown and says so once."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from controller.cli.app import main
from tests.sim_fixtures import Sim


@pytest.fixture
def no_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name in ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(args), out=out)
    return code, out.getvalue(), err.getvalue()


def test_scan_reads_twilio_and_says_once_that_coverage_is_unknown(
    sim: Sim, no_cluster: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = sim.new_account()
    due = sim.seed_approved_bundle(account.sid)["bundle_sid"]
    sim.change_regulation()
    monkeypatch.setenv("TWILIO_BASE_URL", sim.base_url)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", account.sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", account.auth_token)

    code, out, err = run("scan", "--within", "60d")
    assert code == 1  # due, and nothing shows a renewal for it
    assert due in out
    assert "<unknown>" in out
    assert err.count("coverage by BundleRenewals is unknown") == 1
    assert err.startswith("no kubeconfig and not in a cluster: ")
    assert f"may have no BundleRenewal: {due}\n" in err
    assert all(line for line in err.split("\n")[:-1])
    assert err.endswith("\n")

    code, out, _ = run("scan", "-o", "json", "--no-evaluate", "--quiet")
    assert code == 0
    (item,) = json.loads(out)["items"]
    assert (item["sid"], item["renewals"]) == (due, None)


def test_without_credentials_or_with_a_named_secret_the_missing_cluster_is_an_error(
    sim: Sim, no_cluster: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    code, out, err = run("scan")
    assert (code, out) == (3, "")
    assert err.startswith("error: no usable kubeconfig")
    assert err.endswith("\n")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    code, _, err = run("scan", "--credentials-secret", "ns/twilio")
    assert code == 3
    assert "error: no usable kubeconfig" in err


def test_a_broken_kubeconfig_is_still_an_error(
    sim: Sim, no_cluster: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only a cluster that is not configured at all is skipped, not one configured wrongly."""
    broken = tmp_path / "kubeconfig"
    broken.write_text("not: [a kubeconfig")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("KUBECONFIG", str(broken))
    code, _, err = run("scan")
    assert code == 3
    assert err == "error: kubeconfig is not valid YAML at line 1\n"
