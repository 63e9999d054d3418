"""Malformed requests through Django's full stack: a 4xx at worst, never a server error."""

from __future__ import annotations

import urllib.parse
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.tally import FUZZ, record

pytestmark = pytest.mark.django_db

PAGES = ["/admin/login/", "/admin/", "/healthz", "/admin/auth/user/", "/admin/auth/user/add/"]
KNOWN_HEADERS = [
    "Host", "X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP",
    "X-Request-ID", "Cookie", "Accept", "Accept-Language", "Accept-Encoding", "Content-Type",
    "Content-Length", "Referer", "Origin", "If-Modified-Since", "If-None-Match", "Range",
    "User-Agent", "Authorization", "X-CSRFToken", "Sec-Fetch-Site", "Forwarded",
]  # fmt: skip
CHANGELIST_PARAMS = [
    "q", "o", "p", "all", "e", "is_staff__exact", "is_superuser__exact", "is_active__exact",
    "groups__id__exact", "date_joined__gte", "date_joined__lt", "_to_field", "_popup",
    "_changelist_filters", "next",
]  # fmt: skip
# Text that is awkward for every layer: controls, NUL, surrogates escaped, RTL, emoji, quotes.
nasty_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200
) | st.sampled_from(["\x00", "%00", "\r\n", "../../etc/passwd", "'\"<>", "\u202e", "💥" * 50])


def status_of(response) -> int:
    return response.status_code


def meta_name(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def latin1(raw: bytes) -> str:
    # WSGI carries raw bytes in str as latin-1; that is what Gunicorn hands Django.
    return raw.decode("latin-1")


def on_the_wire(text: str) -> str:
    """A header value as a server hands it to Django: the client's UTF-8 bytes, as latin-1."""
    return latin1(text.encode("utf-8", errors="surrogatepass"))


# Header values: typed text (sent as UTF-8) or any bytes at all.
header_value = nasty_text.map(on_the_wire) | st.binary(max_size=200).map(latin1)


@FUZZ
@given(
    host=st.one_of(
        header_value,
        st.from_regex(r"[a-z0-9.\-\[\]:]{0,80}", fullmatch=True),
        st.builds(
            "{}{}".format,
            st.sampled_from(["localhost", "127.0.0.1", "[::1]", "testserver"]),
            st.sampled_from(["", ":8000", ":", ":99999", ":x", ".", "..", "@evil"]) | nasty_text,
        ).map(on_the_wire),
    )
)
def test_any_host_header_is_refused_with_400_or_served(anonymous, host):
    response = anonymous.get("/admin/login/", HTTP_HOST=host)
    record("Host header", status_of(response))
    assert status_of(response) in (200, 400), (host, status_of(response))


@FUZZ
@given(
    path=st.sampled_from(PAGES),
    headers=st.dictionaries(
        st.sampled_from(KNOWN_HEADERS)
        | st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,30}", fullmatch=True),
        header_value,
        max_size=6,
    ),
)
def test_arbitrary_header_values_never_cause_a_server_error(admin_client_500, path, headers):
    meta = {meta_name(name): value for name, value in headers.items()}
    meta.pop("HTTP_CONTENT_LENGTH", None)  # the test client sets the real one
    response = admin_client_500.get(path, **meta)
    record("header values", status_of(response))
    assert status_of(response) < 500, (path, headers)


@FUZZ
@given(
    path=st.sampled_from(["/admin/auth/user/", "/admin/auth/group/", "/admin/login/"]),
    params=st.lists(
        st.tuples(st.sampled_from(CHANGELIST_PARAMS) | nasty_text, nasty_text), max_size=5
    ),
    raw_tail=st.binary(max_size=40),
)
def test_query_strings_with_any_text_or_bytes_are_handled(admin_client_500, path, params, raw_tail):
    query = urllib.parse.urlencode(params)
    # Undecodable bytes, both percent-escaped (%FF) and raw, after the well-formed part.
    query += "&" + urllib.parse.quote_from_bytes(raw_tail) + "&" + latin1(raw_tail)
    response = admin_client_500.get(path, QUERY_STRING=query)
    record("query strings", status_of(response))
    assert status_of(response) < 500, (path, query)


@FUZZ
@given(
    prefix=st.sampled_from(["/", "/admin/", "/admin/auth/user/", "/static/", "/healthz/"]),
    raw=st.binary(max_size=60),
    escape=st.booleans(),
)
def test_paths_with_any_bytes_are_handled(admin_client_500, prefix, raw, escape):
    tail = urllib.parse.quote_from_bytes(raw, safe="/") if escape else latin1(raw)
    response = admin_client_500.get("/", PATH_INFO=prefix + tail)
    record("paths", status_of(response))
    assert status_of(response) < 500, (prefix, raw)


@FUZZ
@given(
    body=st.binary(max_size=400),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/x-www-form-urlencoded; charset=nonsense",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "application/json",
            "text/plain; charset=utf-16",
        ]
    ),
    path=st.sampled_from(["/admin/login/", "/admin/auth/group/add/", "/admin/auth/user/add/"]),
)
def test_form_bodies_with_any_bytes_are_handled(admin_client_500, body, content_type, path):
    admin_client_500.handler.enforce_csrf_checks = False  # get past CSRF to the body parser
    response = admin_client_500.generic("POST", path, body, content_type=content_type)
    record("form bodies", status_of(response))
    assert status_of(response) < 500, (path, content_type, body)


@FUZZ
@given(
    cookie=st.one_of(
        header_value,
        st.builds(
            lambda n, v: f"sessionid={v}; csrftoken={v[:64]}; {n}={v}", nasty_text, nasty_text
        ).map(on_the_wire),
        st.integers(4_000, 200_000).map(lambda n: "sessionid=" + "a" * n),
    )
)
def test_malformed_and_overlong_cookies_are_handled(anonymous, cookie):
    response = anonymous.get("/admin/", HTTP_COOKIE=cookie)
    record("cookies", status_of(response))
    assert status_of(response) < 500
    # A fresh username each time, so the login lockout does not answer for the form.
    login = {"username": uuid.uuid4().hex, "password": "y"}
    posted = anonymous.post("/admin/login/", login, HTTP_COOKIE=cookie)
    record("cookies", status_of(posted))
    # The form again, CSRF refusal, or the lockout after repeated failures from one address.
    assert status_of(posted) in (200, 403, 429)


def test_a_body_over_the_upload_limit_is_refused_with_400(anonymous, settings):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    body = b"username=" + b"a" * size
    response = anonymous.generic(
        "POST", "/admin/login/", body, content_type="application/x-www-form-urlencoded"
    )
    record("oversized bodies", status_of(response))
    assert status_of(response) == 400


def test_too_many_form_fields_are_refused_with_400(anonymous, settings):
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    body = "&".join(f"f{i}=1" for i in range(fields)).encode()
    response = anonymous.generic(
        "POST", "/admin/login/", body, content_type="application/x-www-form-urlencoded"
    )
    record("oversized bodies", status_of(response))
    assert status_of(response) == 400
