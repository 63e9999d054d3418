"""Fixtures for the operations tests: throwaway PostgreSQL databases and script runners."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from harness.processes import REPO, port_open, require_binary

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _admin_connection() -> psycopg.Connection:
    if not port_open(PG["port"]):
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (scripts/test starts it)")
    return psycopg.connect(dbname="postgres", autocommit=True, **PG)


@contextmanager
def throwaway_databases() -> Iterator:
    """Factory: an empty database with a unique name each call, all dropped on leaving."""
    created: list[str] = []

    def create() -> str:
        name = f"admin2_ops_{uuid.uuid4().hex[:12]}"
        with _admin_connection() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return name

    try:
        yield create
    finally:
        with _admin_connection() as admin:
            for name in created:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_database() -> Iterator:
    with throwaway_databases() as create:
        yield create


def connect(dbname: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(dbname=dbname, **PG, **kwargs)


def script_env(tmp_path: Path, dbname: str, **overrides: str) -> dict[str, str]:
    """Native mode for deploy/backup.sh and deploy/restore.sh: local pg_dump/pg_restore."""
    require_binary("pg_dump", "Debian package postgresql-client")
    require_binary("pg_restore", "Debian package postgresql-client")
    require_binary("psql", "Debian package postgresql-client")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "BACKUP_", "MEDIA_", "DEPLOY_"))
    }
    env.update(
        {
            "PGHOST": PG["host"],
            "PGPORT": str(PG["port"]),
            "PGUSER": PG["user"],
            "PGDATABASE": dbname,
            "PG_DUMP_CMD": "pg_dump",
            # pg_restore only writes SQL; psql runs it in the database (libpq's PG* name it)
            "PG_RESTORE_CMD": "pg_restore",
            "PSQL_CMD": "psql",
            "BACKUP_DIR": str(tmp_path / "backups"),
            "DEPLOY_ENV_FILE": str(tmp_path / "no-deploy.env"),
        }
    )
    env.update(overrides)
    return env


def run_script(name: str, *args: str, env: dict[str, str], stdin: str | None = None, timeout=300):
    return subprocess.run(
        [str(REPO / "deploy" / name), *args],
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
