"""The server backend (HTTP/S), as far as it can be tested without a ClickHouse server.

Client options from settings, timeouts and TLS, and the mapping of transport failures,
against real loopback sockets. ``test_http_backend_real_server.py`` runs the same API
against a real server when ``CLICKHOUSE_TEST_URL`` is set.
"""

import json
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from admin2_analytics import engine
from admin2_analytics.engine import config
from admin2_analytics.engine import http as http_backend
from admin2_analytics.errors import EngineUnavailable, QueryTimeout
from harness.processes import REPO, free_port

TAG = engine.QueryTag(user="t", source="web")


@pytest.fixture
def server_settings(settings):
    settings.CLICKHOUSE_HOST = "127.0.0.1"
    settings.CLICKHOUSE_PORT = free_port()
    settings.CLICKHOUSE_USER = "admin2_reader"
    settings.CLICKHOUSE_PASSWORD = "s3cret"
    settings.CLICKHOUSE_DATABASE = "warehouse"
    settings.CLICKHOUSE_SECURE = False
    settings.CLICKHOUSE_VERIFY = True
    settings.CLICKHOUSE_CA_CERT = ""
    settings.CLICKHOUSE_CONNECT_TIMEOUT = 1.0
    settings.CLICKHOUSE_READ_TIMEOUT = 1.0
    yield settings
    http_backend.forget_client(config.server())


class SilentServer:
    """Accepts connections and reads requests, never answers: a hung ClickHouse."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.requests = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)
            self.requests += 1

    def close(self) -> None:
        self._stop = True
        for conn in self.connections:
            conn.close()
        self.sock.close()
        self.thread.join(2)


def test_client_options_come_from_settings(server_settings):
    server_settings.CLICKHOUSE_SECURE = True
    server_settings.CLICKHOUSE_CA_CERT = "/etc/ssl/certs/internal-ca.pem"
    server_settings.CLICKHOUSE_READ_TIMEOUT = 45.0
    options = http_backend.client_options(config.server())
    assert options == {
        "host": "127.0.0.1",
        "port": server_settings.CLICKHOUSE_PORT,
        "username": "admin2_reader",
        "password": "s3cret",
        "database": "warehouse",
        "secure": True,
        "verify": True,
        "ca_cert": "/etc/ssl/certs/internal-ca.pem",
        "connect_timeout": 1.0,
        "send_receive_timeout": 45.0,
        "autogenerate_session_id": False,
        "query_limit": 0,
        "show_clickhouse_errors": True,
    }


def test_without_verification_no_ca_is_passed(server_settings):
    server_settings.CLICKHOUSE_SECURE = True
    server_settings.CLICKHOUSE_VERIFY = False
    server_settings.CLICKHOUSE_CA_CERT = "/etc/ssl/certs/internal-ca.pem"
    options = http_backend.client_options(config.server())
    assert options["verify"] is False
    assert "ca_cert" not in options


def test_a_closed_port_is_engine_unavailable(server_settings):
    with pytest.raises(EngineUnavailable, match="cannot connect to ClickHouse"):
        engine.execute("SELECT 1", tag=TAG)


def test_readiness_reports_a_closed_port_as_down(server_settings):
    from admin2.readiness import run_checks

    ready, report = run_checks(timeout=5)
    assert not ready
    assert report["clickhouse"]["status"] == "down"
    assert "EngineUnavailable" in report["clickhouse"]["error"]


@pytest.mark.timeout(60)
def test_a_server_that_never_answers_times_out_at_the_read_timeout(server_settings):
    silent = SilentServer()
    server_settings.CLICKHOUSE_PORT = silent.port
    try:
        started = time.monotonic()
        with pytest.raises((QueryTimeout, EngineUnavailable)) as error:
            engine.execute("SELECT 1", tag=TAG)
        waited = time.monotonic() - started
    finally:
        silent.close()
    assert silent.requests >= 1  # it did reach the server, which kept quiet
    assert "CLICKHOUSE_READ_TIMEOUT" in str(error.value) or "timed out" in str(error.value)
    assert waited < 30  # bounded by the read timeout (and the client's retries), never hung


def test_tls_to_a_plain_listener_is_engine_unavailable(server_settings):
    silent = SilentServer()
    server_settings.CLICKHOUSE_PORT = silent.port
    server_settings.CLICKHOUSE_SECURE = True
    try:
        with pytest.raises((EngineUnavailable, QueryTimeout)):
            engine.execute("SELECT 1", tag=TAG)
    finally:
        silent.close()


def test_tls_with_an_unknown_certificate_is_refused(server_settings, tmp_path):
    """A real TLS listener with a self-signed certificate the client must not trust."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    handshakes: list[str] = []

    def serve():
        listener.settimeout(5)
        while True:  # the client retries: answer every attempt
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    handshakes.append("completed")
            except (ssl.SSLError, OSError) as exc:
                handshakes.append(getattr(exc, "reason", None) or "failed")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    server_settings.CLICKHOUSE_PORT = listener.getsockname()[1]
    server_settings.CLICKHOUSE_SECURE = True
    try:
        with pytest.raises(EngineUnavailable, match="cannot connect to ClickHouse"):
            engine.execute("SELECT 1", tag=TAG)
    finally:
        listener.close()
        thread.join(5)
    assert handshakes and "completed" not in handshakes  # the client refused the certificate


def _settings_in_child(**env) -> dict:
    """Evaluate the settings package in a child process with ``env``; return a few values."""
    from harness.processes import django_env

    code = (
        "import json, settings as s; print(json.dumps({k: str(getattr(s, k)) for k in "
        "('CLICKHOUSE_HOST', 'CLICKHOUSE_PORT', 'CLICKHOUSE_PASSWORD', "
        "'CLICKHOUSE_EMBEDDED_PATH', 'ANALYTICS_MAX_RESULT_ROWS', 'VAR_DIR')}))"
    )
    child_env = django_env(DJANGO_ENVIRONMENT="development", **env)
    for name in list(child_env):
        if name.startswith(("CLICKHOUSE_", "ANALYTICS_")) and name not in env:
            child_env.pop(name)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=child_env, capture_output=True, text=True
    )
    if result.returncode:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout)


def test_settings_default_to_the_embedded_engine_under_var(tmp_path):
    values = _settings_in_child(ADMIN2_VAR_DIR=str(tmp_path))
    assert values["CLICKHOUSE_HOST"] == ""
    assert values["CLICKHOUSE_PORT"] == "8123"
    assert values["CLICKHOUSE_EMBEDDED_PATH"] == str(tmp_path / "chdb")
    assert values["ANALYTICS_MAX_RESULT_ROWS"] == "100000"


def test_settings_secure_port_default_and_password_file(tmp_path):
    secret = tmp_path / "ch_password"
    secret.write_text("from-a-file\n")
    values = _settings_in_child(
        CLICKHOUSE_HOST="clickhouse.example.com",
        CLICKHOUSE_SECURE="true",
        CLICKHOUSE_PASSWORD_FILE=str(secret),
    )
    assert values["CLICKHOUSE_PORT"] == "8443"
    assert values["CLICKHOUSE_PASSWORD"] == "from-a-file"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLICKHOUSE_PORT": "http"}, "CLICKHOUSE_PORT: expected an integer"),
        ({"CLICKHOUSE_PORT": "70000"}, "CLICKHOUSE_PORT: must be at most 65535"),
        ({"CLICKHOUSE_SECURE": "maybe"}, "CLICKHOUSE_SECURE: expected a boolean"),
        ({"ANALYTICS_MAX_RESULT_ROWS": "0"}, "ANALYTICS_MAX_RESULT_ROWS: must be at least 1"),
        (
            {"CLICKHOUSE_HOST": "clickhouse.example.com", "CLICKHOUSE_READ_TIMEOUT": "10"},
            "CLICKHOUSE_READ_TIMEOUT: must exceed ANALYTICS_MAX_EXECUTION_TIME",
        ),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(env, message):
    assert message in _settings_in_child(**env)["error"]


def test_settings_a_read_only_server_user_may_not_change_are_left_to_its_profile(caplog):
    """A server user with a read-only profile cannot exist here: its handshake result can.

    ``server_settings`` is what clickhouse-connect learns from ``system.settings`` at connect;
    these rows are what a ``readonly = 2`` profile with a CONST constraint reports.
    """
    from types import SimpleNamespace

    from clickhouse_connect.driver.models import SettingDef

    from admin2_analytics.engine.backend_server import server_readonly

    client = SimpleNamespace(
        server_settings={
            "readonly": SettingDef(name="readonly", value="2", readonly=1),
            "max_execution_time": SettingDef(name="max_execution_time", value="30", readonly=0),
            "max_memory_usage": SettingDef(name="max_memory_usage", value="1000", readonly=1),
        }
    )
    wanted = {"max_execution_time": 10, "max_memory_usage": 5000, "log_comment": "{}"}
    kept = http_backend.changeable(client, wanted)
    assert kept == {"max_execution_time": 10, "log_comment": "{}"}
    assert "may not change max_memory_usage" in caplog.text
    assert server_readonly(client)
    assert not server_readonly(SimpleNamespace(server_settings={}))
