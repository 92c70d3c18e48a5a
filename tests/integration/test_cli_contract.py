"""Contract: the CLI's Twilio requests through Stoplight Prism's validating proxy.

As test_operator_contract.py does for the operator: Prism sits in front of the simulator with
Twilio's numbers v2 spec and `--errors`, so a request or answer that breaks the spec fails and is
logged as a violation. scan (both Bundles lists with their filters, paging, regulations with
IncludeConstraints, evaluations), scaffold and status all run through it. The phone-number list
is API v2010, which that spec does not describe (Prism answers 404 to any path it lacks): it goes
to the simulator directly (TWILIO_API_BASE_URL).
"""

from __future__ import annotations

import pytest

from tests.integration.cli_helpers import Cli
from tests.integration.operator_fixtures import Renewals
from tests.integration.scenario import renewal_spec, seed_due_bundle
from tests.sim_fixtures import PrismProxy, Sim
from twilio_sim import sids

pytestmark = pytest.mark.prism


def test_scan_scaffold_and_status_send_only_valid_requests(
    sim: Sim, renewals: Renewals, cli: Cli, prism: PrismProxy
) -> None:
    sim.set_config(public_base_url=prism.url)  # page URLs lead back through the proxy
    case = seed_due_bundle(sim)
    au = sids.stable_sid(sids.REGULATION, "AU/local/individual")
    for _ in range(5):
        sim.seed_approved_bundle(case.account.sid, regulation_sid=au)
    renewals.create_credentials(case.account)
    cli.twilio(sim, case.account, base_url=prism.url)

    scan = cli("scan", "-n", renewals.namespace, "--page-size", "2", "--until", "60d",
               "--since", "2020-01-01", "-o", "json")  # fmt: skip
    assert scan.code == 0, scan.err
    everything = cli("scan", "-n", renewals.namespace, "--page-size", "2", "--within", "60d")
    assert everything.code == 1, everything.err  # the due bundle has no BundleRenewal yet
    scaffold = cli("scaffold", "-n", renewals.namespace)
    assert "<FILL IN: Issue Date>" in scaffold.out, scaffold.err
    renewals.create("through-prism", renewal_spec(case.bundle_sid))
    status = cli("status", "through-prism", "-n", renewals.namespace)
    assert "Original bundle (live from Twilio):" in status.out, status.out + status.err

    log = prism.log_path.read_text()
    violations = [
        line
        for line in log.splitlines()
        if ("violation" in line.lower() or "VALIDATOR" in line or "✖" in line)
        and "get / " not in line  # the fixture's readiness probe
    ]
    assert violations == [], "\n".join(violations)
    for request in (
        "/v2/RegulatoryCompliance/Bundles?HasValidUntilDate=true&SortBy=valid-until",
        "/v2/RegulatoryCompliance/Bundles?HasValidUntilDate=false",
        "ValidUntilDate%3C=",
        "ValidUntilDate%3E=2020-01-01T00%3A00%3A00Z",
        "PageToken=",
        "IncludeConstraints=true",
    ):
        assert request in log, f"{request} not seen by Prism:\n{log[-3000:]}"
    assert "/Evaluations has returned 201" in log, log[-2000:]
