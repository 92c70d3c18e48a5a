"""Contract (acceptance 7): the operator's happy path through Stoplight Prism's validating proxy.

Prism sits between the operator and the simulator with Twilio's own OpenAPI spec and `--errors`:
a request (or response) that breaks the spec is answered with an error instead of being passed
on, and logged as a violation. The renewal completing, with no violation in Prism's log, shows
every request the operator sent is valid by Twilio's spec. A missing Prism fails the test
(`make prism` installs it; CI does).
"""

from __future__ import annotations

import pytest

from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import assert_renewed, renewal_spec, seed_due_bundle
from tests.sim_fixtures import PrismProxy, Sim

pytestmark = pytest.mark.prism


def test_happy_path_through_prism_sends_only_valid_requests(
    sim: Sim,
    renewals: Renewals,
    operator_factory: OperatorFactory,
    prism: PrismProxy,
) -> None:
    prism_url, prism_log = prism.url, prism.log_path
    sim.set_config(public_base_url=prism_url)  # page URLs lead back through the proxy
    case = seed_due_bundle(sim)
    renewals.create_credentials(case.account)
    operator = operator_factory(TWILIO_BASE_URL=prism_url)
    operator.start()
    renewals.create("through-prism", renewal_spec(case.bundle_sid))
    renewals.wait_for_phase("through-prism", "Completed", timeout=120)
    operator.stop()

    assert_renewed(sim, case)
    log = prism_log.read_text()
    violations = [
        line
        for line in log.splitlines()
        if ("violation" in line.lower() or "VALIDATOR" in line or "✖" in line)
        and "get / " not in line  # the fixture's readiness probe, not the operator
    ]
    assert violations == [], "\n".join(violations)
    # The proxy really carried the renewal's traffic, writes included.
    assert 'Forwarding "post" request' in log, log[-2000:]
    assert "/ReplaceItems has returned 201" in log, log[-2000:]
