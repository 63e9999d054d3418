"""Benchmark ``console``: the SQL console page, its time to first result, and the answers of
the parameter form and the Format button, for the code before the console work, ``main`` and
this tree (each exported to a temporary directory), in one run; and the editor bundle's
size. How it measures: docs/benchmarks.md, "console"."""

from __future__ import annotations

import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPEATS = 15
QUERY = (
    "SELECT toDate(event_time) AS day, country, count() AS events, sum(revenue) AS revenue "
    "FROM events GROUP BY day, country ORDER BY day, country"
)
BUNDLE = REPO / "src/admin2_analytics/admin2_analytics/static/admin2_analytics/console-editor.js"
# The trees compared with this one: main before the console work of issue 23 was merged (the
# first parent of its merge commit, bc01734), and main as it is now.
BASELINES = {"before the console (bc01734^1)": "bc01734^1", "main": "main"}
PARAMETRIZED = (
    "SELECT count() AS n FROM events WHERE country IN {countries:Array(String)} "
    "AND event_time >= {since:DateTime}"
)


def _child() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x-bench-1")
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    url = reverse("analytics:console")
    client.post(url, {"sql": "SELECT 1", "params": ""})  # warm-up: the engine library loads
    load, run = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url)
        load.append(time.perf_counter() - started)
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        started = time.perf_counter()
        response = client.post(url, {"sql": QUERY, "params": ""})
        run.append(time.perf_counter() - started)
        assert b'id="row-count"' in response.content, response.content[-2000:]
    measured = {"load_ms": statistics.median(load) * 1000,
                "first_result_ms": statistics.median(run) * 1000}  # fmt: skip
    measured.update(_answers(client))
    print(json.dumps(measured))


def _answers(client) -> dict:
    """Median answer times of the console's helpers, where this tree has them."""
    from django.urls import NoReverseMatch, reverse

    asked = {
        "parameters_ms": ("analytics:console_parameters", {"sql": PARAMETRIZED,
                                                           "params": "countries=['DE']"}),
        "format_ms": ("analytics:console_format", {"sql": QUERY, "params": ""}),
    }  # fmt: skip
    answers = {}
    for key, (name, data) in asked.items():
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            response = client.post(url, data, HTTP_ACCEPT="application/json")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[-2000:]
        answers[key] = statistics.median(times) * 1000
    return answers


def _tree_of(ref: str, target: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", ref, "src", "settings"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _measure(root: Path, engine_path: Path, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKHOUSE_"))}
    paths = [root / "src/admin2", root / "src/admin2_analytics", root / "src/admin2_tasks", root]
    env.update(
        PYTHONPATH=os.pathsep.join(str(p) for p in [*paths, REPO]),
        DJANGO_SETTINGS_MODULE="settings",
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(var_dir),
        CLICKHOUSE_EMBEDDED_PATH=str(engine_path),
    )
    result = subprocess.run(
        [sys.executable, __file__, "--child"], cwd=root, env=env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(f"console bench failed in {root}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


_COLUMNS = {
    "load_ms": "console page load ms",
    "first_result_ms": "time to first result ms",
    "parameters_ms": "parameter form answer ms",
    "format_ms": "Format answer ms",
}


def main() -> None:
    sys.path.insert(0, str(REPO))
    from bench.common import markdown_table, publish

    work = Path(tempfile.mkdtemp(prefix="admin2-bench-console-"))
    engine_path = work / "chdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKHOUSE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="settings",
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(work / "var-setup"),
        CLICKHOUSE_EMBEDDED_PATH=str(engine_path),
    )
    subprocess.run(
        [sys.executable, "-m", "admin2", "analytics_demo_data", "--rows", "100000"],
        cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip
    runs = {}
    for number, (name, ref) in enumerate(BASELINES.items()):
        tree = _tree_of(ref, Path(tempfile.mkdtemp(prefix=f"tree{number}-", dir=work)))
        runs[name] = _measure(tree, engine_path, work / f"var-{number}")
    runs["this tree"] = _measure(REPO, engine_path, work / "var-tree")
    raw = BUNDLE.read_bytes()
    bundle = {"bytes": len(raw), "gzip_kb": round(len(gzip.compress(raw, 9)) / 1024, 1)}
    rows = [
        [name, *(f"{r[key]:.1f}" if key in r else "n/a" for key in _COLUMNS)]
        for name, r in runs.items()
    ]
    table = markdown_table(["code", *_COLUMNS.values()], rows)
    notes = (
        f"Median of {REPEATS} in-process requests (Django test client, SQLite, embedded chDB, "
        f"100,000 demo events; the query groups them by day and country). Editor bundle: "
        f"{bundle['bytes']:,} bytes, {bundle['gzip_kb']} KB gzipped (fetched once, cached). "
        "Parameter form: the answer for a query with an Array(String) and a DateTime "
        "placeholder; Format: the laid-out SQL of the grouping query (lexed twice, guarded and "
        "explained twice on the engine)."
    )
    publish("console", [{"runs": runs, "bundle": bundle}], table, notes)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child()
    else:
        main()
