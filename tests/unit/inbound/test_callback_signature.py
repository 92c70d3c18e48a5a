"""The pure callback checks: the URL Twilio signed, body parsing, and signatures of both schemes
(signatures made independently of the code under test: an HMAC computed here, or the simulator's
signer)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.inbound.callback_signature import (
    BUNDLE_SID,
    BodyFormat,
    CallbackError,
    Encoding,
    MalformedCallback,
    MethodNotAllowed,
    ParsedCallback,
    UnsupportedMediaType,
    body_format,
    parse_callback,
    signature_valid,
    signed_url,
)

TOKEN = "auth-token-" + "a1" * 8
OTHER_TOKEN = "auth-token-" + "b2" * 8
BUNDLE = "BU" + "0123456789abcdef" * 2
ACCOUNT = "AC" + "fedcba9876543210" * 2
URL = "https://renewals.example.com/twilio/bundle-status"
FORM = "application/x-www-form-urlencoded"


def hmac_sha1(token: str, text: str) -> str:
    digest = hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def form_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented form scheme: URL + each name and value, names sorted."""
    return hmac_sha1(token, url + "".join(k + params[k] for k in sorted(params)))


def form_body(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()


PARAMS = {
    "account_sid": ACCOUNT,
    "bundle_sid": BUNDLE,
    "status": "twilio-approved",
    "failure_reason": "",
}


# --- the URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "query", "expected"),
    [
        ("https://renewals.example.com", "/twilio/bundle-status", "", URL),
        ("https://renewals.example.com/", "/twilio/bundle-status", "", URL),
        (
            "https://ops.example.com/renewals/",
            "/twilio/bundle-status",
            "",
            "https://ops.example.com/renewals/twilio/bundle-status",
        ),
        (
            "http://127.0.0.1:8081",
            "/hook",
            "bodySHA256=ab%20cd&x=1",
            "http://127.0.0.1:8081/hook?bodySHA256=ab%20cd&x=1",
        ),
    ],
)
def test_signed_url_is_public_base_path_and_raw_query(
    base: str, path: str, query: str, expected: str
) -> None:
    assert signed_url(base, path, query, trust_forwarded=False) == expected


def test_forwarded_headers_are_ignored_unless_trusted() -> None:
    kwargs = {"forwarded_proto": "http", "forwarded_host": "attacker.example"}
    base = "https://renewals.example.com"
    assert signed_url(base, "/hook", "", trust_forwarded=False, **kwargs) == (
        "https://renewals.example.com/hook"
    )
    assert signed_url(base, "/hook", "", trust_forwarded=True, **kwargs) == (
        "http://attacker.example/hook"
    )


@pytest.mark.parametrize(
    ("proto", "host", "expected"),
    [
        ("https, http", "public.example:8443, internal", "https://public.example:8443/hook"),
        ("ftp", "public.example", "https://public.example/hook"),
        (None, None, "https://renewals.example.com/hook"),
        ("HTTP", "bad host/with/path", "http://renewals.example.com/hook"),
        ("https", "[2001:db8::1]:443", "https://[2001:db8::1]:443/hook"),
    ],
)
def test_trusted_forwarded_headers_take_the_first_well_formed_value(
    proto: str | None, host: str | None, expected: str
) -> None:
    url = signed_url(
        "https://renewals.example.com",
        "/hook",
        "",
        trust_forwarded=True,
        forwarded_proto=proto,
        forwarded_host=host,
    )
    assert url == expected


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (FORM, BodyFormat.FORM),
        ("Application/X-WWW-Form-Urlencoded; charset=utf-8", BodyFormat.FORM),
        ("application/json", BodyFormat.JSON),
        ("application/json; charset=UTF-8", BodyFormat.JSON),
        ("application/vnd.twilio+json", BodyFormat.JSON),
        ("text/plain", None),
        ("multipart/form-data; boundary=x", None),
        (None, None),
        ("", None),
    ],
)
def test_body_format_by_media_type(content_type: str | None, expected: BodyFormat | None) -> None:
    assert body_format(content_type) is expected


def test_form_and_json_bodies_name_their_bundle() -> None:
    form = parse_callback("POST", FORM, "", form_body(PARAMS))
    assert (form.encoding, form.bundle_sid, form.account_sid) == (Encoding.FORM, BUNDLE, ACCOUNT)
    assert dict(form.form) == PARAMS
    text = json.dumps(PARAMS)
    parsed = parse_callback("POST", "application/json", "", text.encode())
    assert (parsed.encoding, parsed.bundle_sid, parsed.text) == (Encoding.JSON, BUNDLE, text)
    camel = parse_callback("POST", FORM, "", form_body({"BundleSid": BUNDLE}))
    assert camel.bundle_sid == BUNDLE
    assert camel.account_sid is None


@pytest.mark.parametrize(
    ("content_type", "body", "problem"),
    [
        ("text/plain", form_body(PARAMS), "content type"),
        (FORM, b"bundle_sid=BU\xff", "not UTF-8"),
        (FORM, b"bundle_sid=%FF%FE", "form-encoded"),
        (FORM, b"status=approved", "bundle_sid"),
        (FORM, b"", "bundle_sid"),
        (FORM, form_body({"bundle_sid": "BU123"}), "bundle_sid"),
        (FORM, b"bundle_sid=" + BUNDLE.encode() + b"&bundle_sid=" + BUNDLE.encode(), "once"),
        (FORM, b"bundle_sid=" + BUNDLE.encode() + b"&BundleSid=" + BUNDLE.encode(), "once"),
        (FORM, b"&".join([b"f%d=1" % i for i in range(100)]), "form-encoded"),
        (FORM, form_body({**PARAMS, "account_sid": "ACnope"}), "account SID"),
        (FORM, form_body({"bundle_sid": BUNDLE + "\n"}), "bundle_sid"),
        ("application/json", b"{not json", "not JSON"),
        ("application/json", b"[1, 2]", "not an object"),
        ("application/json", b'{"bundle_sid": 7}', "not a string"),
        ("application/json", b"[" * 100000 + b"]" * 100000, "not JSON"),
        ("application/json", json.dumps({"status": "x"}).encode(), "bundle_sid"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(
    content_type: str, body: bytes, problem: str
) -> None:
    with pytest.raises(CallbackError, match=problem):
        parse_callback("POST", content_type, "", body)


# --- signatures ----------------------------------------------------------------------------


def parsed_form(params: dict[str, str]) -> ParsedCallback:
    return parse_callback("POST", FORM, "", form_body(params))


def test_form_signature_made_with_the_token_over_this_url_and_these_params_is_valid() -> None:
    signature = form_signature(TOKEN, URL, PARAMS)
    assert signature_valid(TOKEN, URL, parsed_form(PARAMS), signature)
    # Twilio may have signed the URL with its default port spelled out.
    with_port = URL.replace(".com/", ".com:443/")
    assert signature_valid(
        TOKEN, URL, parsed_form(PARAMS), form_signature(TOKEN, with_port, PARAMS)
    )


def test_the_simulator_s_callbacks_verify() -> None:
    from twilio_sim.callbacks import sign

    assert signature_valid(TOKEN, URL, parsed_form(PARAMS), sign(TOKEN, URL, PARAMS))


@pytest.mark.parametrize(
    "case",
    ["tampered-status", "extra-param", "dropped-param", "other-url", "http", "other-token", "none"],
)
def test_form_signature_refusals(case: str) -> None:
    signature: str | None = form_signature(TOKEN, URL, PARAMS)
    params, url, token = dict(PARAMS), URL, TOKEN
    if case == "tampered-status":
        params["status"] = "twilio-rejected"
    elif case == "extra-param":
        params["valid_until"] = "2030-01-01T00:00:00Z"
    elif case == "dropped-param":
        del params["failure_reason"]
    elif case == "other-url":
        url = "https://renewals.example.com/twilio/other"
    elif case == "http":
        url = URL.replace("https:", "http:")
    elif case == "other-token":
        token = OTHER_TOKEN
    else:
        signature = None
    assert not signature_valid(token, url, parsed_form(params), signature)


def test_repeated_form_parameters_are_all_covered() -> None:
    body = form_body(PARAMS) + b"&note=a&note=b"
    callback = parse_callback("POST", FORM, "", body)
    text = URL + "".join(k + v for k, v in sorted([*PARAMS.items(), ("note", "a"), ("note", "b")]))
    assert signature_valid(TOKEN, URL, callback, hmac_sha1(TOKEN, text))
    only_a = URL + "".join(k + v for k, v in sorted([*PARAMS.items(), ("note", "a")]))
    assert not signature_valid(TOKEN, URL, callback, hmac_sha1(TOKEN, only_a))


def json_request(body: str, token: str = TOKEN) -> tuple[str, str]:
    """(URL with bodySHA256, signature) as Twilio makes them for a JSON body."""
    url = URL + "?bodySHA256=" + hashlib.sha256(body.encode()).hexdigest()
    return url, hmac_sha1(token, url)


def test_json_scheme_signs_the_url_carrying_the_body_hash() -> None:
    text = json.dumps(PARAMS)
    url, signature = json_request(text)
    callback = parse_callback("POST", "application/json", "", text.encode())
    assert signature_valid(TOKEN, url, callback, signature)
    tampered = parse_callback(
        "POST", "application/json", "", text.replace("approved", "rejected").encode()
    )
    assert not signature_valid(TOKEN, url, tampered, signature)
    assert not signature_valid(OTHER_TOKEN, url, callback, signature)
    # Without the hash in the URL nothing binds the body to the signature: refused.
    assert not signature_valid(TOKEN, URL, callback, hmac_sha1(TOKEN, URL))
    # Twilio may repeat the hash (as on the field report's GET): every copy must match.
    twice = url + "&bodySHA256=" + hashlib.sha256(text.encode()).hexdigest()
    assert signature_valid(TOKEN, twice, callback, hmac_sha1(TOKEN, twice))
    other = url + "&bodySHA256=" + hashlib.sha256(b"{}").hexdigest()
    assert not signature_valid(TOKEN, other, callback, hmac_sha1(TOKEN, other))
    blank = URL + "?bodySHA256="
    assert not signature_valid(TOKEN, blank, callback, hmac_sha1(TOKEN, blank))


def test_signature_algorithm_follows_the_settings_header() -> None:
    text = URL + "".join(k + PARAMS[k] for k in sorted(PARAMS))
    sha256 = base64.b64encode(hmac.new(TOKEN.encode(), text.encode(), hashlib.sha256).digest())
    callback = parsed_form(PARAMS)
    header = "key=abc,algorithm=HMAC_SHA256"
    assert signature_valid(TOKEN, URL, callback, sha256.decode(), header)
    assert not signature_valid(TOKEN, URL, callback, sha256.decode())
    sha1 = form_signature(TOKEN, URL, PARAMS)
    assert not signature_valid(TOKEN, URL, callback, sha1, "algorithm=HMAC_MD5")


# --- generated input -------------------------------------------------------------------------

content_types = st.sampled_from(
    [FORM, "application/json", "text/plain", "application/x-www-form-urlencoded; charset=latin-1"]
) | st.text(max_size=40)


methods = st.sampled_from(["GET", "POST", "PUT", "HEAD", "get", "DELETE"]) | st.text(max_size=8)
# Queries with repeated keys, both spellings, blank values, odd percent-escapes and separators.
query_parts = st.sampled_from(
    [
        "bodySHA256=" + hashlib.sha256(b"").hexdigest(),
        "bodySHA256=",
        "BundleSid=" + BUNDLE,
        "bundle_sid=" + BUNDLE,
        "AccountSid=" + ACCOUNT,
        "AccountSid=ACnope",
        "Status=twilio-approved",
        "Status=%FF",
        "FailureReason=",
        "x=%",
        "=",
        "",
        "a;b",
    ]
) | st.text(max_size=20)
queries = st.lists(query_parts, max_size=7).map("&".join)
bodies = st.one_of(
    st.binary(max_size=600),
    st.just(form_body(PARAMS)),
    st.just(json.dumps({"BundleSid": BUNDLE, "Status": "twilio-approved"}).encode()),
    # oversized: larger than any callback (the receiver refuses such bodies before parsing)
    st.integers(1, 4).map(lambda n: b"bundle_sid=" + BUNDLE.encode() + b"&x=" + b"y" * 50_000 * n),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=methods,
    content_type=st.one_of(st.none(), content_types),
    query=queries,
    body=bodies,
)
def test_arbitrary_requests_parse_or_are_refused_with_a_callback_error(
    method: str, content_type: str | None, query: str, body: bytes
) -> None:
    try:
        callback = parse_callback(method, content_type, query, body)
    except CallbackError:
        return  # (a refusal; its reasons are pinned by the tests above)
    assert method in ("GET", "POST")
    assert BUNDLE_SID.fullmatch(callback.bundle_sid)
    assert callback.encoding is (
        Encoding.QUERY if not body else Encoding(body_format(content_type))
    )
    # Whatever parsed, a signature it does not carry never verifies, and checking never raises.
    url = signed_url(URL, "", query, trust_forwarded=False)
    assert not signature_valid(TOKEN, url, callback, hmac_sha1(OTHER_TOKEN, url))


form_values = st.text(max_size=30)


@settings(max_examples=300)
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "failure_reason", "valid_until"]), form_values
    ),
    signature=st.one_of(st.none(), st.text(max_size=40)),
    settings_header=st.one_of(st.none(), st.text(max_size=40)),
    query=st.text(max_size=30),
)
def test_arbitrary_signatures_never_verify_and_never_raise(
    params: dict[str, str], signature: str | None, settings_header: str | None, query: str
) -> None:
    callback = parsed_form({**params, "bundle_sid": BUNDLE})
    url = signed_url(URL, "", query, trust_forwarded=False)
    assert not signature_valid(TOKEN, url, callback, signature, settings_header)


@settings(max_examples=200)
@given(params=st.dictionaries(st.text(min_size=1, max_size=12), form_values, max_size=8))
def test_any_form_signed_by_twilio_s_scheme_verifies(params: dict[str, str]) -> None:
    params = {**params, "bundle_sid": BUNDLE}
    params.pop("BundleSid", None)
    params.pop("AccountSid", None)
    params.pop("account_sid", None)
    callback = parsed_form(params)
    assert signature_valid(TOKEN, URL, callback, form_signature(TOKEN, URL, params))
    assert not signature_valid(OTHER_TOKEN, URL, callback, form_signature(TOKEN, URL, params))


# --- the shapes Twilio may send ----------------------------------------------------------------

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: The query of the one real bundle callback on record (twilio/twilio-php#861): a GET, no body,
#: PascalCase names, bodySHA256 twice, a blank FailureReason.
FIELD_REPORT_QUERY = (
    f"bodySHA256={EMPTY_SHA256}&bodySHA256={EMPTY_SHA256}&AccountSid={ACCOUNT}"
    f"&BundleSid={BUNDLE}&Status=pending-review&FailureReason="
)


def test_the_field_report_s_get_parses_from_its_query() -> None:
    callback = parse_callback("GET", None, FIELD_REPORT_QUERY, b"")
    assert callback.encoding is Encoding.QUERY
    assert (callback.bundle_sid, callback.account_sid, callback.status) == (
        BUNDLE,
        ACCOUNT,
        "pending-review",
    )
    assert (callback.form, callback.text) == ((), "")


def test_the_field_report_s_get_verifies_over_the_url_alone() -> None:
    """Twilio's GET scheme: HMAC of the full URL, query included, no parameters appended, and no
    body hash to compare (there is no body)."""
    url = URL + "?" + FIELD_REPORT_QUERY
    callback = parse_callback("GET", None, FIELD_REPORT_QUERY, b"")
    assert signature_valid(TOKEN, url, callback, hmac_sha1(TOKEN, url))
    # The SDK's port rule: Twilio may have signed the URL with the default port spelled out.
    with_port = url.replace(".com/", ".com:443/")
    assert signature_valid(TOKEN, url, callback, hmac_sha1(TOKEN, with_port))
    assert not signature_valid(OTHER_TOKEN, url, callback, hmac_sha1(TOKEN, url))
    assert not signature_valid(TOKEN, url, callback, hmac_sha1(OTHER_TOKEN, url))
    # The reporter's bug, the other way round: a signature that appends the query's parameters
    # as if they were POSTed is not Twilio's GET signature.
    pairs = sorted(p.split("=", 1) for p in FIELD_REPORT_QUERY.split("&"))
    mixed = hmac_sha1(TOKEN, url + "".join(k + v for k, v in pairs))
    assert not signature_valid(TOKEN, url, callback, mixed)
    # Every byte of the query is signed: a changed status does not verify.
    tampered = url.replace("pending-review", "twilio-approved")
    assert not signature_valid(TOKEN, tampered, callback, hmac_sha1(TOKEN, url))


@pytest.mark.parametrize("content_type", [None, "", FORM, "application/json", "text/plain"])
def test_a_post_without_a_body_is_the_query_shape_whatever_its_content_type(
    content_type: str | None,
) -> None:
    callback = parse_callback("POST", content_type, FIELD_REPORT_QUERY, b"")
    assert (callback.encoding, callback.bundle_sid) == (Encoding.QUERY, BUNDLE)
    url = URL + "?" + FIELD_REPORT_QUERY
    assert signature_valid(TOKEN, url, callback, hmac_sha1(TOKEN, url))


def test_pascal_case_and_snake_case_name_the_same_fields_in_every_shape() -> None:
    pascal = {"AccountSid": ACCOUNT, "BundleSid": BUNDLE, "Status": "twilio-rejected"}
    snake = {"account_sid": ACCOUNT, "bundle_sid": BUNDLE, "status": "twilio-rejected"}
    for fields in (pascal, snake):
        for callback in (
            parse_callback("GET", None, urlencode(fields), b""),
            parse_callback("POST", FORM, "", form_body(fields)),
            parse_callback("POST", "application/json", "", json.dumps(fields).encode()),
        ):
            assert (callback.bundle_sid, callback.account_sid, callback.status) == (
                BUNDLE,
                ACCOUNT,
                "twilio-rejected",
            )


def test_fields_are_read_from_the_query_and_the_body_together_and_once() -> None:
    """The signature covers both, so either may carry a field; twice is ambiguous."""
    json_hash = "bodySHA256=" + hashlib.sha256(b'{"Status": "in-review"}').hexdigest()
    split = parse_callback(
        "POST", "application/json", f"{json_hash}&BundleSid={BUNDLE}", b'{"Status": "in-review"}'
    )
    assert (split.encoding, split.bundle_sid, split.status) == (Encoding.JSON, BUNDLE, "in-review")
    form = parse_callback("POST", FORM, f"BundleSid={BUNDLE}", b"status=twilio-approved")
    assert (form.bundle_sid, form.form) == (BUNDLE, (("status", "twilio-approved"),))
    with pytest.raises(MalformedCallback, match="once"):
        parse_callback("POST", FORM, f"BundleSid={BUNDLE}", form_body({"bundle_sid": BUNDLE}))
    with pytest.raises(MalformedCallback, match="once"):
        parse_callback("GET", None, f"BundleSid={BUNDLE}&BundleSid={BUNDLE}", b"")


def test_a_form_post_with_a_query_is_signed_over_the_url_with_its_query_and_the_params() -> None:
    query = f"BundleSid={BUNDLE}"
    url = URL + "?" + query
    callback = parse_callback("POST", FORM, query, b"status=twilio-approved")
    good = hmac_sha1(TOKEN, url + "statustwilio-approved")
    assert signature_valid(TOKEN, url, callback, good)
    assert not signature_valid(TOKEN, url, callback, hmac_sha1(TOKEN, url))


@pytest.mark.parametrize(
    ("method", "content_type", "query", "body", "error", "problem"),
    [
        ("PUT", FORM, "", form_body(PARAMS), MethodNotAllowed, "not GET or POST"),
        ("get", None, FIELD_REPORT_QUERY, b"", MethodNotAllowed, "not GET or POST"),
        ("GET", FORM, "", form_body(PARAMS), MalformedCallback, "no body"),
        ("POST", "text/plain", "", form_body(PARAMS), UnsupportedMediaType, "content type"),
        ("GET", None, "", b"", MalformedCallback, "bundle_sid"),
        ("GET", None, "BundleSid=" + BUNDLE + "&x=%FF", b"", MalformedCallback, "query"),
        ("GET", None, "BundleSid=" + BUNDLE + "&&", b"", MalformedCallback, "query"),
        ("GET", None, "&".join(["f=1"] * 100), b"", MalformedCallback, "query"),
        ("GET", None, "BundleSid=BU123", b"", MalformedCallback, "bundle_sid"),
        ("GET", None, f"BundleSid={BUNDLE}&AccountSid=ACnope", b"", MalformedCallback, "account"),
        ("POST", "application/json", "", b'{"BundleSid": ["x"]}', MalformedCallback, "string"),
    ],
)
def test_requests_that_are_no_callback_are_refused_with_their_reason(
    method: str,
    content_type: str | None,
    query: str,
    body: bytes,
    error: type[CallbackError],
    problem: str,
) -> None:
    with pytest.raises(error, match=problem):
        parse_callback(method, content_type, query, body)


def test_an_implausible_status_is_dropped_not_trusted() -> None:
    callback = parse_callback("GET", None, f"BundleSid={BUNDLE}&Status=<script>", b"")
    assert callback.status is None


@settings(max_examples=200)
@given(
    fields=st.dictionaries(
        st.sampled_from(["Status", "FailureReason", "ValidUntil", "Other", "bodySHA256"]),
        st.text(max_size=30),
    ),
    pascal=st.booleans(),
    port=st.booleans(),
)
def test_any_query_callback_signed_over_its_url_verifies(
    fields: dict[str, str], pascal: bool, port: bool
) -> None:
    fields = {**fields, ("BundleSid" if pascal else "bundle_sid"): BUNDLE}
    query = urlencode(fields)
    url = signed_url(URL, "", query, trust_forwarded=False)
    callback = parse_callback("GET", None, query, b"")
    signed = url.replace(".com/", ".com:443/") if port else url
    assert signature_valid(TOKEN, url, callback, hmac_sha1(TOKEN, signed))
    assert not signature_valid(OTHER_TOKEN, url, callback, hmac_sha1(TOKEN, signed))
