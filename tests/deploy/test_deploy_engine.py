"""`just deploy-prod` over the local sshd to a server checkout, on the real Docker Engine.

One server, in order: releases built once and pulled by digest (first, code under traffic,
settings, broken ones), `just rollback` offline, the weekly image check, certbot against
Pebble. Figures go to test-results/deploy-engine.json; docs/containers.md lists the steps.
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import time

import pytest
import requests

from harness import engine
from harness.deploy_world import RequestLoop, destroy, make_world
from harness.git import git
from harness.pebble import Pebble
from harness.processes import REPO

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.timeout(1800)]

FIGURES = REPO / "test-results" / "deploy-engine.json"
MIGRATION = "src/admin2_tasks/admin2_tasks/migrations/0002_e2e_release_c.py"


def figure(name: str, value) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    data = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    data[name] = value
    FIGURES.write_text(json.dumps(data, indent=1, sort_keys=True))
    engine.log(f"{name}: {value}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    built = make_world(tmp_path_factory.mktemp("deploy-engine"))
    try:
        yield built
    finally:
        destroy(built)


def ok(result) -> None:
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


def test_first_deploy_pulls_by_digest_migrates_switches_and_passes_the_health_gate(world):
    first = world.built[0]
    digest = world.digests[first].split("@")[1]
    assert engine.docker("image", "inspect", f"admin2:{first}", check=False).returncode != 0

    result = world.deploy()

    ok(result)
    figure("first_deploy_seconds", round(result.seconds, 1))
    assert f"pulling {world.digests[first]}" in result.stdout
    assert "building images" not in result.stdout and "refused on the deploy server" not in (
        result.stdout + result.stderr
    )
    assert world.state("current") == first
    assert world.image_of("web") == f"admin2:{first}"
    repo_digests = engine.docker(
        "image", "inspect", "--format", "{{json .RepoDigests}}", f"admin2:{first}"
    ).stdout.decode()
    assert world.digests[first] in repo_digests, "the image that runs is the pushed one"
    assert world.get("/healthz").status_code == 200
    assert world.get("/readyz").status_code == 200
    assert world.releases_log()[-1][1:4] == ["deploy", first, "ok"]
    assert world.releases_log()[-1][5] == digest, "the release log records the digest"
    for name in ("postgres:15-bookworm", "redis:7.4-bookworm", "nginx:1.28-bookworm"):
        assert f"third-party image {name} is pinned and here: sha256:" in result.stdout
    # COMPOSE_PROFILES=monitoring (the env example's): the release started the profile too.
    assert "monitoring running: prometheus alertmanager alert-hook" in result.stdout + result.stderr
    assert git(world.server, "rev-parse", f"refs/admin2/releases/{first}") == first
    # a first deploy has nothing to back up before migrating
    assert not world.backups.exists() or not list(world.backups.glob("admin2-*"))


def test_a_code_deploy_fails_no_request_through_nginx(world):
    steady = {s: world.containers(s) for s in ("nginx", "redis", "db")}
    second = world.release(
        "release B: code only",
        {"src/admin2/admin2/e2e_release.py": 'RELEASE = "B"\n'},
    )

    with RequestLoop(world) as loop:
        result = world.deploy()

    ok(result)
    figure("code_deploy_seconds", round(result.seconds, 1))
    figure("code_deploy_requests", loop.total)
    figure("code_deploy_failed_requests", loop.failed)
    figure("code_deploy_retried_requests", loop.retried)
    figure("code_deploy_switch_seconds", world.switch_seconds())
    assert world.state("current") == second and world.state("previous") == world.built[0]
    assert world.image_of("web") == f"admin2:{second}"
    assert world.image_of("celery") == f"admin2:{second}"
    assert loop.total > 20, "the loop ran through the whole deploy"
    assert loop.failed == 0, loop.failures[:20]
    # nothing they read from the host changed: they were not restarted
    assert {s: world.containers(s) for s in steady} == steady
    assert "stopping the old replicas" in result.stdout


@pytest.fixture(scope="module")
def settings_release(world):
    """Release C changes nginx.conf, a Redis and a PostgreSQL setting and adds a migration."""
    nginx_conf = world.read("containers/nginx/nginx.conf")
    redis_conf = world.read("containers/redis/redis.production.conf")
    pg_conf = world.read("containers/postgres/postgresql.conf")
    assert "keepalive_timeout 65s;" in nginx_conf and "maxmemory 384mb" in redis_conf
    assert "work_mem = 8MB" in pg_conf
    third = world.release(
        "release C: settings and a migration",
        {
            "containers/nginx/nginx.conf": nginx_conf.replace(
                "keepalive_timeout 65s;", "keepalive_timeout 61s;"
            ),
            "containers/redis/redis.production.conf": redis_conf.replace(
                "maxmemory 384mb", "maxmemory 400mb"
            ),
            "containers/postgres/postgresql.conf": pg_conf.replace(
                "work_mem = 8MB", "work_mem = 12MB"
            ),
            MIGRATION: MIGRATION_TEXT,
        },
    )
    result = world.deploy()
    ok(result)
    figure("config_deploy_seconds", round(result.seconds, 1))
    return third, result


def psql(world, sql: str) -> str:
    return world.exec("db", "psql", "-U", "admin2", "-d", "admin2", "-Atc", sql).strip()


def test_a_changed_nginx_conf_is_served_after_the_deploy(world, settings_release):
    assert "keepalive_timeout 61s;" in world.exec("nginx", "nginx", "-T")
    assert world.get("/healthz").status_code == 200


def test_a_changed_redis_setting_is_live_after_the_deploy(world, settings_release):
    maxmemory = world.exec("redis", "redis-cli", "config", "get", "maxmemory").split()[-1]
    assert maxmemory == str(400 * 1024 * 1024)


def test_a_changed_postgresql_setting_is_live_after_the_deploy(world, settings_release):
    assert psql(world, "show work_mem") == "12MB"


def test_a_release_with_a_migration_is_backed_up_first_and_migrated(world, settings_release):
    third, result = settings_release
    (backup,) = world.backups.glob(f"admin2-*-pre-migrate-{third[:12]}")
    assert (backup / "db.dump").read_bytes()[:5] == b"PGDMP"
    assert "migrations are pending: database backup first" in result.stdout
    tables = "select count(*) from pg_tables where tablename = 'e2e_release_c'"
    assert psql(world, tables) == "1"


def test_a_release_whose_web_fails_its_health_check_is_rolled_back_while_the_previous_serves(world):
    good = world.state("current")
    healthcheck = world.read("containers/healthcheck.py")
    broken = world.release(
        "release D: web never healthy",
        {
            "containers/healthcheck.py": healthcheck.replace(
                "import sys\n", "import sys\n\nsys.exit('broken on purpose: release D')\n", 1
            )
        },
    )

    with RequestLoop(world) as loop:
        result = world.deploy(DEPLOY_HEALTH_TIMEOUT="45")

    assert result.returncode != 0
    figure("failed_deploy_requests", loop.total)
    figure("failed_deploy_failed_requests", loop.failed)
    assert loop.failed == 0, loop.failures[:20]
    assert world.state("current") == good
    assert world.image_of("web") == f"admin2:{good}"
    assert git(world.server, "rev-parse", "HEAD") == good, "the checkout is put back"
    log = world.releases_log()
    assert log[-2][1:4] == ["deploy", broken, "failed"]
    assert log[-1][1:4] == ["rollback", good, "ok"], result.stdout[-5000:]
    assert world.get("/healthz").status_code == 200
    assert "SUBJECT: admin2: deploy on" in world.alerts.read_text(), "the failure was alerted"


def test_a_release_whose_nginx_conf_fails_nginx_t_changes_nothing_that_serves(world):
    good = world.state("current")
    nginx_before = world.containers("nginx")
    healthcheck = git(world.laptop, "show", f"{good}:containers/healthcheck.py") + "\n"
    nginx_conf = world.read("containers/nginx/nginx.conf")
    broken = world.release(
        "release E: Nginx configuration that does not start",
        {
            "containers/healthcheck.py": healthcheck,  # D's breakage undone: web is healthy
            "containers/nginx/nginx.conf": nginx_conf.replace(
                "http {", "http {\n    no_such_directive on;", 1
            ),
        },
    )

    with RequestLoop(world) as loop:
        result = world.deploy()

    assert result.returncode != 0
    assert loop.failed == 0, loop.failures[:20]
    assert world.containers("nginx") == nginx_before, "the running Nginx was not touched"
    assert "nginx configuration of this release FAILS nginx -t" in result.stdout
    assert 'unknown directive "no_such_directive"' in result.stdout
    assert "no_such_directive" not in world.exec("nginx", "nginx", "-T")
    assert world.state("current") == good
    assert world.image_of("web") == f"admin2:{good}"
    log = world.releases_log()
    assert log[-2][1:4] == ["deploy", broken, "failed"]
    assert log[-1][1:4] == ["rollback", good, "ok"]


def test_a_release_whose_redis_conf_does_not_start_leaves_redis_as_it_was(world):
    good = world.state("current")
    nginx_conf = git(world.laptop, "show", f"{good}:containers/nginx/nginx.conf") + "\n"
    redis_conf = world.read("containers/redis/redis.production.conf")
    broken = world.release(
        "release F: Redis configuration that does not start",
        {
            "containers/nginx/nginx.conf": nginx_conf,  # E's breakage undone
            "containers/redis/redis.production.conf": redis_conf + "\nno-such-option yes\n",
        },
    )

    result = world.deploy()

    assert result.returncode != 0
    assert "db and redis did not start healthy with this release's configuration" in result.stdout
    assert f"db and redis run {good}'s configuration" in result.stdout
    maxmemory = world.exec("redis", "redis-cli", "config", "get", "maxmemory").split()[-1]
    assert maxmemory == str(400 * 1024 * 1024), "release C's setting, still live"
    assert world.get("/readyz").status_code == 200
    assert world.state("current") == good
    assert git(world.server, "rev-parse", "HEAD") == good
    assert world.releases_log()[-1][1:4] == ["deploy", broken, "failed"]


def test_rollback_works_offline_past_a_dirty_checkout_and_never_rebuilds(world):
    current, previous = world.state("current"), world.state("previous")
    assert current and previous
    # the git server is gone, and so is the registry
    shutil.move(world.origin, world.origin.with_name("origin-gone.git"))
    world.registry.stop()
    # someone edited a tracked file on the server
    (world.server / "containers" / "gunicorn.conf.py").write_text("# edited on the server\n")

    refused = world.deploy("rollback")
    assert refused.returncode != 0
    assert "has local changes" in refused.stdout + refused.stderr
    assert world.state("current") == current

    result = world.deploy("rollback", "--force")

    ok(result)
    figure("rollback_seconds", round(result.seconds, 1))
    out = result.stdout
    assert "discarding these local changes on the server (--force):" in out
    assert "containers/gunicorn.conf.py" in out
    assert "no fetch needed" in out and "building images" not in out and "pulling" not in out
    assert world.releases_log()[-1][5] == world.digests[previous].split("@")[1]
    assert world.state("current") == previous
    assert world.image_of("web") == f"admin2:{previous}"
    assert world.releases_log()[-1][1:4] == ["rollback", previous, "ok"]
    assert world.get("/healthz").status_code == 200
    # back to release B's settings: nginx and the database take them again
    assert "keepalive_timeout 65s;" in world.exec("nginx", "nginx", "-T")
    show = world.exec("db", "psql", "-U", "admin2", "-d", "admin2", "-Atc", "show work_mem")
    assert show.strip() == "8MB"


def test_a_rollback_to_a_release_without_its_image_refuses_to_rebuild(world):
    target = world.built[0]
    assert world.state("current") != target
    engine.docker("image", "rm", "--force", f"admin2:{target}")

    result = world.deploy("rollback", target)

    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert f"the image admin2:{target} is not on this server" in out
    assert "a rollback never rebuilds one" in out
    assert world.image_of("web") == f"admin2:{world.state('current')}"


def test_a_deploy_of_a_commit_never_released_is_refused_before_the_server_is_touched(world):
    world.registry.start()  # back after the rollback test took it away
    current = world.state("current")
    git(world.laptop, "commit", "-q", "--allow-empty", "-m", "release G: never released")

    result = world.deploy()

    assert result.returncode != 0
    assert "is not in the registry: run 'just release'" in result.stderr
    assert world.state("current") == current


def test_the_weekly_image_check_reports_a_moved_tag_and_a_newer_patch(world):
    pins = world.laptop / "containers" / "image-pins"
    check = ["python3", str(world.laptop / "deploy" / "lib" / "image_pins.py"), "check", str(pins)]
    quiet = subprocess.run(check, capture_output=True, text=True, check=False)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert quiet.stdout.count("ok ") == 3
    # upstream publishes 7.4.99 and moves 7.4-bookworm to it
    redis = f"{world.registry.address}/library/redis"
    newer = (
        engine.docker(
            "build", "-q", "-", stdin=b"FROM redis:7.4-bookworm\nLABEL e2e.patch=7.4.99\n"
        )
        .stdout.decode()
        .strip()
    )
    for tag in ("7.4.99-bookworm", "7.4-bookworm"):
        engine.docker("tag", newer, f"{redis}:{tag}")
        engine.docker("push", f"{redis}:{tag}")
    engine.docker("image", "rm", f"{redis}:7.4.99-bookworm")

    found = subprocess.run(check, capture_output=True, text=True, check=False)

    assert found.returncode == 3, found.stdout + found.stderr
    assert "UPDATE redis:7.4-bookworm" in found.stdout
    assert "newest patch tag 7.4.99-bookworm" in found.stdout
    assert "ok postgres:15-bookworm" in found.stdout


# ---- certificates from an ACME CA: certbot against Pebble, HTTP-01 on the production Nginx ----


@pytest.fixture(scope="module")
def acme(world, tmp_path_factory):
    """Pebble validating at localhost:<Nginx's plain port>; the server's certbot state."""
    root = tmp_path_factory.mktemp("acme")
    pebble = Pebble(root / "pebble", world.stack.ports["nginx"]).start()
    env = {
        "ADMIN2_ACME_DOMAINS": "localhost",
        "ADMIN2_ACME_SERVER": pebble.directory,
        "ADMIN2_ACME_DIR": str(root / "letsencrypt"),
        "REQUESTS_CA_BUNDLE": str(pebble.listener_ca),  # certbot talks to Pebble's listener
    }
    try:
        yield pebble, env, root / "letsencrypt"
    finally:
        pebble.stop()


def served_certificate(world) -> tuple[str, str]:
    """(issuer, serial) of the certificate Nginx presents on its TLS port."""
    pem = ssl.get_server_certificate(("127.0.0.1", world.stack.ports["tls"]))
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-issuer", "-serial"],
        input=pem, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    fields = dict(line.split("=", 1) for line in out.splitlines())
    return fields["issuer"], fields["serial"]


def served_certificate_after_reload(world, expected, timeout: float = 20) -> tuple[str, str]:
    """The served (issuer, serial) once ``expected`` holds, or the last seen after ``timeout``:
    `nginx -s reload` returns before the master has started its new workers, so the first
    connections after it may still meet an old worker with the old certificate."""
    deadline = time.monotonic() + timeout
    seen = served_certificate(world)
    while not expected(*seen) and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = served_certificate(world)
    return seen


class VerifiedLoop(RequestLoop):
    """The request loop, verifying Nginx's certificate against Pebble's root."""

    def __init__(self, world, root_ca):
        super().__init__(world)
        self.root_ca = str(root_ca)

    def _get(self, session):
        try:
            response = self.world.get(self.path, session=session, timeout=10, verify=self.root_ca)
            return response.status_code == 200, f"{response.status_code}"
        except requests.RequestException as error:
            return False, type(error).__name__


def test_certbot_obtains_a_certificate_through_http01_on_the_production_nginx(world, acme):
    pebble, env, _ = acme
    nginx_before = world.containers("nginx")

    result = world.on_server("deploy/certs.sh", "issue", **env)

    assert result.returncode == 0, result.stdout + result.stderr
    issuer, _ = served_certificate_after_reload(world, lambda issuer, _: "Pebble" in issuer)
    assert "Pebble Intermediate CA" in issuer, issuer
    assert world.containers("nginx") == nginx_before, "reloaded, not restarted"
    assert world.get("/healthz", verify=str(pebble.root_ca())).status_code == 200


def test_a_renewal_before_expiry_reloads_nginx_and_fails_no_request(world, acme):
    pebble, env, state = acme
    _, serial_before = served_certificate(world)
    nginx_before = world.containers("nginx")
    # "due": renew when fewer than 100000 days are left, so the real renewal rule fires
    renewal = state / "renewal" / "localhost.conf"
    renewal.write_text("renew_before_expiry = 100000 days\n" + renewal.read_text())

    with VerifiedLoop(world, pebble.root_ca()) as loop:
        result = world.on_server("deploy/certs.sh", "renew", **env)

    assert result.returncode == 0, result.stdout + result.stderr
    figure("certificate_renewal_requests", loop.total)
    figure("certificate_renewal_failed_requests", loop.failed)
    assert loop.total > 5 and loop.failed == 0, loop.failures[:20]
    issuer, serial = served_certificate_after_reload(
        world, lambda issuer, serial: "Pebble" in issuer and serial != serial_before
    )
    assert "Pebble" in issuer and serial != serial_before, "the new certificate is served"
    assert world.containers("nginx") == nginx_before, "reloaded, not restarted"
    # certbot reports its deploy hook's output among its own
    assert "nginx reloaded with the new certificate" in result.stdout, result.stdout


def test_a_failed_challenge_raises_an_alert_and_keeps_the_certificate(world, acme):
    pebble, env, state = acme
    served_before = served_certificate(world)
    alerts_before = world.alerts.read_text() if world.alerts.exists() else ""
    # the tokens go where Nginx does not serve them: Pebble's validation gets a 404
    renewal = state / "renewal" / "localhost.conf"
    elsewhere = state.parent / "not-served"
    elsewhere.mkdir()
    text = renewal.read_text()
    renewal.write_text(re.sub(r"(?m)^localhost = .*$", f"localhost = {elsewhere}", text))
    assert renewal.read_text() != text, text

    result = world.on_server("deploy/certs.sh", "renew", **env)

    assert result.returncode != 0
    assert "certificate renewal failed (alert sent)" in result.stderr
    new_alerts = world.alerts.read_text()[len(alerts_before) :]
    assert "SUBJECT: admin2: certificate renewal FAILED" in new_alerts
    assert served_certificate(world) == served_before
    assert world.get("/healthz", verify=str(pebble.root_ca())).status_code == 200


MIGRATION_TEXT = '''"""Test-only migration (tests/deploy/test_deploy_engine.py): one new table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE TABLE e2e_release_c (id serial PRIMARY KEY, note text)",
            "DROP TABLE e2e_release_c",
        )
    ]
'''
