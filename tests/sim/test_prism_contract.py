"""Stoplight Prism, as a validating proxy in front of the simulator, finds no violation.

Prism (``make prism`` installs it under .tools/prism) checks every request the SDK sends and every
response the simulator gives against Twilio's spec. A violation shows as an ``sl-violations``
header, or as a 422 problem+json for an invalid request (``--errors``). The whole renewal sequence
runs through the proxy; the simulator's absolute URLs point at the proxy too. A missing Prism
fails this test: CI installs it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.contract.openapi_validation import SPEC_PATH, ExchangeRecorder, RecordingHttpClient
from tests.sim.renewal_sequence import run_renewal_sequence
from tests.sim_fixtures import CallbackReceiver, Sim
from twilio_sim.server import free_port

REPO = Path(__file__).resolve().parents[2]
PRISM = Path(os.environ.get("PRISM_BIN", REPO / ".tools/prism/node_modules/.bin/prism"))

pytestmark = pytest.mark.prism


@pytest.fixture
def prism_url(sim: Sim) -> Iterator[str]:
    assert PRISM.exists(), f"Prism is not installed at {PRISM}: run `make prism`"
    port = free_port()
    log = open(REPO / ".tools" / f"prism-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(PRISM), "proxy", str(SPEC_PATH), sim.base_url, "--errors",
         "-h", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, "Prism exited; see its log under .tools/"
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "Prism did not start within 90 s"
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def test_prism_reports_no_violation_over_the_renewal_sequence(
    sim: Sim, callback_receiver: CallbackReceiver, prism_url: str
) -> None:
    sim.set_config(public_base_url=prism_url)
    account = sim.new_account()
    recorder = ExchangeRecorder()
    client = sim.client(account, http_client=RecordingHttpClient(recorder))
    client.numbers.base_url = prism_url
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


async def test_prism_flags_a_request_that_breaks_the_spec(sim: Sim, prism_url: str) -> None:
    """Proves the proxy validates: a create without the required Email is refused by Prism."""
    account = sim.new_account()
    resp = requests.post(
        f"{prism_url}/v2/RegulatoryCompliance/Bundles",
        data={"FriendlyName": "no email"},
        auth=(account.sid, account.auth_token),
        timeout=10,
    )
    assert resp.status_code == 422
    assert "Email" in resp.text
