"""A private PostgreSQL cluster on a free loopback port, for tests that stop and start it.

The machine's own server on 5432 is shared by everyone and must never be stopped; a fault
test gets a cluster of its own: ``initdb`` into a temporary directory, ``pg_ctl`` to start
and stop it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.processes import free_port, wait_until

SERVER_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
SERVICE_USER = "postgres"


def server_bin(name: str) -> str:
    for directory in SERVER_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if not found:
        pytest.fail(
            f"{name} is not installed: apt-get install postgresql (the server binaries, "
            "not only the client)"
        )
    return found


class PostgresCluster:
    """``initdb`` once, then ``start()``/``stop()`` as often as the test likes."""

    def __init__(self, *, port: int | None = None, initdb: bool = True):
        self.port = port or free_port()
        # Not under pytest's tmp_path: that is private to root and the server user must
        # reach its data directory.
        self.root = Path(tempfile.mkdtemp(prefix="admin2-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_user: list[str] = []
        # PostgreSQL refuses to run as root: under root the cluster belongs to the postgres
        # system user and every command runs through runuser.
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                pytest.fail(f"running as root needs the {SERVICE_USER!r} user to own the cluster")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            self._as_user = [runuser, "-u", SERVICE_USER, "--"]
        if not initdb:  # an empty data directory, for a restore to fill
            self._run("mkdir", "-m", "700", str(self.data))
            return
        self._run(
            server_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*self._as_user, *argv], capture_output=True, text=True, timeout=60, cwd=self.root
        )
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(argv[:2])} failed ({result.returncode}):\n{result.stderr}")
        return result

    def start(self, **settings: str) -> None:
        """Start the server; ``settings`` are extra ``-c name=value`` (no spaces in values)."""
        # Durability is not under test here: no fsync keeps start/stop cycles quick.
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        ) + "".join(f" -c {name}={value}" for name, value in settings.items())
        self._run(
            server_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "30", "start",
        )  # fmt: skip
        wait_until(self.accepting, 30, f"private PostgreSQL on port {self.port}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends the sessions, ``immediate`` is a crash."""
        self._run(server_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        status = self._run(server_bin("pg_ctl"), "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def accepting(self) -> bool:
        ready = subprocess.run(
            [server_bin("pg_isready"), "-h", self.host, "-p", str(self.port), "-t", "1"],
            capture_output=True,
        )
        return ready.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            ["psql", "-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.fail(f"psql on the private cluster failed: {result.stderr}")
        return result.stdout

    def fetch_value(self, sql: str, params: tuple = (), database: str = "postgres"):
        """First column of the first row (None without rows), with bound parameters."""
        import psycopg

        dsn = f"host={self.host} port={self.port} user=postgres dbname={database}"
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as connection:
            row = connection.execute(sql, params).fetchone()
        return row[0] if row else None

    def create_database(self, name: str) -> None:
        self.psql(f'CREATE DATABASE "{name}"')

    def server_log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")
        return ""

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
