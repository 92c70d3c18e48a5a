"""The status-callback receiver over HTTP (aiohttp's test server, in-memory index and Secrets):
what it answers, whom it wakes, and that nothing it refuses wakes anyone or answers 5xx."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import kubernetes.client
import pytest
import yarl
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.adapters.cluster import ClusterAccessError, ClusterClient, ObjectNotFound
from controller.core.bundle_owners import BundleOwner, BundleOwners
from controller.core.models import BundleRenewalStatus, Phase
from controller.core.settings import OperatorSettings
from controller.core.twilio_models import Bundle, BundleStatus
from controller.engine.original_callback import register_on_original
from controller.inbound.webhook import CallbackReceiver, CallbackTokens
from controller.operator.runtime import Runtime
from twilio_sim.callbacks import CallbackRequest, build_request, sign

PUBLIC = "https://renewals.example.com"
PATH = "/twilio/bundle-status"
URL = PUBLIC + PATH
ACCOUNT_A, TOKEN_A = "AC" + "a" * 32, "token-of-account-a-" + "1" * 8
ACCOUNT_B, TOKEN_B = "AC" + "b" * 32, "token-of-account-b-" + "2" * 8
BUNDLE_A = "BU" + "a" * 32
COPY_A = "BU" + "c" * 32
BUNDLE_B = "BU" + "b" * 32
OWNER_A = BundleOwner("uid-a", "team-a", "renewal-a", "twilio")
OWNER_B = BundleOwner("uid-b", "team-b", "renewal-b", "twilio")
FORM = "application/x-www-form-urlencoded"


class Secrets:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, bytes]] = {
            ("team-a", "twilio"): {"accountSid": ACCOUNT_A.encode(), "authToken": TOKEN_A.encode()},
            ("team-b", "twilio"): {"accountSid": ACCOUNT_B.encode(), "authToken": TOKEN_B.encode()},
        }
        self.reads = 0
        self.failure: Exception | None = None

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        try:
            return self.data[(namespace, name)]
        except KeyError:
            raise ObjectNotFound("Secret", namespace, name) from None


class Harness:
    def __init__(
        self,
        client: TestClient[Any, Any],
        secrets: Secrets,
        woken: list[str],
        answers: list[tuple[int, str]],
        shapes: list[tuple[str, str]] | None = None,
    ):
        self.client = client
        self.secrets = secrets
        self.woken = woken
        self.answers = answers  # (status, reason keyword) as the metrics get them
        self.shapes = shapes if shapes is not None else []  # (method, encoding) of each answer

    async def send(self, request: CallbackRequest) -> int:
        """A request the simulator built for URL: its path and query, exactly as built (the
        test client would re-quote them), go to the test server."""
        parts = urlsplit(request.url)
        root = str(self.client.make_url("/")).rstrip("/")
        target = yarl.URL(f"{root}{parts.path}?{parts.query}", encoded=True)
        async with self.client.session.request(
            request.method, target, data=request.body or None, headers=request.headers
        ) as resp:
            await resp.read()
            return resp.status

    async def post(
        self, body: bytes, headers: dict[str, str], path: str = PATH, method: str = "POST"
    ) -> int:
        async with self.client.request(method, path, data=body, headers=headers) as resp:
            await resp.read()
            return resp.status

    async def form(
        self,
        params: dict[str, str],
        *,
        token: str = TOKEN_A,
        url: str = URL,
        extra: dict[str, str] | None = None,
        path: str = PATH,
    ) -> int:
        headers = {"Content-Type": FORM, "X-Twilio-Signature": sign(token, url, params)}
        return await self.post(urlencode(params).encode(), {**headers, **(extra or {})}, path)


def callback(bundle_sid: str = BUNDLE_A, account_sid: str = ACCOUNT_A) -> dict[str, str]:
    return {
        "account_sid": account_sid,
        "bundle_sid": bundle_sid,
        "status": "twilio-approved",
        "failure_reason": "",
    }


def make_settings(**overrides: Any) -> OperatorSettings:
    values: dict[str, Any] = {"webhook_public_url": PUBLIC, "webhook_path": PATH, **overrides}
    return OperatorSettings(**values)


@pytest.fixture
def build() -> Callable[..., Any]:
    """An async context factory: a receiver with owners A (original + copy) and B."""

    def factory(**overrides: Any) -> Any:
        return _harness(make_settings(**overrides))

    return factory


class _harness:
    def __init__(self, settings: OperatorSettings):
        self.settings = settings

    async def __aenter__(self) -> Harness:
        owners = BundleOwners()
        owners.track(OWNER_A, [BUNDLE_A, COPY_A])
        owners.track(OWNER_B, [BUNDLE_B])
        self.secrets = Secrets()
        woken: list[str] = []
        answers: list[tuple[int, str]] = []
        shapes: list[tuple[str, str]] = []

        def record(status: int, reason: str, method: str, encoding: str) -> None:
            answers.append((status, reason))
            shapes.append((method, encoding))

        receiver = CallbackReceiver(
            self.settings,
            owners,
            CallbackTokens(self.secrets, self.settings.webhook_token_cache_seconds),
            wake=lambda owner, sid: woken.append(owner.uid),
            record=record,
        )
        self.client: TestClient[Any, Any] = TestClient(TestServer(receiver.application()))
        await self.client.start_server()
        return Harness(self.client, self.secrets, woken, answers, shapes)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


@pytest.fixture
async def hook(build: Callable[..., Any]) -> AsyncIterator[Harness]:
    async with build() as harness:
        yield harness


async def test_a_signed_form_callback_wakes_the_owner_of_the_original_or_the_copy(
    hook: Harness,
) -> None:
    assert await hook.form(callback()) == 204
    assert await hook.form(callback(COPY_A)) == 204
    assert await hook.form({"bundle_sid": BUNDLE_B, "status": "in-review"}, token=TOKEN_B) == 204
    assert hook.woken == ["uid-a", "uid-a", "uid-b"]
    assert hook.answers == [(204, "woken")] * 3


async def test_a_signed_json_callback_wakes_the_owner(hook: Harness) -> None:
    body = json.dumps(callback()).encode()
    query = "bodySHA256=" + hashlib.sha256(body).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Signature": sign(TOKEN_A, f"{URL}?{query}", {}),
    }
    assert await hook.post(body, headers, path=f"{PATH}?{query}") == 204
    assert (
        await hook.post(body.replace(b"approved", b"rejected"), headers, f"{PATH}?{query}") == 403
    )
    assert await hook.post(body, headers) == 403  # no body hash in the URL
    assert hook.woken == ["uid-a"]


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def field_report_path(bundle_sid: str = BUNDLE_A, status: str = "pending-review") -> str:
    """The request line's target as twilio/twilio-php#861 logged it: bodySHA256 twice,
    PascalCase fields, a blank FailureReason."""
    return (
        f"{PATH}?bodySHA256={EMPTY_SHA256}&bodySHA256={EMPTY_SHA256}&AccountSid={ACCOUNT_A}"
        f"&BundleSid={bundle_sid}&Status={status}&FailureReason="
    )


async def test_the_field_report_s_get_wakes_the_owner_and_a_wrong_signature_wakes_nobody(
    hook: Harness,
) -> None:
    path = field_report_path()
    headers = {
        "User-Agent": "TwilioProxy/1.1",
        "X-Twilio-Signature": sign(TOKEN_A, PUBLIC + path, {}),
    }
    assert await hook.post(b"", headers, path=path, method="GET") == 204
    assert hook.woken == ["uid-a"]
    wrong = {**headers, "X-Twilio-Signature": sign(TOKEN_B, PUBLIC + path, {})}
    assert await hook.post(b"", wrong, path=path, method="GET") == 403
    # Signed as the reporter's validator expected (the query as POSTed parameters): refused.
    params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
    mixed = {**headers, "X-Twilio-Signature": sign(TOKEN_A, PUBLIC + path, params)}
    assert await hook.post(b"", mixed, path=path, method="GET") == 403
    assert hook.woken == ["uid-a"]
    assert hook.answers == [(204, "woken"), (403, "not_verified"), (403, "not_verified")]
    assert hook.shapes == [("GET", "query")] * 3


@pytest.mark.parametrize(
    ("shape", "method", "encoding"),
    [("get", "GET", "query"), ("post-form", "POST", "form"), ("post-json", "POST", "json")],
)
async def test_each_shape_the_simulator_sends_wakes_the_owner_and_is_counted_as_itself(
    hook: Harness, shape: Any, method: str, encoding: str
) -> None:
    params = {**callback(), "valid_until": "2027-01-31T00:00:00Z"}
    assert await hook.send(build_request(shape, URL, TOKEN_A, params)) == 204
    assert await hook.send(build_request(shape, URL, TOKEN_B, params)) == 403
    other = build_request(
        shape, URL, TOKEN_B, {**params, "bundle_sid": BUNDLE_B, "account_sid": ACCOUNT_B}
    )
    assert await hook.send(other) == 204
    assert hook.woken == ["uid-a", "uid-b"]
    assert hook.answers == [(204, "woken"), (403, "not_verified"), (204, "woken")]
    assert hook.shapes == [(method, encoding)] * 3


async def test_a_post_with_the_fields_in_its_query_and_no_body_is_accepted(hook: Harness) -> None:
    path = field_report_path(status="twilio-approved")
    headers = {"Content-Type": FORM, "X-Twilio-Signature": sign(TOKEN_A, PUBLIC + path, {})}
    assert await hook.post(b"", headers, path=path) == 204
    assert hook.shapes == [("POST", "query")]


async def test_a_method_neither_get_nor_post_is_told_which_are_allowed(hook: Harness) -> None:
    async with hook.client.request("PATCH", field_report_path()) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "GET, POST"
    assert hook.shapes == [("other", "unknown")]


async def test_a_callback_for_account_a_signed_with_account_b_s_token_is_refused(
    hook: Harness,
) -> None:
    assert await hook.form(callback(), token=TOKEN_B) == 403
    # The body naming account B changes nothing: A's token is the one that must verify.
    assert await hook.form(callback(account_sid=ACCOUNT_B), token=TOKEN_B) == 403
    # Signed with A's token, but the body claims another account: refused too.
    assert await hook.form(callback(account_sid=ACCOUNT_B), token=TOKEN_A) == 403
    assert hook.woken == []


@pytest.mark.parametrize(
    ("case", "expected", "reason"),
    [
        ("unknown-bundle", 404, "unknown_bundle"),
        ("unsigned", 403, "no_signature"),
        ("tampered", 403, "not_verified"),
        ("signed-for-another-url", 403, "not_verified"),
        ("signed-for-http", 403, "not_verified"),
        ("get-with-a-body", 400, "malformed"),
        ("get-unsigned", 403, "no_signature"),
        ("put", 405, "method_not_allowed"),
        ("head", 405, "method_not_allowed"),
        ("text-plain", 415, "unsupported_media_type"),
        ("no-content-type", 415, "unsupported_media_type"),
        ("malformed-form", 400, "malformed"),
        ("no-bundle", 400, "malformed"),
        ("json-array", 400, "malformed"),
        ("oversized", 413, "body_too_large"),
        ("oversized-chunked", 413, "body_too_large"),
        ("other-path", 404, None),  # aiohttp's router answers: not the receiver's to count
    ],
)
async def test_refusals(hook: Harness, case: str, expected: int, reason: str | None) -> None:
    params = callback()
    signed = {"Content-Type": FORM, "X-Twilio-Signature": sign(TOKEN_A, URL, params)}
    body = urlencode(params).encode()
    if case == "unknown-bundle":
        status = await hook.form(callback("BU" + "f" * 32))
    elif case == "unsigned":
        status = await hook.post(body, {"Content-Type": FORM})
    elif case == "tampered":
        status = await hook.post(body.replace(b"approved", b"rejected"), signed)
    elif case == "signed-for-another-url":
        status = await hook.form(params, url="https://elsewhere.example/twilio/bundle-status")
    elif case == "signed-for-http":
        status = await hook.form(params, url=URL.replace("https", "http"))
    elif case == "get-with-a-body":
        status = await hook.post(body, signed, method="GET")
    elif case == "get-unsigned":
        status = await hook.post(b"", {}, path=f"{PATH}?{urlencode(params)}", method="GET")
    elif case in ("put", "head"):
        status = await hook.post(body, signed, method=case.upper())
    elif case == "text-plain":
        status = await hook.post(body, {**signed, "Content-Type": "text/plain"})
    elif case == "no-content-type":
        status = await hook.post(body, {"X-Twilio-Signature": signed["X-Twilio-Signature"]})
    elif case == "malformed-form":
        status = await hook.post(b"bundle_sid=%FF%FF", signed)
    elif case == "no-bundle":
        status = await hook.post(b"status=twilio-approved", signed)
    elif case == "json-array":
        status = await hook.post(b"[]", {**signed, "Content-Type": "application/json"})
    elif case == "oversized":
        status = await hook.post(body + b"&pad=" + b"x" * 20000, signed)
    elif case == "oversized-chunked":

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"x" * 1000

        async with hook.client.post(PATH, data=chunks(), headers=signed) as resp:
            status = resp.status
    else:
        status = await hook.form(params, path="/twilio/other")
    assert status == expected
    assert hook.woken == []
    assert hook.answers == ([] if reason is None else [(expected, reason)])


async def test_forwarded_headers_choose_the_signed_url_only_when_trusted(
    build: Callable[..., Any],
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "alias.example.com"}
    alias_url = "https://alias.example.com" + PATH
    async with build() as hook:
        assert await hook.form(callback(), url=alias_url, extra=forwarded) == 403
        assert await hook.form(callback(), extra=forwarded) == 204
    async with build(webhook_trust_forwarded_headers=True) as hook:
        assert await hook.form(callback(), url=alias_url, extra=forwarded) == 204
        assert await hook.form(callback(), extra=forwarded) == 403
        assert await hook.form(callback()) == 204  # no headers: the configured URL


async def test_a_public_url_with_a_path_prefix(build: Callable[..., Any]) -> None:
    async with build(webhook_public_url="https://ops.example.com/renewals") as hook:
        assert await hook.form(callback(), url="https://ops.example.com/renewals" + PATH) == 204
        assert await hook.form(callback()) == 403


async def test_unreadable_or_tokenless_secrets_refuse_without_5xx_except_api_outage(
    hook: Harness,
) -> None:
    hook.secrets.data[("team-a", "twilio")] = {
        "accountSid": ACCOUNT_A.encode(),
        "apiKeySid": ("SK" + "1" * 32).encode(),
        "apiKeySecret": b"key-secret",
    }
    assert await hook.form(callback()) == 403  # API key only: nothing to verify with
    hook.secrets.data[("team-a", "twilio")]["callbackAuthToken"] = TOKEN_A.encode()
    assert await hook.form(callback(COPY_A)) == 403  # the refusal is cached for a while
    assert hook.woken == []


async def test_callback_auth_token_verifies_for_api_key_secrets(build: Callable[..., Any]) -> None:
    async with build(webhook_token_cache_seconds=0) as hook:
        hook.secrets.data[("team-a", "twilio")] = {
            "accountSid": ACCOUNT_A.encode(),
            "apiKeySid": ("SK" + "1" * 32).encode(),
            "apiKeySecret": b"key-secret",
            "callbackAuthToken": TOKEN_A.encode(),
        }
        assert await hook.form(callback()) == 204
        del hook.secrets.data[("team-a", "twilio")]
        assert await hook.form(callback()) == 403  # Secret gone
        hook.secrets.failure = ClusterAccessError("reading Secret", 500, "Internal")
        assert await hook.form(callback()) == 503
        hook.secrets.failure = ClusterAccessError("reading Secret", 403, "Forbidden")
        assert await hook.form(callback()) == 403
        assert hook.woken == ["uid-a"]
        assert hook.answers == [
            (204, "woken"),
            (403, "not_verified"),
            (503, "credentials_unavailable"),
            (403, "not_verified"),
        ]


async def test_an_unreachable_api_server_answers_503(unused_tcp_port: int) -> None:
    """The real ClusterClient, whose API server refuses connections: the Secret cannot be read
    because the API server fails, so 503 (Twilio retries), not 400 or 403."""
    configuration = kubernetes.client.Configuration()
    configuration.host = f"http://127.0.0.1:{unused_tcp_port}"
    cluster = ClusterClient(configuration)
    owners = BundleOwners()
    owners.track(OWNER_A, [BUNDLE_A])
    settings = make_settings()
    woken: list[str] = []
    receiver = CallbackReceiver(
        settings,
        owners,
        CallbackTokens(cluster, settings.webhook_token_cache_seconds),
        wake=lambda owner, sid: woken.append(owner.uid),
    )
    async with TestClient(TestServer(receiver.application())) as client:
        harness = Harness(client, Secrets(), woken, [])
        try:
            assert await harness.form(callback()) == 503
        finally:
            cluster.close()
    assert woken == []


async def test_tokens_are_cached_per_secret(hook: Harness) -> None:
    for _ in range(5):
        assert await hook.form(callback()) == 204
    assert hook.secrets.reads == 1


async def test_only_owners_whose_token_verifies_are_woken() -> None:
    owners = BundleOwners()
    owners.track(OWNER_A, [BUNDLE_A])
    owners.track(OWNER_B, [BUNDLE_A])  # account B's resource names A's bundle
    woken: list[str] = []
    receiver = CallbackReceiver(
        make_settings(),
        owners,
        CallbackTokens(Secrets(), 30.0),
        wake=lambda o, sid: woken.append(o.uid),
    )
    params = {"bundle_sid": BUNDLE_A, "status": "twilio-approved"}  # no account in the body
    async with TestClient(TestServer(receiver.application())) as client:
        for token in (TOKEN_A, TOKEN_B, "token-of-nobody"):
            headers = {"Content-Type": FORM, "X-Twilio-Signature": sign(token, URL, params)}
            async with client.post(PATH, data=urlencode(params), headers=headers) as resp:
                assert resp.status == (403 if token == "token-of-nobody" else 204)
            woken.append("|")
    # A's signature wakes A only; B's wakes B only (whose daemon then reads with B's credentials).
    assert woken == ["uid-a", "|", "uid-b", "|", "|"]


async def test_refusals_log_no_secret_or_body(
    hook: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="controller.inbound.webhook")
    params = {**callback(), "failure_reason": "Personal-Value-4242"}
    assert await hook.form(params, token=TOKEN_B) == 403
    assert await hook.form(params) == 204
    text = caplog.text
    assert "refused" in text
    assert BUNDLE_A in text
    for secret in (TOKEN_A, TOKEN_B, "Personal-Value-4242", sign(TOKEN_B, URL, params)):
        assert secret not in text


# A real signature, of a callback the generated bodies can never equal (values over 20 chars).
GENUINE = {"bundle_sid": BUNDLE_A, "status": "twilio-approved-by-the-reviewers-of-team-x"}
GENUINE_SIGNATURES = [sign(TOKEN_A, URL, GENUINE), sign(TOKEN_B, URL, GENUINE)]

printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
content_types = (
    st.sampled_from([FORM, FORM, FORM, "application/json", "application/json", "text/plain", None])
    | printable
)
signatures = st.sampled_from([*GENUINE_SIGNATURES, None]) | printable
other_headers = st.dictionaries(
    st.sampled_from(
        [
            "X-Twilio-Webhooks-Signature-Settings",
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "Content-Encoding",
            "Transfer-Encoding",
        ]
    ),
    st.sampled_from(["gzip", "https", "algorithm=HMAC_SHA256", "alias.example.com"]) | printable,
)


def bodies() -> st.SearchStrategy[bytes]:
    known = st.sampled_from([BUNDLE_A, COPY_A, BUNDLE_B, "BU" + "9" * 32])
    extras = st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5)
    form_like = st.builds(
        lambda sid, extra: urlencode({**extra, "bundle_sid": sid}).encode(), known, extras
    )
    json_like = st.builds(
        lambda sid, extra: json.dumps({**extra, "bundle_sid": sid}).encode(), known, extras
    )
    return st.one_of(form_like, json_like, st.binary(max_size=2000))


async def test_generated_requests_are_refused_with_4xx_and_wake_nobody(hook: Harness) -> None:
    statuses: list[int] = []

    @settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        body=bodies(),
        content_type=content_types,
        signature=signatures,
        headers=other_headers,
        method=st.sampled_from(["POST"] * 6 + ["GET", "GET", "PUT", "DELETE", "get"]),
        query=st.sampled_from(
            [
                "",
                "",
                "?bodySHA256=00",
                "?a=b",
                f"?bodySHA256={EMPTY_SHA256}&bodySHA256={EMPTY_SHA256}&BundleSid={BUNDLE_A}",
                f"?BundleSid={BUNDLE_A}&Status=%FF",
                f"?BundleSid={COPY_A}&BundleSid={COPY_A}",
            ]
        ),
    )
    def one(
        body: bytes,
        content_type: str | None,
        signature: str | None,
        headers: dict[str, str],
        method: str,
        query: str,
    ) -> None:
        headers = dict(headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        future = asyncio.run_coroutine_threadsafe(
            hook.post(body, headers, path=PATH + query, method=method), loop
        )
        statuses.append(future.result(timeout=10))

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(one)
    counts = collections.Counter(statuses)
    print("generated requests by status:", sorted(counts.items()))
    assert all(400 <= s < 500 for s in statuses), sorted(counts)
    # The corpus reaches every stage of the checks, signature verification included.
    assert {400, 403, 404, 405, 415} <= set(counts)
    assert hook.woken == []


# --- the opt-in StatusCallback on originals ---------------------------------------------------


class RecordingGateway:
    def __init__(self) -> None:
        self.updates: list[tuple[str, str]] = []

    async def set_status_callback(self, sid: str, status_callback: str) -> Bundle:
        self.updates.append((sid, status_callback))
        return Bundle(sid=sid, status=BundleStatus.TWILIO_APPROVED, status_callback=status_callback)


@pytest.mark.parametrize(
    ("current", "status", "expected"),
    [
        (None, BundleStatus.TWILIO_APPROVED, True),
        ("", BundleStatus.TWILIO_APPROVED, True),
        (URL, BundleStatus.TWILIO_APPROVED, False),
        ("https://customer.example/their-hook", BundleStatus.TWILIO_APPROVED, False),
        (None, BundleStatus.IN_REVIEW, False),
    ],
)
async def test_original_gets_our_callback_only_when_it_has_none(
    current: str | None, status: BundleStatus, expected: bool
) -> None:
    gateway = RecordingGateway()
    original = Bundle(sid=BUNDLE_A, status=status, status_callback=current)
    done = await register_on_original(cast(Any, gateway), original, URL, logging.getLogger("t"))
    assert done is expected
    assert gateway.updates == ([(BUNDLE_A, URL)] if expected else [])


async def test_a_callback_reporting_the_copy_still_in_review_wakes_nobody() -> None:
    """Twilio calls back at pending-review and in-review before its decision: for a resource
    whose written status already has that copy in review, waking it would only cost a poll.
    The decision (and anything about another bundle, or a resource not in review) wakes it."""
    runtime = Runtime(make_settings())
    owners = runtime.owners
    owners.track(OWNER_A, [BUNDLE_A, COPY_A])
    secrets = Secrets()
    woken: list[str] = []
    answers: list[tuple[int, str]] = []
    receiver = CallbackReceiver(
        runtime.settings,
        owners,
        CallbackTokens(secrets, 30.0),
        wake=lambda owner, sid: woken.append(owner.uid),
        record=lambda status, reason, method, encoding: answers.append((status, reason)),
        wanted=runtime.callback_wanted,
    )
    reviewing = BundleRenewalStatus(phase=Phase.IN_REVIEW, copy_sid=COPY_A)
    async with TestClient(TestServer(receiver.application())) as client:
        hook = Harness(client, secrets, woken, answers)
        runtime.status_written(OWNER_A, BUNDLE_A, BundleRenewalStatus(), reviewing)
        for status in ("pending-review", "in-review"):
            assert await hook.form({**callback(COPY_A), "status": status}) == 204
        assert woken == []
        assert answers == [(204, "noted")] * 2
        # Submitting it (decided, not written yet: the callback can beat the status write).
        runtime.noted(OWNER_A, BUNDLE_A, reviewing.model_copy(update={"phase": Phase.IN_PROGRESS}))
        assert await hook.form({**callback(COPY_A), "status": "pending-review"}) == 204
        assert woken == []
        assert await hook.form(callback(COPY_A)) == 204  # twilio-approved: the decision
        assert await hook.form({**callback(BUNDLE_A), "status": "in-review"}) == 204
        assert await hook.form({**callback(COPY_A), "status": "twilio-rejected"}) == 204
        # A forged one is still refused before any of this.
        assert await hook.form({**callback(COPY_A), "status": "in-review"}, token="x" * 32) == 403
    assert woken == ["uid-a"] * 3
