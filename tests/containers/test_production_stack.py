"""The production topology, run as native processes on loopback from the Compose file itself.

Every process gets the command and environment Compose gives its container, changed only
where a container and a laptop must differ (listed in docs/testing.md). Nginx with TLS on
stands in front, and no production setting is relaxed for the test.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from harness import compose
from harness.dockerfile import run_commands, stages
from harness.native import (
    healthcheck_argv,
    nginx_tree,
    redis_healthcheck,
    self_signed_certificate,
    service_env,
    start_nginx,
    start_redis,
    world_readable_dir,
)
from harness.nginx import Nginx
from harness.processes import (
    REPO,
    ManagedProcess,
    django_env,
    free_port,
    port_open,
    venv_tool,
    wait_until,
)
from tests.containers.conftest import ROLE, ensure_role, psql
from tests.support.readyz import READYZ_TOKEN

pytestmark = pytest.mark.slow

PASSWORD = "a-long-production-password-7"  # a throwaway test account


@dataclass
class Stack:
    root: Path
    database: str
    ports: dict[str, int]
    env: dict[str, dict[str, str]]
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    nginx: Nginx | None = None
    cert: Path | None = None
    static_volume: Path | None = None

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.ports['tls']}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    def nginx_log(self, request_id: str) -> dict:
        path = self.root / "nginx" / "var" / "log" / "nginx" / "access.log"

        def entry():
            for line in path.read_text().splitlines():
                parsed = json.loads(line)
                if parsed["request_id"] == request_id:
                    return parsed
            return None

        return wait_until(entry, 5, f"nginx access log line {request_id}")


def native(argv: list[str]) -> list[str]:
    """A container command line on this machine: the venv's tools, the repository as /app."""
    tools = {"python", "gunicorn", "celery", "admin2"}
    moved = [venv_tool(argv[0]) if argv[0] in tools else argv[0], *argv[1:]]
    return [str(REPO) + a[len("/app") :] if a.startswith("/app/") else a for a in moved]


def run_once(argv: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def stack():
    if not port_open(5432):
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (scripts/ensure-system-deps)")
    ensure_role()
    database = f"admin2_stack_{free_port()}"
    assert psql(f"CREATE DATABASE {database} OWNER {ROLE}").returncode == 0
    services = compose.resolved("production")["services"]
    with world_readable_dir("admin2-stack-") as root:
        ports = {"nginx": free_port(), "tls": free_port(), "web": free_port(), "redis": free_port()}
        state = root / "app"  # the container's /app state: var, media (volumes)
        state.mkdir()
        image_static = root / "image-static"  # the image's /app/static, collected at build
        (root / "redis").mkdir()
        redis_url = f"redis://127.0.0.1:{ports['redis']}"
        # Only where a container and a laptop must differ (docs/testing.md): ports on loopback,
        # no ClickHouse host (the embedded engine: nothing may leave this machine), the host
        # names a client on this machine uses.
        common = {
            "POSTGRES_DB": database,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORT_WEB": str(ports["web"]),
            "DJANGO_STATIC_ROOT": str(image_static),
            "CLICKHOUSE_HOST": "",
            "CLICKHOUSE_DATABASE": "default",
            "EMAIL_HOST": "127.0.0.1",
            "ADMIN2_TASKS_HEARTBEAT_SECONDS": "2",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "2",
            # Native Gunicorn sees Nginx at 127.0.0.1, not at the frontend subnet.
            "GUNICORN_FORWARDED_ALLOW_IPS": "127.0.0.1",
            "ADMIN2_READYZ_TOKEN": READYZ_TOKEN,  # a monitor's view of /readyz
        }
        env = {
            name: django_env(
                **service_env("production", name, state, redis_url=redis_url, **common)
            )
            for name in ("migrate", "web", "celery", "celery-beat")
        }
        for name in env:  # one secret value for all, as Compose mounts one file
            env[name]["DJANGO_SECRET_KEY_FILE"] = env["web"]["DJANGO_SECRET_KEY_FILE"]
        built = Stack(root=root, database=database, ports=ports, env=env)
        try:
            built.processes["redis"] = start_redis(
                "production", root / "redis", ports["redis"],
                Path(env["web"]["REDIS_PASSWORD_FILE"]),
            )  # fmt: skip

            # Build: the Dockerfile's collectstatic step (development settings, no secret).
            (collect,) = [c for c in run_commands(stages()["production"]) if "collectstatic" in c]
            collect = collect.split(" && ")[0].replace("/tmp/admin2-build", str(root / "build"))
            build_env = django_env(DJANGO_STATIC_ROOT=str(image_static))
            build_env["PATH"] = f"{Path(venv_tool('admin2')).parent}:{build_env['PATH']}"
            run_once(["bash", "-c", collect], build_env, "build-time collectstatic")

            # migrate: the one-shot release job, its static volume a directory Nginx serves.
            built.static_volume = root / "volumes" / "static"
            migrate = [
                str(built.static_volume) if a == "/srv/static" else a
                for a in native(services["migrate"]["command"])
            ]
            output = run_once(migrate, env["migrate"], "the migrate job")
            assert "published static files" in output
            run_once(
                [venv_tool("admin2"), "createsuperuser", "--noinput", "--username", "boss",
                 "--email", "boss@example.com"],
                {**env["web"], "DJANGO_SUPERUSER_PASSWORD": PASSWORD}, "createsuperuser",
            )  # fmt: skip

            web = [*native(services["web"]["command"]), "--bind", f"127.0.0.1:{ports['web']}"]
            built.processes["web"] = ManagedProcess(web, env=env["web"], log=root / "web.log")
            for name in ("celery", "celery-beat"):
                built.processes[name] = ManagedProcess(
                    native(services[name]["command"]), env=env[name], log=root / f"{name}.log"
                )
            wait_until(
                lambda: _answers(f"http://127.0.0.1:{ports['web']}/healthz")
                or not built.processes["web"].alive(),
                60, "Gunicorn",
            )  # fmt: skip
            assert built.processes["web"].alive(), built.processes["web"].output()

            certs = root / "volumes" / "certs"
            nginx_env = services["nginx"]["environment"]
            assert nginx_env["NGINX_TLS"] == "on", "the example runs production with TLS"
            self_signed_certificate(certs, nginx_env["NGINX_TLS_CERT"], nginx_env["NGINX_TLS_KEY"])
            built.cert = certs / nginx_env["NGINX_TLS_CERT"]
            main = nginx_tree(
                "production", root / "nginx", web_port=ports["web"],
                volumes={"static": built.static_volume, "media": state / "media", "certs": certs},
                env={"PORT_NGINX": str(ports["nginx"]), "NGINX_TLS_PORT": str(ports["tls"])},
            )  # fmt: skip
            (root / "nginx-run").mkdir()
            built.nginx = start_nginx(root / "nginx-run", main, ports["nginx"], ports["tls"])
            yield built
        finally:
            if built.nginx:
                built.nginx.stop()
            # Workers before Redis: with Redis gone a worker ignores TERM for a long time.
            for name in ("web", "celery-beat", "celery", "redis"):
                if name in built.processes:
                    built.processes[name].stop()
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2, headers={"Host": "127.0.0.1"}).status_code == 200
    except requests.RequestException:
        return False


def login(stack: Stack) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    # Per request: requests lets REQUESTS_CA_BUNDLE override a Session's own `verify`.
    url = f"{stack.https}/admin/login/"
    form = session.get(url, timeout=10, verify=str(stack.cert))
    assert form.status_code == 200, form.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = session.post(
        url,
        data={"csrfmiddlewaretoken": token, "username": "boss", "password": PASSWORD,
              "next": "/admin/"},
        headers={"Referer": url},  # Django checks it on HTTPS requests, browsers send it
        timeout=10, allow_redirects=False, verify=str(stack.cert),
    )  # fmt: skip
    return session, response


def test_login_through_nginx_over_https_with_production_cookies(stack):
    session, response = login(stack)
    assert response.status_code == 302, response.text[:1000]
    assert response.headers["Location"] == "/admin/"
    cookies = {c.name: c for c in session.cookies}
    assert cookies["sessionid"].secure and cookies["csrftoken"].secure
    index = session.get(f"{stack.https}/admin/", timeout=10, verify=str(stack.cert))
    assert index.status_code == 200
    assert "boss" in index.text
    assert index.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_plain_http_is_redirected_to_https(stack):
    response = requests.get(f"{stack.http}/admin/", timeout=5, allow_redirects=False)
    assert response.status_code == 308
    assert response.headers["Location"] == f"{stack.https}/admin/"


def test_one_request_id_from_nginx_through_django_to_both_access_logs(stack):
    response = requests.get(f"{stack.https}/healthz", verify=str(stack.cert), timeout=5)
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # made by Nginx, kept by Django
    logged = stack.nginx_log(request_id)
    assert logged["upstream_addr"] == f"127.0.0.1:{stack.ports['web']}"
    assert logged["scheme"] == "https"

    def gunicorn_line():
        for line in stack.processes["web"].output().splitlines():
            if line.startswith("{") and request_id in line:
                entry = json.loads(line)
                if entry.get("logger") == "gunicorn.access":
                    return entry
        return None

    entry = wait_until(gunicorn_line, 5, "Gunicorn's access log line")
    assert (entry["path"], entry["status"], entry["client_ip"]) == ("/healthz", 200, "127.0.0.1")


def test_static_file_referenced_by_the_page_is_served_by_nginx_with_cache_headers(stack):
    page = requests.get(f"{stack.https}/admin/login/", verify=str(stack.cert), timeout=10)
    hashed = re.findall(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js))"', page.text)
    assert hashed, "the login page references no hashed static file"
    response = requests.get(
        f"{stack.https}{hashed[0]}", verify=str(stack.cert), timeout=5,
        headers={"Accept-Encoding": "gzip"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers.get("Content-Encoding") == "gzip" or len(response.content) < 1024
    assert stack.nginx_log(response.headers["X-Request-ID"])["upstream_addr"] == ""


def test_readiness_through_nginx_reports_postgresql_and_redis(stack):
    response = requests.get(
        f"{stack.https}/readyz", verify=str(stack.cert), timeout=15,
        headers={"Authorization": f"Bearer {READYZ_TOKEN}"},
    )  # fmt: skip
    body = response.json()
    assert body["checks"]["database"]["status"] == "up", body
    assert body["checks"]["database"]["detail"] == "postgresql"
    assert body["checks"]["cache"]["detail"] == "RedisCache"
    assert response.status_code == 200, json.dumps(body, indent=1)


def test_beat_and_the_eventlet_worker_run_the_heartbeat_into_postgresql(stack):
    def heartbeat_rows():
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname=stack.database) as conn:
            return conn.execute("SELECT count(*) FROM tasks_workerheartbeat").fetchone()[0]

    assert wait_until(heartbeat_rows, 60, "a heartbeat written by the worker") >= 1
    assert "eventlet" in stack.processes["celery"].output().lower()


def test_every_health_check_passes_as_compose_runs_it(stack):
    services = compose.resolved("production")["services"]
    port = {"redis": stack.ports["redis"], "nginx": stack.ports["nginx"]}
    commands = {
        "redis": redis_healthcheck("production", port["redis"],
                                   Path(stack.env["web"]["REDIS_PASSWORD_FILE"])),
        "db": (healthcheck_argv(services["db"]["healthcheck"]["test"], after="pg_isready",
                                extra=["-h", "127.0.0.1", "-p", "5432"]), None),
        "nginx": ([a.replace(":8061/", f":{port['nginx']}/") for a in
                   healthcheck_argv(services["nginx"]["healthcheck"]["test"])], None),
    }  # fmt: skip
    for name in ("web", "celery", "celery-beat"):
        commands[name] = (native(healthcheck_argv(services[name]["healthcheck"]["test"])),
                          stack.env[name])  # fmt: skip
    for name, (argv, env) in commands.items():

        def passes(argv=argv, env=env, name=name):
            result = subprocess.run(
                argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=30, check=False
            )
            # redis-cli exits 0 on an error reply too (NOAUTH): only PONG is healthy.
            healthy = result.returncode == 0 and (name != "redis" or result.stdout == "PONG\n")
            return result if healthy else None

        # Compose allows start_period plus retries x interval before calling it unhealthy.
        result = wait_until(passes, 60, f"the {name} health check {argv}")
        assert result.returncode == 0, name


def test_login_posts_hit_nginxs_rate_limit_before_django(stack):
    statuses = []
    for _ in range(8):
        statuses.append(login(stack)[1].status_code)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, statuses
    refused = login(stack)[1]
    assert refused.status_code == 429
    assert "Too many login attempts" in refused.text
    assert stack.nginx_log(refused.headers["X-Request-ID"])["upstream_addr"] == ""


def test_web_down_answers_with_nginxs_unavailable_page(stack):
    stack.processes["web"].stop()
    response = requests.get(f"{stack.https}/admin/", verify=str(stack.cert), timeout=15)
    assert response.status_code == 502
    assert "admin2 is unavailable right now" in response.text
