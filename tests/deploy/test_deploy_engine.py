"""`just deploy-prod` over the local sshd to a server checkout, on the real Docker Engine.

One server, in order: the first deploy, a code deploy under traffic (0 failed requests is
the goal), releases that change configuration, fail their health check or fail `nginx -t`,
then `just rollback`. Figures go to test-results/deploy-engine.json.
"""

from __future__ import annotations

import json
import shutil

import pytest

from harness import engine
from harness.deploy_world import RequestLoop, destroy, make_world
from harness.git import git
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


def test_first_deploy_builds_migrates_switches_and_passes_the_health_gate(world):
    first = world.built[0]

    result = world.deploy()

    ok(result)
    figure("first_deploy_seconds", round(result.seconds, 1))
    assert world.state("current") == first
    assert world.image_of("web") == f"admin2:{first}"
    assert world.get("/healthz").status_code == 200
    assert world.get("/readyz").status_code == 200
    assert world.releases_log()[-1][1:4] == ["deploy", first, "ok"]
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
    assert log[-1][1:4] == ["rollback", good, "ok"]
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
    # the git server is gone
    shutil.move(world.origin, world.origin.with_name("origin-gone.git"))
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
    assert "no fetch needed" in out and "building images" not in out
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
