"""The simulator's IncomingPhoneNumbers list (API v2010): each number names its bundle, pages
carry v2010's relative page URIs, and an account sees only its own numbers."""

from __future__ import annotations

import requests

from tests.sim_fixtures import Sim


def _get(sim: Sim, auth: tuple[str, str], path: str) -> requests.Response:
    return requests.get(f"{sim.base_url}{path}", auth=auth, timeout=10)


def test_numbers_page_through_with_v2010_envelope(sim: Sim) -> None:
    account = sim.new_account()
    bundle = sim.seed_approved_bundle(account.sid, phone_numbers=3)
    auth = (account.sid, account.auth_token)
    path = f"/2010-04-01/Accounts/{account.sid}/IncomingPhoneNumbers.json"

    first = _get(sim, auth, f"{path}?PageSize=2").json()
    assert [n["bundle_sid"] for n in first["incoming_phone_numbers"]] == [bundle["bundle_sid"]] * 2
    assert (first["start"], first["end"], first["page"]) == (0, 1, 0)
    assert first["previous_page_uri"] is None
    assert first["next_page_uri"].startswith(f"{path}?PageSize=2&Page=1&PageToken=")
    second = _get(sim, auth, first["next_page_uri"]).json()
    assert (second["start"], second["end"], second["next_page_uri"]) == (2, 2, None)
    sids = [n["sid"] for n in first["incoming_phone_numbers"] + second["incoming_phone_numbers"]]
    assert sids == bundle["phone_number_sids"]
    assert all(n["phone_number"].startswith("+1555") for n in second["incoming_phone_numbers"])

    # The SDK reads the same list (client.api's base URL pointed at the simulator).
    client = sim.client(account)
    client.api.base_url = sim.base_url
    listed = client.api.v2010.accounts(account.sid).incoming_phone_numbers.list(page_size=2)
    assert [n.sid for n in listed] == bundle["phone_number_sids"]


def test_another_accounts_numbers_are_not_found(sim: Sim) -> None:
    mine, theirs = sim.new_account(), sim.new_account()
    sim.seed_approved_bundle(theirs.sid, phone_numbers=1)
    answer = _get(
        sim,
        (mine.sid, mine.auth_token),
        f"/2010-04-01/Accounts/{theirs.sid}/IncomingPhoneNumbers.json",
    )
    assert answer.status_code == 404
    assert answer.json()["code"] == 20404
    unauthenticated = _get(
        sim, (mine.sid, "wrong"), f"/2010-04-01/Accounts/{mine.sid}/IncomingPhoneNumbers.json"
    )
    assert unauthenticated.status_code == 401
