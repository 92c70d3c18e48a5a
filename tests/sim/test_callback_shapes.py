"""The simulator sends status callbacks in each shape Twilio may use (`callback_shape`), each
signed as Twilio signs it: checked on the wire by a plain receiver, by the official SDK's
validator, and by the operator's own parser and signature check."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from controller.inbound.callback_signature import Encoding, parse_callback, signature_valid
from tests.sim_fixtures import CallbackReceiver, ReceivedCallback, Sim
from twilio_sim.callbacks import build_request

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def regulation_change_callback(
    sim: Sim, receiver: CallbackReceiver
) -> tuple[ReceivedCallback, str, str, dict[str, object]]:
    """(the callback of a regulation change, the bundle, the account's token, the change)."""
    account = sim.new_account()
    original = sim.seed_approved_bundle(account.sid, status_callback=receiver.url)["bundle_sid"]
    change = sim.change_regulation()
    cb = receiver.wait_for(lambda c: c.fields.get("valid_until") is not None)
    return cb, original, account.auth_token, change


def test_by_default_a_callback_is_the_field_report_s_get(
    sim: Sim, callback_receiver: CallbackReceiver
) -> None:
    cb, original, token, change = regulation_change_callback(sim, callback_receiver)
    assert cb.method == "GET"
    assert cb.body == b""
    assert "Content-Type" not in cb.headers
    assert cb.headers["User-Agent"].startswith("TwilioProxy/1.1")
    pairs = parse_qsl(urlsplit(cb.url).query, keep_blank_values=True)
    # As twilio/twilio-php#861 logged it: bodySHA256 twice, then PascalCase fields.
    assert pairs[:2] == [("bodySHA256", EMPTY_SHA256)] * 2
    assert [name for name, _ in pairs[2:]] == [
        "AccountSid",
        "BundleSid",
        "Status",
        "FailureReason",
        "ValidUntil",
    ]
    assert cb.fields["bundle_sid"] == original
    assert cb.fields["status"] == "twilio-approved"
    assert cb.fields["failure_reason"] == ""
    assert cb.fields["valid_until"] == change["valid_until"]
    assert cb.verified(token)
    assert not cb.verified("another-token-" + "0" * 18)
    delivery = sim.admin.callbacks()["deliveries"][0]
    assert (delivery["shape"], delivery["method"], delivery["response_status"]) == (
        "get",
        "GET",
        200,
    )


@pytest.mark.parametrize(
    ("shape", "content_type"),
    [("post-form", "application/x-www-form-urlencoded"), ("post-json", "application/json")],
)
def test_the_config_knob_selects_a_post(
    sim: Sim, callback_receiver: CallbackReceiver, shape: str, content_type: str
) -> None:
    assert sim.set_config(callback_shape=shape)["callback_shape"] == shape
    cb, original, token, _ = regulation_change_callback(sim, callback_receiver)
    assert (cb.method, cb.headers["Content-Type"]) == ("POST", content_type)
    query = parse_qsl(urlsplit(cb.url).query, keep_blank_values=True)
    if shape == "post-json":
        # The guide's JSON object, snake_case; the URL carries its hash.
        document = json.loads(cb.body)
        assert document["bundle_sid"] == original
        assert set(document) == {
            "account_sid",
            "bundle_sid",
            "status",
            "failure_reason",
            "valid_until",
        }
        assert query == [("bodySHA256", hashlib.sha256(cb.body).hexdigest())]
    else:
        assert query == []
        assert cb.fields["bundle_sid"] == original
    assert cb.verified(token)
    assert sim.admin.callbacks()["deliveries"][0]["shape"] == shape


def test_an_unknown_shape_is_refused_and_the_config_stays(sim: Sim) -> None:
    answer = requests.put(
        f"{sim.base_url}/_sim/config", json={"callback_shape": "carrier-pigeon"}, timeout=10
    )
    assert answer.status_code == 400
    assert "callback_shape" in answer.text
    assert sim.admin.config()["callback_shape"] == "get"


@pytest.mark.parametrize("shape", ["get", "post-form", "post-json"])
def test_the_operator_s_checks_accept_every_shape_and_only_with_the_right_token(
    shape: str,
) -> None:
    """The simulator's requests (built by the same code that sends them) against the operator's
    pure parser and signature check, with a URL that already has a query of its own."""
    url = "https://renewals.example.com/hook?tenant=acme"
    params = {
        "account_sid": "AC" + "1" * 32,
        "bundle_sid": "BU" + "2" * 32,
        "status": "twilio-rejected",
        "failure_reason": "The K-bis is older than 3 months.",
    }
    request = build_request(shape, url, "token-" + "3" * 26, params)
    query = urlsplit(request.url).query
    callback = parse_callback(
        request.method, request.headers.get("Content-Type"), query, request.body
    )
    expected = {"get": Encoding.QUERY, "post-form": Encoding.FORM, "post-json": Encoding.JSON}
    assert callback.encoding is expected[shape]
    assert (callback.bundle_sid, callback.account_sid, callback.status) == (
        params["bundle_sid"],
        params["account_sid"],
        "twilio-rejected",
    )
    signature = request.headers["X-Twilio-Signature"]
    assert signature_valid("token-" + "3" * 26, request.url, callback, signature)
    assert not signature_valid("token-" + "4" * 26, request.url, callback, signature)
