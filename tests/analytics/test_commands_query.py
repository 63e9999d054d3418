"""``admin2 analytics_query``: the shell's way into the same seam, guard and limits.

The first tests run the real ``admin2`` console script in a child process (exit codes,
stdout/stderr, files); the rest call the command in-process for speed.
"""

import csv
import io
import json
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from harness.processes import django_env, run_admin2


def _env(tmp_path, engine_path, **extra):
    env = django_env(
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(tmp_path / "var"),
        CLICKHOUSE_EMBEDDED_PATH=str(engine_path),
        **extra,
    )
    env.pop("CLICKHOUSE_HOST", None)
    return env


# --- the real console script -------------------------------------------------------------


def test_it_prints_the_row_count(analytics_engine, tmp_path):
    result = run_admin2(
        "analytics_query",
        "--sql",
        "SELECT count() FROM events",
        env=_env(tmp_path, analytics_engine.path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["count()", str(analytics_engine.rows)]
    assert "1 row in" in result.stderr


def test_a_refusal_exits_non_zero_with_one_line_naming_it(analytics_engine, tmp_path):
    result = run_admin2(
        "analytics_query",
        "--sql",
        "SELECT * FROM file('/etc/passwd')",
        env=_env(tmp_path, analytics_engine.path),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Refused: table function file()" in lines[0]
    assert "Traceback" not in result.stderr


def test_output_never_leaves_a_half_written_file(analytics_engine, tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous export\n")
    result = run_admin2(
        "analytics_query",
        "--sql",
        "SELECT * FROM events",
        "--output",
        str(target),
        env=_env(tmp_path, analytics_engine.path, ANALYTICS_EXPORT_MAX_ROWS="100"),
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Result too large" in result.stderr
    assert target.read_text() == "previous export\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "var") == ["out.csv"]


def test_output_writes_the_whole_file(analytics_engine, tmp_path):
    target = tmp_path / "events.tsv"
    result = run_admin2(
        "analytics_query",
        "--sql",
        "SELECT user_id, country FROM events ORDER BY event_time",
        "--output",
        str(target),
        env=_env(tmp_path, analytics_engine.path),
    )
    assert result.returncode == 0, result.stderr
    lines = target.read_text().splitlines()
    assert lines[0] == "user_id\tcountry"  # format from the suffix
    assert len(lines) == analytics_engine.rows + 1
    assert f"bytes of tsv to {target}" in result.stderr


def test_a_busy_engine_is_one_line_too(analytics_engine, tmp_path):
    from admin2_analytics.engine import embedded

    with embedded.lease(analytics_engine.path, 1):  # this test process holds the directory
        result = run_admin2(
            "analytics_query",
            "--sql",
            "SELECT 1",
            env=_env(tmp_path, analytics_engine.path, CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT="0.3"),
        )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("CommandError: embedded engine busy")


# --- in-process ----------------------------------------------------------------------------


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("analytics_query", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_params_bind_with_quotes_intact(analytics_engine):
    out, _ = _run(
        "--sql",
        "SELECT {s:String} AS s, {n:UInt8} + 1 AS n",
        "--param",
        's=it\'s "quoted" = fine',
        "--param",
        "n=41",
    )
    header, row = out.splitlines()
    assert header.split() == ["s", "n"]
    assert row == 'it\'s "quoted" = fine  42'


def test_limit_caps_the_table_and_says_more_exist(analytics_engine):
    out, err = _run("--sql", "SELECT number FROM numbers(100)", "--limit", "3")
    assert out.splitlines() == ["number", "0", "1", "2"]
    assert "3 rows (more exist; --limit 3)" in err


@pytest.mark.parametrize(
    ("fmt", "first_line"),
    [("csv", '"country","n"'), ("tsv", "country\tn"), ("jsonl", None)],
)
def test_formats_go_to_stdout(analytics_engine, capfdbinary, fmt, first_line):
    sql = "SELECT country, count() AS n FROM events GROUP BY country ORDER BY country"
    call_command(
        "analytics_query", "--sql", sql, "--format", fmt, "--limit", "2", stderr=io.StringIO()
    )
    sys.stdout.flush()
    lines = capfdbinary.readouterr().out.decode().splitlines()
    if first_line:
        assert lines[0] == first_line
        assert len(lines) == 3
    else:
        assert [sorted(json.loads(line)) for line in lines] == [["country", "n"]] * 2


def test_csv_output_reads_back(analytics_engine, tmp_path):
    target = tmp_path / "by_device.csv"
    _run(
        "--sql",
        "SELECT device, count() AS n FROM events GROUP BY device ORDER BY device",
        "--output",
        str(target),
    )
    rows = list(csv.DictReader(target.open()))
    assert [r["device"] for r in rows] == ["desktop", "mobile", "tablet"]
    assert sum(int(r["n"]) for r in rows) == analytics_engine.rows


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sql", "SELECT {a:UInt8}", "--param", "a"], "expected NAME=VALUE"),
        (["--sql", "SELECT {a:UInt8}", "--param", "a=300"], "between 0 and 255"),
        (["--sql", "SELECT {a:UInt8}"], "a (UInt8) needs a value"),
        (["--sql", "DROP TABLE events"], "DROP is not allowed"),
        (["--sql", "SELECT 1", "--limit", "0"], "--limit must be at least 1"),
        (["--sql", "SELECT nope FROM events"], "nope"),
    ],
)
def test_errors_become_one_line_command_errors(analytics_engine, args, message):
    with pytest.raises(CommandError) as error:
        _run(*args)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.django_db
def test_saved_queries_run_by_name_with_defaults_and_overrides(analytics_engine, superuser):
    from admin2_analytics.models import SavedQuery

    SavedQuery.objects.create(
        name="Top countries",
        sql="SELECT country, count() AS n FROM events WHERE country != {skip:String} "
        "GROUP BY country ORDER BY n DESC, country LIMIT {n:UInt8}",
        parameter_defaults={"skip": "US", "n": "3"},
        owner=superuser,
    )
    out, _ = _run("--saved", "Top countries")
    assert len(out.splitlines()) == 4
    assert " US " not in f" {out} "
    out, _ = _run("--saved", "Top countries", "--param", "n=1", "--param", "skip=")
    assert len(out.splitlines()) == 2


@pytest.mark.django_db
def test_an_unknown_saved_query_lists_the_known_ones(analytics_engine, superuser):
    from admin2_analytics.models import SavedQuery

    SavedQuery.objects.create(name="Daily revenue", sql="SELECT 1", owner=superuser)
    with pytest.raises(CommandError, match="no saved query named 'Nope'; known: Daily revenue"):
        _run("--saved", "Nope")
