"""Benchmark ``console``: the SQL console page and its time to first result, today's code
(``main``, exported to a temporary directory) against this tree's, in one run; and the
editor bundle's size. How it measures: docs/benchmarks.md, "console"."""

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
    print(json.dumps({"load_ms": statistics.median(load) * 1000,
                      "first_result_ms": statistics.median(run) * 1000}))  # fmt: skip


def _tree_of_main(target: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", "main", "src", "settings"], cwd=REPO, capture_output=True, check=True
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
    main_tree = _tree_of_main(Path(tempfile.mkdtemp(prefix="main-", dir=work)))
    runs = {
        "main (today)": _measure(main_tree, engine_path, work / "var-main"),
        "this tree": _measure(REPO, engine_path, work / "var-tree"),
    }
    raw = BUNDLE.read_bytes()
    bundle = {"bytes": len(raw), "gzip_kb": round(len(gzip.compress(raw, 9)) / 1024, 1)}
    rows = [
        [name, f"{r['load_ms']:.1f}", f"{r['first_result_ms']:.1f}"] for name, r in runs.items()
    ]
    table = markdown_table(["code", "console page load ms", "time to first result ms"], rows)
    notes = (
        f"Median of {REPEATS} in-process requests (Django test client, SQLite, embedded chDB, "
        f"100,000 demo events; the query groups them by day and country). Editor bundle: "
        f"{bundle['bytes']:,} bytes, {bundle['gzip_kb']} KB gzipped (fetched once, cached)."
    )
    publish("console", [{"runs": runs, "bundle": bundle}], table, notes)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child()
    else:
        main()
