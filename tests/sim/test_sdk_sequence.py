"""The official twilio SDK (sync and async) runs the compliance-update guide against the simulator.

Every exchange of the sequence (see renewal_sequence.py) is validated against Twilio's OpenAPI
spec.
"""

from __future__ import annotations

import pytest

from tests.contract.openapi_validation import (
    ExchangeRecorder,
    RecordingAsyncHttpClient,
    RecordingHttpClient,
    SpecValidator,
)
from tests.sim.renewal_sequence import run_renewal_sequence
from tests.sim_fixtures import CallbackReceiver, Sim


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_sdk_runs_the_whole_renewal_sequence(
    sim: Sim, callback_receiver: CallbackReceiver, is_async: bool
) -> None:
    account = sim.new_account()
    recorder = ExchangeRecorder()
    http = RecordingAsyncHttpClient(recorder) if is_async else RecordingHttpClient(recorder)
    client = sim.client(account, http_client=http)
    try:
        await run_renewal_sequence(sim, callback_receiver, account, client, is_async)
    finally:
        if is_async:
            await http.close()
    assert len(recorder.exchanges) >= 20
    assert SpecValidator.shared().problems(recorder.exchanges, check_requests=True) == []
