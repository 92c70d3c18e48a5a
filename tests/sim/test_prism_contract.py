"""Stoplight Prism, as a validating proxy in front of the simulator, finds no violation.

Prism (the ``prism`` fixture of tests/sim_fixtures.py) checks every request the SDK sends and every
response the simulator gives against Twilio's spec. A violation shows as an ``sl-violations``
header, or as a 422 problem+json for an invalid request (``--errors``). The whole renewal sequence
runs through the proxy; the simulator's absolute URLs point at the proxy too. A missing Prism
fails this test: CI installs it.
"""

from __future__ import annotations

import pytest
import requests

from tests.contract.openapi_validation import ExchangeRecorder, RecordingHttpClient
from tests.sim.renewal_sequence import run_renewal_sequence
from tests.sim_fixtures import CallbackReceiver, PrismProxy, Sim

pytestmark = pytest.mark.prism


async def test_prism_reports_no_violation_over_the_renewal_sequence(
    sim: Sim, callback_receiver: CallbackReceiver, prism: PrismProxy
) -> None:
    sim.set_config(public_base_url=prism.url)
    account = sim.new_account()
    recorder = ExchangeRecorder()
    client = sim.client(account, http_client=RecordingHttpClient(recorder))
    client.numbers.base_url = prism.url
    await run_renewal_sequence(sim, callback_receiver, account, client, is_async=False)

    successes = [ex for ex in recorder.exchanges if ex.status < 400]
    assert len(successes) >= 20
    violations = [
        (ex.describe(), ex.headers.get("sl-violations"))
        for ex in successes
        if "sl-violations" in ex.headers
    ]
    assert violations == []
    assert all(ex.status != 422 for ex in recorder.exchanges)
    # The one expected error (fetch of the deleted copy) reached the simulator, not Prism.
    errors = [ex for ex in recorder.exchanges if ex.status >= 400]
    assert [(ex.status, ex.content_type) for ex in errors] == [(404, "application/json")]


async def test_prism_flags_a_request_that_breaks_the_spec(sim: Sim, prism: PrismProxy) -> None:
    """Proves the proxy validates: a create without the required Email is refused by Prism."""
    account = sim.new_account()
    resp = requests.post(
        f"{prism.url}/v2/RegulatoryCompliance/Bundles",
        data={"FriendlyName": "no email"},
        auth=(account.sid, account.auth_token),
        timeout=10,
    )
    assert resp.status_code == 422
    assert "Email" in resp.text
