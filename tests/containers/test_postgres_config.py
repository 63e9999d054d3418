"""The custom postgresql.conf and the init script, run by a real PostgreSQL server.

A private cluster started as the db service starts it (the Compose file's initdb arguments,
``-c config_file=...``), moved to loopback and a temporary directory only. Then the init
script runs as the image would run it, and the seed's health check answers.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import compose
from harness.native import healthcheck_argv, world_readable_dir
from harness.processes import free_port, require_binary, wait_until

pytestmark = pytest.mark.slow


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL server binaries ({name}) are not installed")
    return found[-1]


def as_postgres(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    runuser = require_binary("runuser", "apt-get install util-linux")
    return subprocess.run(
        [runuser, "-u", "postgres", "--", *argv],
        capture_output=True, text=True, timeout=60, check=False, **kwargs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    db = compose.resolved("production")["services"]["db"]
    initdb_args = db["environment"]["POSTGRES_INITDB_ARGS"].split()
    user, database = db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_DB"]
    with world_readable_dir("admin2-pg-") as root:
        data = root / "data"
        config = root / "postgresql.conf"
        shutil.copy(compose.CONTAINERS / "postgres" / "postgresql.conf", config)
        shutil.chown(root, "postgres")
        initdb = as_postgres(
            pg_bin("initdb"), "-D", str(data), "-U", user, "--auth=trust", *initdb_args
        )
        assert initdb.returncode == 0, initdb.stderr
        port = free_port()
        server = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", pg_bin("postgres"), "-D", str(data),
             "-c", f"config_file={config}", "-c", f"port={port}",
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}"],
            stdout=open(root / "server.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )  # fmt: skip
        try:
            ready = [pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
            wait_until(
                lambda: subprocess.run(ready, check=False).returncode == 0 or server.poll(),
                30, "the private PostgreSQL cluster",
            )  # fmt: skip
            if server.poll() is not None:
                pytest.fail((root / "server.log").read_text())
            psql = [shutil.which("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                    "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t"]  # fmt: skip
            # What the image's entrypoint does before the init scripts: POSTGRES_DB.
            create = [*psql, "-d", "postgres", "-c", f'CREATE DATABASE "{database}"']
            created = subprocess.run(create, capture_output=True, text=True, check=False)
            assert created.returncode == 0, created.stderr
            yield {"port": port, "psql": [*psql, "-d", database], "db": db}
        finally:
            as_postgres(pg_bin("pg_ctl"), "-D", str(data), "stop", "-m", "fast", "-w")
            server.wait(30)


def query(cluster, sql: str) -> str:
    result = subprocess.run(
        [*cluster["psql"], "-c", sql], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_server_runs_with_the_custom_configuration(cluster):
    assert query(cluster, "SHOW shared_buffers") == "256MB"
    assert query(cluster, "SHOW max_connections") == "200"
    assert query(cluster, "SHOW shared_preload_libraries") == "pg_stat_statements"
    assert query(cluster, "SHOW idle_in_transaction_session_timeout") == "10min"
    assert query(cluster, "SHOW config_file").endswith("postgresql.conf")
    assert query(cluster, "SHOW server_encoding") == "UTF8"
    assert query(cluster, "SHOW data_checksums") == "on"


def test_init_script_sets_role_defaults_and_query_statistics(cluster):
    scripts = sorted((compose.CONTAINERS / "postgres" / "initdb").iterdir())
    assert [s.name for s in scripts] == ["10-admin2.sql"]
    # As the image runs *.sql: psql -v ON_ERROR_STOP=1 --username POSTGRES_USER --dbname POSTGRES_DB
    result = subprocess.run(
        [*cluster["psql"], "-f", str(scripts[0])], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    settings = query(cluster, "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting")
    assert settings == (
        "client_encoding=UTF8,default_transaction_isolation=read committed,TimeZone=UTC"
    )
    assert query(cluster, "SELECT count(*) >= 0 FROM pg_stat_statements") == "t"


def test_the_seed_health_check_answers(cluster):
    test = cluster["db"]["healthcheck"]["test"]
    argv = healthcheck_argv(
        test, after="pg_isready", extra=["-h", "127.0.0.1", "-p", str(cluster["port"])]
    )
    assert Path(argv[0]).name == "pg_isready"
    result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accepting connections" in result.stdout
