"""Twilio status callbacks drive the operator (real API server, simulator, operator process).

Polling is set to 5 minutes, so anything that happens within seconds happened because a signed
callback from the simulator woke the resource; each shape Twilio may send (the simulator's
`callback_shape`: GET with the fields in the query, POST form, POST JSON) does. Refused
callbacks (tampered, unsigned, signed for another URL or by another account, malformed,
generated) get a 4xx and change nothing: the resource's status and resourceVersion stay, and
the account makes no Twilio request (its daemon was not woken); a genuine callback right after
(the field report's GET) shows the same check would have seen a wake-up.
"""

from __future__ import annotations

import collections
import hashlib
import json
import statistics
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.operator_runner import OperatorProcess
from tests.integration.operator_fixtures import OperatorFactory, Renewals
from tests.integration.scenario import (
    account_state,
    renewal_spec,
    requests_by_route,
    secret_data,
)
from tests.measurements import report
from tests.metrics_scrape import scrape, total, value
from tests.sim_fixtures import Sim, SimAccount
from twilio_sim.callbacks import build_request, sign
from twilio_sim.server import free_port

SPARSE_POLLING = {
    "POLL_INTERVAL_SECONDS": "300",
    "POLL_INTERVAL_MAX_SECONDS": "300",
    "LIGHT_CHECK_INTERVAL_SECONDS": "300",
}
PATH = "/twilio/bundle-status"
RENEWALS = 10


def webhook_operator(factory: OperatorFactory, **extra: str) -> tuple[OperatorProcess, str]:
    """A started operator with its receiver on a free loopback port; (process, callback URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = factory(
        **SPARSE_POLLING,
        WEBHOOK_PUBLIC_URL=base,
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
        WEBHOOK_PATH=PATH,
        **extra,
    )
    process.start()
    return process, base + PATH


def post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError) as exc:
        # The receiver may answer (413) and close before a large body is fully sent.
        raise AssertionError(f"no HTTP answer: {exc}") from exc


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


SHAPES = ["get", "post-form", "post-json"]
SHAPE_LABELS = {
    "get": ("GET", "query"),
    "post-form": ("POST", "form"),
    "post-json": ("POST", "json"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_review_decisions_reach_completed_within_a_second_through_callbacks(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, shape: str
) -> None:
    sim.set_config(callback_shape=shape)
    accounts: list[SimAccount] = []
    originals: list[str] = []
    for _ in range(RENEWALS):
        account = sim.new_account()
        accounts.append(account)
        originals.append(sim.seed_approved_bundle(account.sid, phone_numbers=1)["bundle_sid"])
    change = sim.change_regulation()
    assert set(originals) <= set(change["affected_bundle_sids"])
    operator, callback_url = webhook_operator(operator_factory)
    for i, (account, original) in enumerate(zip(accounts, originals, strict=True)):
        renewals.create_secret(secret_data(account), name=f"twilio-{i}")
        renewals.create(f"renewal-{i}", renewal_spec(original, secret_name=f"twilio-{i}"))

    statuses = {
        f"renewal-{i}": renewals.wait_for_phase(f"renewal-{i}", "Completed", timeout=60)
        for i in range(RENEWALS)
    }

    decisions = {d["bundle_sid"]: d for d in sim.state()["review_decisions"]}
    latencies = []
    for i, account in enumerate(accounts):
        copies = [
            b["sid"]
            for b in sim.store.accounts[account.sid].bundles.values()
            if b.copy_of == originals[i]
        ]
        assert copies == []  # deleted once its items moved
        status = statuses[f"renewal-{i}"]
        submitted = [sid for sid, d in decisions.items() if d["account_sid"] == account.sid]
        assert len(submitted) == 1, submitted
        decision = decisions[submitted[0]]
        assert decision["status"] == "twilio-approved"
        latency = (parse_time(status["completedAt"]) - parse_time(decision["at"])).total_seconds()
        assert latency > 0
        latencies.append(latency)
    # The copies were submitted with the receiver's URL (the simulator's delivery log); a late
    # callback for a copy already deleted is refused as unknown (404), never an error.
    delivered = [d for d in sim.admin.callbacks()["deliveries"] if d["url"] == callback_url]
    assert {d.get("response_status") for d in delivered} <= {204, 404}
    assert {d["bundle_sid"] for d in delivered if d["response_status"] == 204} >= set(decisions)
    assert {d["shape"] for d in delivered} == {shape}
    median, worst = statistics.median(latencies), max(latencies)
    report(
        f"webhook ({shape}): review decision -> status completedAt over {len(latencies)}"
        " renewals (polling every 300 s)",
        f"median {median:.3f} s, max {worst:.3f} s,"
        f" all: {', '.join(f'{x:.3f}' for x in sorted(latencies))}",
    )
    assert worst < 1.0
    # /metrics counts them as the shape they came in.
    callbacks = scrape(operator.metrics())["bundle_renewal_webhook_callbacks_total"]
    method, encoding = SHAPE_LABELS[shape]
    assert value(callbacks, code="204", reason="woken", method=method, encoding=encoding) >= (
        RENEWALS
    )
    assert total(callbacks, code="204") == total(
        callbacks, method=method, encoding=encoding, code="204"
    )
    assert operator.running


def quiet_in_review(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> tuple[SimAccount, str, str, str, OperatorProcess]:
    """A renewal waiting on a manual review; (account, copy SID, callback URL, resource name,
    the operator)."""
    sim.set_config(review={"mode": "manual"})
    account = sim.new_account()
    original = sim.seed_approved_bundle(account.sid, phone_numbers=1)["bundle_sid"]
    sim.change_regulation()
    operator, callback_url = webhook_operator(operator_factory)
    renewals.create_credentials(account)
    renewals.create("renewal", renewal_spec(original))
    status = renewals.wait_for(
        "renewal", lambda s: s.get("phase") == "InReview", "in review", timeout=60
    )
    copy_sid = status["copySid"]
    # Twilio's pending-review and in-review callbacks arrive and are answered; they report the
    # copy still in review, which the status already says, so they wake nobody (no poll).
    deadline = time.monotonic() + 60
    while {
        d["status"]
        for d in sim.admin.callbacks()["deliveries"]
        if d["bundle_sid"] == copy_sid and d.get("response_status") == 204
    } < {"pending-review", "in-review"}:
        assert time.monotonic() < deadline, "the review steps' callbacks were not delivered"
        time.sleep(0.2)
    return account, copy_sid, callback_url, "renewal", operator


def snapshot(sim: Sim, renewals: Renewals, account: SimAccount, name: str) -> Any:
    body = renewals.get(name)
    return (
        body["metadata"]["resourceVersion"],
        body.get("status"),
        sum(requests_by_route(sim, account.sid).values()),
    )


def settled_snapshot(sim: Sim, renewals: Renewals, account: SimAccount, name: str) -> Any:
    """Once two snapshots a second apart agree (the wake-ups of the review steps are over)."""
    previous = snapshot(sim, renewals, account, name)
    for _ in range(20):
        time.sleep(1.0)
        current = snapshot(sim, renewals, account, name)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the resource did not settle")


def test_refused_callbacks_change_nothing_and_wake_nobody(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    account, copy_sid, url, name, operator = quiet_in_review(sim, renewals, operator_factory)
    other = sim.new_account()
    before = settled_snapshot(sim, renewals, account, name)
    callbacks_before = scrape(operator.metrics())["bundle_renewal_webhook_callbacks_total"]
    # The review steps' callbacks were answered as no news: no wake-up, no poll.
    assert total(callbacks_before, code="204", reason="noted") >= 2
    assert total(callbacks_before, code="204", reason="woken") == 0

    params = {
        "account_sid": account.sid,
        "bundle_sid": copy_sid,
        "status": "twilio-approved",
        "failure_reason": "",
    }
    body = urlencode(params).encode()
    form = "application/x-www-form-urlencoded"
    genuine = sign(account.auth_token, url, params)
    json_body = json.dumps(params).encode()
    json_url = f"{url}?bodySHA256={hashlib.sha256(json_body).hexdigest()}"
    # As twilio/twilio-php#861 logged it: GET, bodySHA256 twice, PascalCase, no body.
    field_report = build_request("get", url, account.auth_token, params)
    cases: dict[str, tuple[str, bytes, dict[str, str], str]] = {
        "unsigned": (url, body, {"Content-Type": form}, "POST"),
        "tampered": (
            url,
            body.replace(b"approved", b"rejected"),
            {"Content-Type": form, "X-Twilio-Signature": genuine},
            "POST",
        ),
        "replayed-to-another-url": (
            url + "?replay=1",
            body,
            {"Content-Type": form, "X-Twilio-Signature": genuine},
            "POST",
        ),
        "signed-for-another-url": (
            url,
            body,
            {
                "Content-Type": form,
                "X-Twilio-Signature": sign(account.auth_token, "https://evil.example/x", params),
            },
            "POST",
        ),
        "account-b-signs-a-s-bundle": (
            url,
            body,
            {"Content-Type": form, "X-Twilio-Signature": sign(other.auth_token, url, params)},
            "POST",
        ),
        "account-b-signs-claiming-b": (
            url,
            urlencode({**params, "account_sid": other.sid}).encode(),
            {
                "Content-Type": form,
                "X-Twilio-Signature": sign(
                    other.auth_token, url, {**params, "account_sid": other.sid}
                ),
            },
            "POST",
        ),
        "json-tampered": (
            json_url,
            json_body.replace(b"approved", b"rejected"),
            {
                "Content-Type": "application/json",
                "X-Twilio-Signature": sign(account.auth_token, json_url, {}),
            },
            "POST",
        ),
        "malformed": (url, b"bundle_sid=%FF&&=", {"Content-Type": form}, "POST"),
        "not-a-callback": (url, b"<xml/>", {"Content-Type": "text/xml"}, "POST"),
        "oversized": (url, body + b"&x=" + b"y" * 40000, {"Content-Type": form}, "POST"),
        # The field report's GET, exactly, but signed with another account's token.
        "field-report-get-wrong-signature": (
            field_report.url,
            b"",
            {
                **field_report.headers,
                "X-Twilio-Signature": sign(other.auth_token, field_report.url, {}),
            },
            "GET",
        ),
        "get-with-a-body": (
            url,
            body,
            {"Content-Type": form, "X-Twilio-Signature": genuine},
            "GET",
        ),
        "put": (url, body, {"Content-Type": form, "X-Twilio-Signature": genuine}, "PUT"),
    }
    answers = {case: post(*request) for case, request in cases.items()}
    print("\nrefused callbacks:", answers)
    assert all(400 <= status < 500 for status in answers.values()), answers
    assert answers["unsigned"] == answers["tampered"] == 403
    assert answers["account-b-signs-a-s-bundle"] == 403
    assert answers["field-report-get-wrong-signature"] == 403
    assert answers["get-with-a-body"] == 400
    assert answers["put"] == 405

    generated: list[int] = []

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        extra=st.dictionaries(st.text(max_size=12), st.text(max_size=30), max_size=4),
        signature=st.sampled_from([genuine, ""]) | st.text(max_size=40),
        content_type=st.sampled_from([form, "application/json"]) | st.text(max_size=30),
        raw=st.one_of(st.none(), st.binary(max_size=500)),
        in_query=st.booleans(),
    )
    def generated_callback(
        extra: dict[str, str],
        signature: str,
        content_type: str,
        raw: bytes | None,
        in_query: bool,
    ) -> None:
        fields = urlencode({**params, **extra, "x-gen": "1"})
        headers = {"Content-Type": content_type, "X-Twilio-Signature": signature}
        headers = {k: v for k, v in headers.items() if v and v.isprintable() and v.isascii()}
        if in_query:  # a GET with the fields in its query, as Twilio's
            generated.append(post(f"{url}?{fields}", b"", headers, method="GET"))
        else:
            data = raw if raw is not None else fields.encode()
            generated.append(post(url, data, headers))

    generated_callback()
    assert generated
    assert all(400 <= status < 500 for status in generated), sorted(set(generated))
    print("generated callbacks by status:", sorted(collections.Counter(generated).items()))

    time.sleep(1.0)  # a woken daemon would have read Twilio by now
    assert snapshot(sim, renewals, account, name) == before
    assert account_state(sim, account.sid)["bundles"]  # (the account still exists)

    # Control: the field report's GET, signed with the account's token over the URL, is
    # accepted and wakes the daemon, which reads Twilio.
    assert post(field_report.url, b"", field_report.headers, method="GET") == 204
    deadline = time.monotonic() + 10
    while snapshot(sim, renewals, account, name)[2] == before[2]:
        assert time.monotonic() < deadline, "the genuine callback woke nothing"
        time.sleep(0.05)
    assert renewals.status(name)["phase"] == "InReview"  # its content was not believed

    # /metrics counts every answer by code, and names no SID, URL or token.
    exposition = operator.metrics()
    callbacks = scrape(exposition)["bundle_renewal_webhook_callbacks_total"]
    refused = collections.Counter([*answers.values(), *generated])
    for code, count in refused.items():
        answered = total(callbacks, code=str(code)) - total(callbacks_before, code=str(code))
        assert answered == count
    woken = total(callbacks, code="204", reason="woken")
    assert woken - total(callbacks_before, code="204", reason="woken") == 1
    # ... and counted as what it was: the field report's GET, fields in the query.
    assert value(callbacks, code="204", reason="woken", method="GET", encoding="query") == 1
    assert total(callbacks, code="403") - total(callbacks_before, code="403") >= 3
    assert total(callbacks, code="403", reason="no_signature") >= 1
    assert (
        value(
            callbacks, code="405", reason="method_not_allowed", method="other", encoding="unknown"
        )
        == 1
    )
    for secret in (account.auth_token, other.auth_token, account.sid, copy_sid, url):
        assert secret not in exposition


def current_regulation_spec(bundle_sid: str) -> dict[str, Any]:
    """A spec changing a field the seeded bundle's regulation has always had (and no document
    compares with the end-user's), so the renewal it starts is compliant."""
    spec = renewal_spec(bundle_sid)
    spec["endUser"] = {"attributes": {"business_registration_number": "RCS-Paris-552100554"}}
    del spec["supportingDocuments"]
    return spec


@pytest.mark.parametrize("shape", SHAPES)
def test_a_regulation_change_on_an_original_wakes_its_renewal_at_once(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory, shape: str
) -> None:
    sim.set_config(callback_shape=shape)
    account = sim.new_account()
    seeded = sim.seed_approved_bundle(account.sid, phone_numbers=1)
    original = seeded["bundle_sid"]
    seeded_name = sim.admin.bundle(original)["friendly_name"]
    _, url = webhook_operator(operator_factory, WEBHOOK_SET_CALLBACK_ON_ORIGINALS="true")
    renewals.create_credentials(account)
    # Names the regulation accepts as it stands (the preflight refuses fields it does not know
    # yet, such as those of renewal_spec before the default change is published).
    spec = current_regulation_spec(original)
    renewals.create("renewal", spec)
    first = renewals.wait_for_phase("renewal", "Completed", timeout=60)
    deadline = time.monotonic() + 20
    while sim.admin.bundle(original)["status_callback"] != url:
        assert time.monotonic() < deadline, "the original never got the callback URL"
        time.sleep(0.1)
    assert sim.admin.bundle(original)["friendly_name"] == seeded_name

    # The change requires an end-user field the original lacks: Twilio sets its valid_until.
    change = sim.change_regulation(
        end_user_fields=[{"machine_name": "vat_number", "friendly_name": "VAT Number"}]
    )
    assert original in change["affected_bundle_sids"]
    # The light check is 5 minutes away: only the callback can start the renewal this soon.
    started = renewals.wait_for(
        "renewal",
        lambda s: s.get("copySid") is not None and s.get("phase") == "NeedsInput",
        "renewing (and asking for the new field)",
        timeout=10,
    )
    failures = (started.get("evaluation") or {}).get("failures") or []
    assert any(f.get("field") == "vat_number" for f in failures), failures
    # It came as the configured shape, and the receiver took it.
    news = [
        d
        for d in sim.admin.callbacks()["deliveries"]
        if d["bundle_sid"] == original and d["valid_until"] == change["valid_until"]
    ]
    assert [(d["shape"], d.get("response_status")) for d in news] == [(shape, 204)]
    spec["endUser"]["attributes"]["vat_number"] = "FR-VAT-0001"
    renewals.patch_spec("renewal", spec)
    status = renewals.wait_for(
        "renewal",
        lambda s: (
            s.get("phase") == "Completed" and s.get("completedAt") != first.get("completedAt")
        ),
        "renewed again",
        timeout=20,
    )
    assert sim.admin.bundle(original)["valid_until"] is None
    assert parse_time(status["completedAt"]) > parse_time(first["completedAt"])


def test_without_the_setting_originals_keep_their_status_callback(
    sim: Sim, renewals: Renewals, operator_factory: OperatorFactory
) -> None:
    account = sim.new_account()
    original = sim.seed_approved_bundle(account.sid, phone_numbers=1)["bundle_sid"]
    sim.change_regulation()
    webhook_operator(operator_factory)
    renewals.create_credentials(account)
    renewals.create("renewal", renewal_spec(original))
    renewals.wait_for_phase("renewal", "Completed", timeout=60)
    assert sim.admin.bundle(original)["status_callback"] is None
