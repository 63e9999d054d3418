"""``admin2 analytics_query`` writes the query history like the pages do, and only best effort.

In-process tests read the row the command wrote (on either test database). Child-process
tests run the real console script twice, against a migrated database and an empty one of the
test's own (PostgreSQL or SQLite, following the pass), and compare what the shell sees.
"""

from __future__ import annotations

import io
import os
import pwd
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from admin2_analytics.models import QueryRun
from harness.processes import django_env, run_admin2

OS_ACCOUNT = pwd.getpwuid(os.getuid()).pw_name
REFUSED_SQL = "SELECT * FROM file('/etc/passwd')"
WARNING = "warning: not recorded in the query history ("


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("analytics_query", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _refusal(*args) -> tuple[str, str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("analytics_query", *args, stdout=io.StringIO(), stderr=err)
    return str(error.value), err.getvalue()


# --- in-process: the row --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_table_run_is_recorded_with_source_cli_and_the_os_account(analytics_engine):
    sql = "SELECT country, count() AS n FROM events GROUP BY country HAVING n >= {min:UInt32}"
    out, err = _run("--sql", sql, "--param", "min=1")
    run = QueryRun.objects.get()
    assert (run.source, run.user, run.os_user) == ("cli", None, OS_ACCOUNT)
    assert (run.sql, run.params) == (sql, {"min": "1"})
    assert run.row_count == len(out.splitlines()) - 1 > 0
    assert run.error == "" and not run.failed
    assert WARNING not in err


@pytest.mark.django_db
def test_a_streamed_run_records_its_row_count(analytics_engine, tmp_path):
    target = tmp_path / "events.csv"
    _run("--sql", "SELECT user_id, page FROM events", "--output", str(target))
    run = QueryRun.objects.get()
    assert run.row_count == analytics_engine.rows == len(target.read_text().splitlines()) - 1
    assert (run.source, run.os_user, run.error) == ("cli", OS_ACCOUNT, "")


@pytest.mark.django_db
def test_a_saved_query_run_links_the_query_and_its_parameters(
    analytics_engine, superuser, tmp_path
):
    from admin2_analytics.models import SavedQuery

    query = SavedQuery.objects.create(
        name="Some numbers",
        sql="SELECT number FROM numbers({n:UInt8})",
        parameter_defaults={"n": "2"},
        owner=superuser,
    )
    _run("--saved", "Some numbers", "--param", "n=5", "--output", str(tmp_path / "n.jsonl"))
    run = QueryRun.objects.get()
    assert (run.saved_query, run.sql, run.params, run.row_count) == (
        query,
        query.sql,
        {"n": "5"},
        5,
    )


@pytest.mark.django_db
def test_a_refusal_is_recorded_with_its_reason_and_still_fails_with_one_line(analytics_engine):
    message, err = _refusal("--sql", REFUSED_SQL)
    assert message.startswith("Refused: table function file()") and "\n" not in message
    assert err == ""
    run = QueryRun.objects.get()
    assert (run.source, run.os_user, run.sql) == ("cli", OS_ACCOUNT, REFUSED_SQL)
    assert run.row_count is None
    assert run.failed and run.error == f"QueryRefused: {message}"


@pytest.mark.django_db
def test_an_engine_error_is_recorded_as_a_failed_run(analytics_engine):
    message, _ = _refusal("--sql", "SELECT nope FROM events")
    run = QueryRun.objects.get()
    assert run.error == f"QueryFailed: {message}" and run.row_count is None


@pytest.mark.django_db
def test_usage_errors_are_not_runs(analytics_engine):
    _refusal("--sql", "SELECT {a:UInt8}", "--param", "a")
    _refusal("--sql", "SELECT 1", "--limit", "0")
    assert not QueryRun.objects.exists()


@pytest.mark.django_db
def test_without_database_access_the_output_is_the_same(analytics_engine, django_db_blocker):
    """pytest-django's blocker stands in for a command with no database at all."""
    sql = "SELECT number, toString(number) AS s FROM numbers(4)"
    with django_db_blocker.block():
        blocked_out, blocked_err = _run("--sql", sql)
        blocked_refusal = _refusal("--sql", REFUSED_SQL)
        _, verbose_err = _refusal("--sql", REFUSED_SQL, "--verbosity", "2")
    out, err = _run("--sql", sql)
    assert blocked_out == out
    *summary, warning = blocked_err.splitlines()
    assert len(summary) == len(err.splitlines()) == 1
    assert warning.startswith(WARNING + "RuntimeError: Database access not allowed")
    assert blocked_refusal == _refusal("--sql", REFUSED_SQL)  # same line, no warning
    assert verbose_err.startswith(WARNING + "RuntimeError") and len(verbose_err.splitlines()) == 1
    assert QueryRun.objects.count() == 2  # the runs with access


# --- the real console script against a database of its own ----------------------------------


@dataclass
class ChildDatabase:
    """A database for child processes: ``env`` points Django at it, ``history()`` reads it."""

    env: dict[str, str]
    read: object = field(repr=False)

    def history(self) -> list[tuple]:
        return self.read(
            "SELECT source, os_user, user_id, sql, row_count, error FROM analytics_queryrun "
            "ORDER BY id"
        )


@pytest.fixture(scope="module")
def child_databases(tmp_path_factory):
    """(migrated, empty): two databases on the test's own server, or two SQLite files."""
    root = tmp_path_factory.mktemp("cli-history")
    default = settings.DATABASES["default"]
    if default["ENGINE"].endswith("sqlite3"):
        made = [_sqlite(root / f"{kind}.sqlite3") for kind in ("migrated", "empty")]
        drop = None
    else:
        import psycopg

        server = {k.lower(): default[k] for k in ("HOST", "PORT", "USER", "PASSWORD")}
        names = [f"admin2_cli_history_{uuid.uuid4().hex[:10]}_{k}" for k in ("migrated", "empty")]
        made = [_postgres(server, name) for name in names]

        def admin():
            return psycopg.connect(dbname="postgres", autocommit=True, **server)

        def drop():
            with admin() as connection:
                for name in names:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    try:
        if drop:
            with admin() as connection:
                for name in names:
                    connection.execute(f'CREATE DATABASE "{name}"')
        migrated, empty = made
        result = run_admin2("migrate", "-v", "0", env=_child_env(root, migrated))
        assert result.returncode == 0, result.stderr
        yield migrated, empty
    finally:
        if drop:
            drop()


def _sqlite(path: Path) -> ChildDatabase:
    def read(sql):
        with sqlite3.connect(path) as connection:
            return connection.execute(sql).fetchall()

    return ChildDatabase({"SQLITE_PATH": str(path)}, read)


def _postgres(server: dict, name: str) -> ChildDatabase:
    import psycopg

    def read(sql):
        with psycopg.connect(dbname=name, **server) as connection:
            return connection.execute(sql).fetchall()

    user, password = server["user"], server["password"]
    credentials = f"{user}:{password}" if password else user
    url = f"postgres://{credentials}@{server['host']}:{server['port'] or 5432}/{name}"
    return ChildDatabase({"DATABASE_URL": url}, read)


def _child_env(root: Path, database: ChildDatabase, engine_path: Path | None = None) -> dict:
    env = django_env(DJANGO_ENVIRONMENT="development", ADMIN2_VAR_DIR=str(root / "var"))
    for name in ("CLICKHOUSE_HOST", "DATABASE_URL", "POSTGRES_HOST", "POSTGRES_DB", "SQLITE_PATH"):
        env.pop(name, None)
    if engine_path is not None:
        env["CLICKHOUSE_EMBEDDED_PATH"] = str(engine_path)
    return {**env, **database.env}


@pytest.mark.parametrize(
    ("args", "returncode"),
    [
        (["--sql", "SELECT device, count() AS n FROM events GROUP BY device ORDER BY device"], 0),
        (["--sql", "SELECT number, 'a,\"b\"' AS s FROM numbers(3)", "--format", "csv"], 0),
        (["--sql", REFUSED_SQL], 1),
    ],
    ids=["table", "csv", "refused"],
)
def test_the_console_script_prints_the_same_with_or_without_a_history_table(
    analytics_engine, child_databases, tmp_path, args, returncode
):
    migrated, empty = child_databases
    recorded = run_admin2("analytics_query", *args,
                          env=_child_env(tmp_path, migrated, analytics_engine.path))  # fmt: skip
    unrecorded = run_admin2("analytics_query", *args,
                            env=_child_env(tmp_path, empty, analytics_engine.path))  # fmt: skip

    assert recorded.returncode == unrecorded.returncode == returncode, unrecorded.stderr
    assert recorded.stdout == unrecorded.stdout
    assert (recorded.stdout != "") == (returncode == 0)
    assert WARNING not in recorded.stderr
    extra = unrecorded.stderr.splitlines()[len(recorded.stderr.splitlines()) :]
    if returncode == 0:
        (warning,) = extra
        assert warning.startswith(WARNING) and "analytics_queryrun" in warning
    else:
        assert unrecorded.stderr == recorded.stderr  # the one reason line, nothing else
        assert len(recorded.stderr.splitlines()) == 1

    source, os_user, user_id, sql, row_count, error = migrated.history()[-1]
    assert (source, os_user, user_id, sql) == ("cli", OS_ACCOUNT, None, args[1])
    if returncode == 0:
        assert (row_count, error) == (3, "")
    else:
        assert row_count is None
        assert error.startswith("QueryRefused: Refused: table function file()")
        assert recorded.stderr.strip().endswith(error.removeprefix("QueryRefused: "))
