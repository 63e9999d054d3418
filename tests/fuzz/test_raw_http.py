"""Raw, malformed HTTP over a real socket to Gunicorn running admin2: never a server error.

Broken request lines, bad header names, bare LF, conflicting lengths, broken chunking and
oversized lines, which the test client cannot send. Gunicorn with the production
configuration answers each with a 4xx (or closes), keeps its workers and goes on serving.
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.processes import django_env, run_admin2
from tests.faults.stack import WebServer
from tests.fuzz.tally import FUZZ, record

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("raw-http")
    env = django_env(
        DJANGO_ENVIRONMENT="development",
        DJANGO_DEBUG="false",
        ADMIN2_VAR_DIR=str(workdir / "var"),
        DJANGO_STATIC_ROOT=str(workdir / "static"),
        DJANGO_LOG_LEVEL="warning",
    )
    for command in ("migrate", "collectstatic"):
        done = run_admin2(command, "--noinput", "-v0", env=env)
        assert done.returncode == 0, done.stderr
    server = WebServer(workdir, env, workers=1, threads=4)
    server.start()
    yield server
    server.stop()


# RFC 9112 6.1: a transfer coding the server does not implement is answered 501. Gunicorn
# does so from its request parser, before the application: a protocol answer, not a fault.
UNSUPPORTED_CODING = "501: unsupported transfer coding"


def exchange(port: int, raw: bytes) -> int | str:
    """Send ``raw``, half-close, and return the status code, or how the server ended it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return "closed while sending"
        received = b""
        try:
            while len(received) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            if not received:
                return "reset"
        except TimeoutError:
            if not received:
                return "no answer in 10s"
    if not received:
        return "closed"
    status_line = received.split(b"\r\n", 1)[0]
    parts = status_line.split()
    assert len(parts) >= 2 and parts[0].startswith(b"HTTP/"), received[:200]
    status = int(parts[1])
    if status == 501 and b"Unsupported transfer coding" in received:
        return UNSUPPORTED_CODING
    return status


token = st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"OPTIONS", b"TRACE", b"get"]) | (
    st.binary(min_size=1, max_size=12)
)
target = (
    st.sampled_from(
        [b"/", b"/admin/login/", b"/healthz", b"/readyz", b"/admin/", b"*", b"http://x/", b""]
    )
    | st.binary(max_size=300).map(lambda b: b"/" + b)
    | st.integers(4000, 12000).map(lambda n: b"/" + b"a" * n)
)
version = st.sampled_from(
    [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/0.9", b"HTTP/2.0", b"HTTP/1.1 x", b"http/1.1", b""]
) | st.binary(max_size=10)
header_name = st.sampled_from(
    [b"Host", b"Content-Length", b"Transfer-Encoding", b"Cookie", b"X-Forwarded-Proto",
     b"Content-Type", b"Expect", b"Connection", b"Upgrade"]
) | st.binary(max_size=20)  # fmt: skip
header_value = st.sampled_from(
    [b"127.0.0.1", b"chunked", b"-1", b"0", b"10", b"99999999999999999999", b"100-continue",
     b"gzip, chunked", b"keep-alive", b"h2c", b"\x00", b"a\rb"]
) | st.binary(max_size=100) | st.integers(8000, 20000).map(lambda n: b"v" * n)  # fmt: skip
eol = st.sampled_from([b"\r\n", b"\n", b"\r"])


@st.composite
def raw_requests(draw) -> bytes:
    newline = draw(eol)
    if draw(st.booleans()):  # a clean request line, so the oddities below reach Django
        newline = b"\r\n"
        path = draw(st.sampled_from([b"/admin/login/", b"/healthz", b"/admin/", b"/readyz"]))
        line = draw(st.sampled_from([b"GET ", b"POST "])) + path + b" HTTP/1.1"
        headers = [b"Host: 127.0.0.1"]
    else:
        line = draw(token) + b" " + draw(target) + b" " + draw(version)
        headers = [b"Host: 127.0.0.1"] if draw(st.booleans()) else []
    for name, value in draw(st.lists(st.tuples(header_name, header_value), max_size=5)):
        separator = draw(st.sampled_from([b": ", b":", b" : ", b"", b"\r\n "]))
        headers.append(name + separator + value)
    body = draw(st.binary(max_size=300))
    return newline.join([line, *headers]) + newline + newline + body


@settings(FUZZ, max_examples=300)  # a few milliseconds each over loopback
@given(raw=raw_requests())
def test_malformed_requests_get_a_4xx_or_a_closed_connection(gunicorn, raw):
    outcome = exchange(gunicorn.port, raw)
    record("raw HTTP to Gunicorn", outcome)
    assert not (isinstance(outcome, int) and outcome >= 500), raw[:300]


def test_the_server_is_unharmed_afterwards(gunicorn):
    before = gunicorn.worker_pids()
    for raw in (
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
        b"Content-Length: 7\r\n\r\n",
        b"POST /admin/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"\r\nzz\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"v" * 9000 + b"\r\n\r\n",
    ):
        outcome = exchange(gunicorn.port, raw)
        record("raw HTTP to Gunicorn", outcome)
        assert outcome == 400 or (isinstance(outcome, int) and 400 <= outcome < 500), outcome
    healthy = exchange(gunicorn.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert healthy == 200
    assert gunicorn.worker_pids() == before
