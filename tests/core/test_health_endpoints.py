import json

import pytest

from admin2.readiness import run_checks
from admin2.registry import registry
from harness.processes import (
    REPO,
    ManagedProcess,
    django_env,
    free_port,
    run_admin2,
    venv_tool,
    wait_until,
)
from tests.support.readyz import detailed_readyz


def test_healthz_answers_without_touching_dependencies(client):
    # No django_db mark: any database access here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_reports_each_dependency_with_latency(client, settings):
    response = detailed_readyz(client, settings)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    for name in ("database", "cache"):
        assert body["checks"][name]["status"] == "up"
        assert isinstance(body["checks"][name]["latency_ms"], float)


@pytest.mark.django_db
def test_readyz_names_a_failed_required_check(client, monkeypatch, settings):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(registry.health_checks, "broker", registry.health_checks["cache"])
    registry.add_health_check("broker", broken)
    response = detailed_readyz(client, settings)
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert "refused" in response.json()["checks"]["broker"]["error"]


@pytest.mark.django_db
def test_optional_check_down_keeps_readiness(monkeypatch):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(registry.health_checks, "extra", registry.health_checks["cache"])
    registry.add_health_check("extra", broken, required=False)
    ready, report = run_checks()
    assert ready
    assert report["extra"]["status"] == "down"


@pytest.mark.django_db
def test_slow_check_is_cut_off_at_the_deadline(monkeypatch):
    import threading

    release = threading.Event()
    monkeypatch.setitem(registry.health_checks, "slow", registry.health_checks["cache"])
    registry.add_health_check("slow", lambda: release.wait(10))
    try:
        ready, report = run_checks(timeout=0.3)
    finally:
        release.set()
    assert not ready
    assert report["slow"]["error"] == "no answer within 0.3s"


@pytest.mark.slow
def test_readyz_reports_database_down_when_postgres_is_unreachable(tmp_path):
    """A real server process pointed at a closed PostgreSQL port answers 503 naming it."""
    closed_port, web_port = free_port(), free_port()
    env = django_env(
        DJANGO_ENVIRONMENT="development",
        DJANGO_DEBUG="false",  # the friendly pages replace Django's debug page
        POSTGRES_HOST="127.0.0.1",
        POSTGRES_PORT=str(closed_port),
        POSTGRES_CONNECT_TIMEOUT="1",
        ADMIN2_VAR_DIR=str(tmp_path),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    collected = run_admin2("collectstatic", "--noinput", "-v0", env=env)
    assert collected.returncode == 0, collected.stderr
    argv = [
        venv_tool("gunicorn"),
        "--no-control-socket",
        "--bind",
        f"127.0.0.1:{web_port}",
        "admin2.wsgi:application",
    ]
    server = ManagedProcess(argv, env=env, cwd=REPO, log=tmp_path / "server.log")
    try:
        import urllib.error
        import urllib.request

        def fetch():
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{web_port}/readyz", timeout=10)
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())
            except OSError:
                return None
            return 200, None

        status, body = wait_until(fetch, 60, "the server to answer /readyz")
        assert status == 503, server.output()
        assert body["failed"] == ["database"]
        assert body["checks"]["database"]["status"] == "down"
        assert body["checks"]["cache"]["status"] == "up"

        # A login needs the database: the admin answers with the friendly 503 page.
        import http.cookiejar
        import re
        import urllib.parse

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_url = f"http://127.0.0.1:{web_port}/admin/login/"
        page = opener.open(login_url, timeout=10).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": "a", "password": "b"}
        ).encode()
        with pytest.raises(urllib.error.HTTPError) as failure:
            opener.open(login_url, data=form, timeout=15)
        assert failure.value.code == 503
        assert failure.value.headers["Retry-After"] == "30"
        assert "The database cannot be reached right now." in failure.value.read().decode()
    finally:
        server.stop()
