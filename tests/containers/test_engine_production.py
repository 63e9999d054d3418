"""The production stack on the real Docker Engine, reached only through Nginx on 127.0.0.1.

The image from containers/Dockerfile and the Compose file as written, TLS on; only what a
test machine must change differs (engine_stack.py). The tests run in order on one stack
(module fixture): first what staff do, then faults.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest
import requests

from harness import compose, engine
from harness.engine_stack import ComposeStack, csrf_token
from harness.processes import REPO, wait_until
from tests.containers import engine_monitoring as monitoring
from tests.containers.engine_monitoring import Sinks, monitoring_override

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.timeout(900)]

PASSWORD = "a-long-production-password-7"  # throwaway test account
IMAGE_TAG = engine.TEST_TAG
TIMINGS = REPO / "test-results" / "containers-engine.json"


def record(name: str, seconds: float) -> None:
    engine.record_timing(TIMINGS, name, seconds)


def worker_override(workdir: Path) -> Path:
    """Test-only: the production worker command plus ``-I e2e_engine_tasks``, that module
    mounted read-only beside the image's code. Everything else is the Compose file's."""
    command = compose.raw("production")["services"]["celery"]["command"]
    override = {
        "services": {
            "celery": {
                "command": [*command, "-I", "e2e_engine_tasks"],
                "volumes": [{
                    "type": "bind",
                    "source": str(REPO / "tests" / "containers" / "engine_tasks.py"),
                    "target": "/app/e2e/e2e_engine_tasks.py",
                    "read_only": True,
                }],
                "environment": {"PYTHONPATH": "/app:/app/e2e"},
            }
        }
    }  # fmt: skip
    path = workdir / "worker-override.json"
    path.write_text(json.dumps(override, indent=1))
    return path


@pytest.fixture(scope="module")
def sinks():
    """The monitoring profile's SMTP server and dead-man's endpoint (engine_monitoring.py)."""
    started = Sinks()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def prod(sinks):
    engine.require_engine()
    started = time.monotonic()
    made = engine.ensure_images()
    engine.log(f"registry images: {made}")
    record("production.images_ready", time.monotonic() - started)
    record("production.build", engine.build_app("production", f"admin2:{IMAGE_TAG}"))
    workdir = Path(tempfile.mkdtemp(prefix="admin2-e2e-prod-"))
    workdir.chmod(0o755)
    stack = ComposeStack(
        "production", workdir, IMAGE_TAG,
        extra_files=(worker_override(workdir), monitoring_override(workdir, sinks)),
        # Production's 30 s, not less: the eventlet worker sweeps unacknowledged messages back
        # into the queue only when a poll of the broker comes back empty, and a message every
        # 2-5 s left it no such moment (docs/containers.md, "Found by running").
        ADMIN2_TASKS_HEARTBEAT_SECONDS="30",
        CELERY_VISIBILITY_TIMEOUT="15",  # a lost worker's task comes back within seconds
        CELERY_TASK_TIME_LIMIT="12",
        CELERY_TASK_SOFT_TIME_LIMIT="10",
        ADMIN2_READYZ_TIMEOUT="3",
        **monitoring.FAST,
    )  # fmt: skip
    try:
        record("production.up_to_healthy", stack.up())
        yield stack
    finally:
        stack.down_unless_kept()


def login(stack: ComposeStack) -> requests.Session:
    session = requests.Session()
    url = f"{stack.https}/admin/login/"
    form = stack.get("/admin/login/", session)
    assert form.status_code == 200, form.text[:500]
    response = session.post(
        url,
        data={"csrfmiddlewaretoken": csrf_token(form.text), "username": "boss",
              "password": PASSWORD, "next": "/admin/"},
        headers={"Referer": url}, timeout=20, allow_redirects=False, verify=stack.cert,
    )  # fmt: skip
    assert response.status_code == 302, response.text[:2000]
    assert response.headers["Location"] == "/admin/"
    return session


def e2e_lines(stack: ComposeStack, name: str) -> list[str]:
    """Lines the test task wrote into the app_var volume, read on the host (root) through the
    volume's mount point: instant, where a `compose exec` takes a second or more."""
    volume = f"{stack.project}_app_var"
    mountpoint = engine.docker("volume", "inspect", "--format", "{{.Mountpoint}}", volume)
    path = Path(mountpoint.stdout.decode().strip()) / "e2e" / name
    text = path.read_text() if path.exists() else ""
    return [line for line in text.splitlines() if line.strip()]


def submit(stack: ComposeStack, task: str, kwargs: dict) -> str:
    code = (
        "from admin2 import background; "
        f"print('TASK', background.submit({task!r}, kwargs={kwargs!r}))"
    )
    output = stack.exec("web", "admin2", "shell", "-c", code).stdout
    return next(line.split()[1] for line in output.splitlines() if line.startswith("TASK "))


def sql(stack: ComposeStack, query: str) -> str:
    env = stack.env
    result = stack.exec("db", "psql", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"],
                        "-tAXc", query)  # fmt: skip
    return result.stdout.strip()


# ---- what staff do ---------------------------------------------------------------------------


def test_every_service_is_healthy_and_only_loopback_ports_are_published(prod):
    for service in ("web", "celery", "celery-beat", "redis", "db", "nginx"):
        assert prod.health(service) == "healthy", service
    assert prod.inspect("migrate")["State"]["ExitCode"] == 0
    for service in ("nginx", "redis"):
        bindings = prod.inspect(service)["HostConfig"]["PortBindings"]
        assert bindings and all(b["HostIp"] == "127.0.0.1" for v in bindings.values() for b in v)
    for service in ("web", "celery", "celery-beat", "db"):
        assert not prod.inspect(service)["HostConfig"]["PortBindings"], service


def test_healthz_answers_through_nginx_over_https(prod):
    response = prod.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = requests.get(f"{prod.http}/healthz", timeout=10, allow_redirects=False)
    assert plain.status_code == 308


def test_superuser_from_compose_exec_logs_in_and_the_admin_index_loads(prod):
    prod.exec(
        "web", "admin2", "createsuperuser", "--noinput", "--username", "boss",
        "--email", "boss@example.com", env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )  # fmt: skip
    session = login(prod)
    cookies = {c.name: c for c in session.cookies}
    assert cookies["sessionid"].secure
    index = prod.get("/admin/", session)
    assert index.status_code == 200
    assert "boss" in index.text


def test_nginx_serves_a_static_file_the_page_references(prod):
    page = prod.get("/admin/login/")
    import re

    hashed = re.findall(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js))"', page.text)
    assert hashed, page.text[:1000]
    response = prod.get(hashed[0])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert len(response.content) > 0


def test_analytics_console_explains_that_the_warehouse_is_absent(prod):
    session = login(prod)
    form = prod.get("/admin/analytics/console/", session)
    assert form.status_code == 200, form.text[:1000]
    url = f"{prod.https}/admin/analytics/console/"
    started = time.monotonic()
    reply = session.post(
        url, data={"csrfmiddlewaretoken": csrf_token(form.text), "sql": "SELECT 1"},
        headers={"Referer": url}, timeout=30, verify=prod.cert,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text[:1000]
    assert "ClickHouse is unavailable" in reply.text, reply.text[-3000:]
    assert time.monotonic() - started < 10


def test_run_a_task_now_completes_on_the_eventlet_worker(prod):
    session = login(prod)
    page = prod.get("/admin/tasks/run/", session)
    assert page.status_code == 200, page.text[:1000]
    url = f"{prod.https}/admin/tasks/run/"
    response = session.post(
        url, data={"csrfmiddlewaretoken": csrf_token(page.text), "key": "tasks: round trip"},
        headers={"Referer": url}, timeout=20, verify=prod.cert, allow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 302, response.text[:1000]
    assert "/admin/tasks/taskrun/" in response.headers["Location"], response.headers["Location"]
    run_id = response.headers["Location"].rstrip("/").split("/")[-2]

    def finished():
        state = sql(prod, f"SELECT state FROM tasks_taskrun WHERE id = {int(run_id)}")  # noqa: S608
        return state if state in {"SUCCESS", "FAILURE"} else None

    assert wait_until(finished, 60, "the round trip to finish") == "SUCCESS"
    assert "eventlet" in prod.logs("celery", tail=400).lower()


def test_beats_heartbeat_is_recorded_by_the_worker(prod):
    def rows():
        return int(sql(prod, "SELECT count(*) FROM tasks_workerheartbeat") or 0)

    assert wait_until(rows, 60, "a heartbeat row") >= 1
    seen = sql(prod, "SELECT extract(epoch FROM now() - max(last_seen)) FROM tasks_workerheartbeat")
    assert float(seen) < 30


# ---- faults ---------------------------------------------------------------------------------


def test_a_worker_container_killed_mid_task_comes_back_and_the_task_completes_once(prod):
    restarts = prod.inspect("celery")["RestartCount"]
    task_id = submit(prod, "e2e.slow_effect", {"key": "kill", "seconds": 6})
    wait_until(lambda: len(e2e_lines(prod, "kill.attempts")) == 1, 30, "the task to start")
    pid = prod.inspect("celery")["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)  # the container's init dies: a crash, not `docker stop`
    wait_until(lambda: prod.inspect("celery")["RestartCount"] > restarts, 30, "a restart")
    completions = wait_until(lambda: e2e_lines(prod, "kill.completions"), 90,
                             "the task to complete after the restart")  # fmt: skip
    time.sleep(16)  # past the visibility timeout: an unacknowledged message would come back
    assert e2e_lines(prod, "kill.completions") == [task_id] == completions
    assert len(e2e_lines(prod, "kill.attempts")) == 2
    prod.wait_healthy("celery", 120)


def test_restarting_redis_loses_no_queued_task(prod):
    prod.compose("stop", "celery")
    ids = [submit(prod, "e2e.slow_effect", {"key": "queued", "seconds": 0}) for _ in range(5)]
    prod.compose("restart", "redis")
    prod.wait_healthy("redis", 60)
    prod.compose("start", "celery")
    done = wait_until(
        lambda: (lines := e2e_lines(prod, "queued.completions")) and len(lines) >= 5 and lines,
        90, "the five queued tasks",
    )  # fmt: skip
    assert sorted(done) == sorted(ids)
    prod.wait_healthy("celery", 120)


def test_db_stopped_makes_readyz_503_naming_the_database_and_the_stack_recovers(prod):
    prod.compose("stop", "db")
    try:

        def failing():
            response = prod.get("/readyz", timeout=30)
            return (response,) if response.status_code == 503 else None  # a 503 is falsy

        (response,) = wait_until(failing, 60, "/readyz to fail")
        assert "database" in response.json()["failed"], response.text
    finally:
        prod.compose("start", "db")
    prod.wait_healthy("db", 90)
    wait_until(lambda: prod.get("/readyz", timeout=30).status_code == 200, 90, "/readyz again")
    assert prod.get("/admin/", login(prod)).status_code == 200


# ---- monitoring: every target up, then fault -> notification -> resolved ------------------
# Stand-ins: Debian's prometheus, alertmanager and exporter packages under the upstream image
# names (harness/images); the shipped rules with `for: 5s` (engine_monitoring.py).


def test_every_monitoring_service_is_healthy_and_every_target_is_up(prod):
    for service in ("prometheus", "alertmanager", "alert-hook", "node-exporter",
                    "postgres-exporter", "redis-exporter", "blackbox-exporter"):  # fmt: skip
        assert prod.health(service) == "healthy", service
    assert prod.health("nginx-exporter") == "running"  # FROM scratch: no health check
    for service in ("prometheus", "alertmanager"):
        bindings = prod.inspect(service)["HostConfig"]["PortBindings"]
        assert all(b["HostIp"] == "127.0.0.1" for v in bindings.values() for b in v), service

    def all_up():
        found = monitoring.targets(prod.prometheus)
        return found if found and all(t["health"] == "up" for t in found) else None

    jobs = {t["labels"]["job"] for t in wait_until(all_up, 120, "every target up", interval=2)}
    assert jobs == {"prometheus", "alertmanager", "admin2-web", "admin2-celery", "postgres",
                    "redis", "nginx", "node", "blackbox-tls", "clickhouse"}  # fmt: skip
    query = {"query": "admin2_build_info"}
    build = requests.get(f"{prod.prometheus}/api/v1/query", params=query, timeout=10).json()
    build = build["data"]["result"]
    assert {r["metric"]["job"] for r in build} >= {"admin2-web", "admin2-celery"}


def test_watchdog_pings_the_dead_mans_switch_on_every_repeat(prod, sinks):
    wait_until(lambda: len(sinks.pings) >= 2, 120, "two dead-man's pings", interval=1)
    assert set(sinks.pings) == {"/ping"}


def notified(prod, sinks, status: str, alert: str, since: int) -> tuple[str, str]:
    """The first e-mail after the ``since``-th with this status and alert, and the same
    notification through the hook (deploy/alert-spool.sh -> ADMIN2_ALERT_COMMAND)."""
    subject = f"[admin2 {status}] {alert}"

    def mailed():
        return next(((s, t) for s, t in sinks.mails()[since:] if s.startswith(subject)), None)

    mail = wait_until(mailed, 180, f"the {status} mail for {alert}", interval=1)
    hooked = wait_until(
        lambda: subject in (text := monitoring.hook_messages(prod.spool_dir, prod.workdir))
        and text, 60, f"the {status} hook call for {alert}", interval=1,
    )  # fmt: skip
    return mail, hooked


def fault_to_notification(prod, sinks, alert: str, runbook: str, fault, repair) -> float:
    since = len(sinks.mails())
    started = time.monotonic()
    fault()
    (_, text), hooked = notified(prod, sinks, "FIRING", alert, since)
    seconds = time.monotonic() - started
    assert f"Runbook: docs/operations.md#{runbook}" in text, text
    assert f"SUBJECT: [admin2 FIRING] {alert}" in hooked
    assert f"Runbook: docs/operations.md#{runbook}" in hooked
    since = len(sinks.mails())
    repair()
    (_, text), hooked = notified(prod, sinks, "RESOLVED", alert, since)
    assert f"RESOLVED: {alert}" in text, text
    assert f"SUBJECT: [admin2 RESOLVED] {alert}" in hooked
    return seconds


@pytest.mark.parametrize(
    ("alert", "runbook", "service", "healthy_within", "figure"),
    [
        ("CeleryWorkerOffline", "celeryworkeroffline", "celery", 120, "worker"),
        ("PostgresDown", "postgresdown", "db", 90, "postgres"),
    ],
    ids=["a stopped worker", "postgresql down"],
)
def test_a_stopped_service_is_mailed_and_hooked_then_resolved(
    prod, sinks, alert, runbook, service, healthy_within, figure
):
    seconds = fault_to_notification(
        prod, sinks, alert, runbook,
        lambda: prod.compose("stop", service), lambda: prod.compose("start", service),
    )  # fmt: skip
    record(f"monitoring.fault_to_notification.{figure}", seconds)
    prod.wait_healthy(service, healthy_within)


def test_a_certificate_with_ten_days_left_is_mailed_and_hooked_then_resolved(prod, sinks):
    env = prod.env

    def serve(days: int) -> None:
        monitoring.certificate(prod.certs_dir, env["NGINX_TLS_CERT"], env["NGINX_TLS_KEY"], days)
        prod.exec("nginx", "nginx", "-s", "reload")

    def expiring() -> bool:
        alerts = requests.get(f"{prod.prometheus}/api/v1/alerts", timeout=10).json()
        return any(a["labels"]["alertname"] == "TLSCertificateExpiring"
                   for a in alerts["data"]["alerts"])  # fmt: skip

    serve(90)  # the stack starts with a 2-day test certificate: first a healthy one
    wait_until(lambda: not expiring(), 120, "no expiring certificate", interval=2)
    seconds = fault_to_notification(
        prod, sinks, "TLSCertificateExpiring", "tlscertificateexpiring",
        lambda: serve(10), lambda: serve(90),
    )  # fmt: skip
    record("monitoring.fault_to_notification.certificate", seconds)
