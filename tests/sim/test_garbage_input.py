"""Property: whatever garbage a client sends, the simulator answers a Twilio error (never a 500),
and a refused request changes nothing."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sim_fixtures import Sim

RC = "/v2/RegulatoryCompliance"
PARAMS = [
    "FriendlyName",
    "Email",
    "Status",
    "StatusCallback",
    "RegulationSid",
    "Type",
    "Attributes",
    "ObjectSid",
    "FromBundleSid",
    "IsTest",
    "PageSize",
    "Page",
    "PageToken",
    "HasValidUntilDate",
    "SortBy",
    "ValidUntilDate<",
    "IsoCountry",
    "EndUserType",
]
TEMPLATES = [
    "/Bundles",
    "/Bundles/{a}",
    "/Bundles/{a}/Copies",
    "/Bundles/{a}/Evaluations",
    "/Bundles/{a}/Evaluations/{b}",
    "/Bundles/{a}/ItemAssignments",
    "/Bundles/{a}/ItemAssignments/{b}",
    "/Bundles/{a}/ReplaceItems",
    "/EndUsers",
    "/EndUsers/{a}",
    "/SupportingDocuments",
    "/SupportingDocuments/{a}",
    "/Regulations/{a}",
    "/EndUserTypes/{a}",
    "/SupportingDocumentTypes/{a}",
]

sid_like = st.one_of(
    st.sampled_from(["@bundle", "@end_user", "@document"]),  # the seeded account's real SIDs
    st.builds(
        lambda p, h: p + h,
        st.sampled_from(["BU", "IT", "RD", "BV", "EL", "RN", "OY", "XX"]),
        st.text("0123456789abcdef", min_size=30, max_size=34),
    ),
    st.text(st.characters(codec="utf-8", exclude_characters="/?#%"), min_size=1, max_size=40),
)
values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "@bundle",
            "@end_user",
            "@document",
            "pending-review",
            "twilio-approved",
            "{",
            "[]",
            "{}",
            '{"a": 1}',
            "true",
            "-1",
            "0",
            "1001",
            "BU" + "0" * 32,
            "http://",
            "business",
        ]
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    template=st.sampled_from(TEMPLATES),
    first=sid_like,
    second=sid_like,
    form=st.dictionaries(
        st.one_of(st.sampled_from(PARAMS), st.text(max_size=10)), values, max_size=5
    ),
    as_query=st.booleans(),
)
def test_garbage_never_breaks_the_simulator(
    sim: Sim,
    method: str,
    template: str,
    first: str,
    second: str,
    form: dict[str, str],
    as_query: bool,
) -> None:
    accounts = sim.store.accounts
    if not accounts:
        account = sim.new_account()
        sim.seed_approved_bundle(account.sid)
    account_sid, account = next(iter(accounts.items()))
    real = {
        "@bundle": next(iter(account.bundles)),
        "@end_user": next(iter(account.end_users)),
        "@document": next(iter(account.documents)),
    }
    before = json.dumps(sim.state()["accounts"], sort_keys=True)
    path = RC + template.format(a=real.get(first, first), b=real.get(second, second))
    form = {k: real.get(v, v) for k, v in form.items()}
    resp = requests.request(
        method,
        sim.base_url + path,
        params=form if as_query or method != "POST" else None,
        data=form if method == "POST" and not as_query else None,
        auth=(account_sid, account.auth_token),
        timeout=10,
    )
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        body = resp.json()
        assert set(body) == {"code", "message", "more_info", "status"}
        assert body["status"] == resp.status_code
        assert json.dumps(sim.state()["accounts"], sort_keys=True) == before


def test_a_client_gone_in_the_middle_of_its_body_is_no_error(
    sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    """A killed operator cuts its request short: the simulator logs no error, carries nothing
    out, and serves the next request."""
    account = sim.new_account()
    bundle_sid = sim.seed_approved_bundle(account.sid)["bundle_sid"]
    host, port = urlsplit(sim.base_url).hostname, urlsplit(sim.base_url).port
    assert host is not None
    assert port is not None
    total = sim.stats()["total"]
    token = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
    with caplog.at_level(logging.DEBUG, logger="twilio_sim"):
        with socket.create_connection((host, port)) as conn:
            conn.sendall(
                f"POST {RC}/Bundles/{bundle_sid}/Copies HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Basic {token}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 100\r\n\r\nFriendlyName=cut".encode()
            )
        time.sleep(0.3)  # the server reads, finds the connection gone
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "client went away" in caplog.text  # it did read the request, and let it go
    assert sim.stats()["total"] == total  # not carried out, not counted
    bundles = sim.client(account).numbers.v2.regulatory_compliance.bundles
    assert bundles(bundle_sid).bundle_copies.list() == []
