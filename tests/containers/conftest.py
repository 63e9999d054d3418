from __future__ import annotations

import secrets
import subprocess

import pytest

from harness.processes import port_open

ROLE = "admin2"  # POSTGRES_USER of the Compose db service; its health check names it


def psql(sql: str, database: str = "postgres") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
         "-X", "-q", "-A", "-t", "-c", sql],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def ensure_role() -> None:
    create = (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') "
        f"THEN CREATE ROLE {ROLE} LOGIN; END IF; END $$"
    )
    result = psql(create)
    if result.returncode != 0 and "already exists" not in result.stderr:  # a parallel run won
        pytest.fail(f"cannot create the {ROLE} role: {result.stderr}")


@pytest.fixture
def app_database():
    """A database of its own on the local PostgreSQL, owned by ``admin2`` as in the db
    container, dropped afterwards."""
    if not port_open(5432):
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (scripts/ensure-system-deps)")
    ensure_role()
    name = f"admin2_containers_{secrets.token_hex(4)}"
    created = psql(f"CREATE DATABASE {name} OWNER {ROLE}")
    assert created.returncode == 0, created.stderr
    yield name
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
