"""Benchmark ``analytics_export``: the project's CSV export path against the engine's own.

Exports 100,000, 1,000,000 and 10,000,000 demo events three ways (the project's path, the
same without formula neutralizing, chDB's own ``INTO OUTFILE``) and publishes the table.
How it measures, and why: docs/benchmarks.md, "analytics_export".
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
SIZES = (100_000, 1_000_000, 10_000_000)
# XLSX: a sheet holds 1,048,575 rows, and one turn of a million takes minutes on 2 cores.
XLSX_SIZES = (100_000, 1_000_000)
REPEATS = 5
QUERY = "SELECT * FROM events LIMIT {rows}"
HEADERS = [
    "rows",
    "project s",
    "raw s",
    "engine s",
    "ratio",
    "raw ratio",
    "download s",
    "download ratio",
    "peak RSS MB",
    "RSS after warm-up MB",
    "CSV MB",
    "rows match",
]


def _child(mode: str, rows: int, output: str) -> dict:
    import django

    django.setup()
    from admin2_analytics import engine, exports

    tag = engine.QueryTag(user="bench", source="task")
    engine.execute("SELECT 1", tag=tag)  # warm-up: load the engine library once
    baseline_mb = psutil.Process().memory_info().rss / 2**20
    sql = QUERY.format(rows=int(rows))
    started = time.perf_counter()
    if mode in ("project", "raw"):
        # The export's own bytes, without the record count a download or file adds.
        stream = exports.open_stream(sql, {}, "csv", tag=tag, raw=mode == "raw")
        with stream, open(output, "wb") as target:
            for chunk in exports.export_chunks(stream, raw=mode == "raw"):
                target.write(chunk)
    elif mode == "download":
        # What a download or a background file writes: the same bytes, records counted.
        with exports.open_stream(sql, {}, "csv", tag=tag) as stream, open(output, "wb") as target:
            for chunk in exports.body(stream, "csv"):
                target.write(chunk)
    elif mode == "xlsx":
        with exports.open_stream(sql, {}, "xlsx", tag=tag) as stream, open(output, "wb") as target:
            for chunk in exports.body(stream, "xlsx"):
                target.write(chunk)
    else:
        with engine.maintenance_session(tag=tag) as session:
            session.command(f"{sql} INTO OUTFILE '{output}' TRUNCATE FORMAT CSVWithNames")
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_kb / 1024,
        "baseline_rss_mb": baseline_mb,
        "bytes": os.path.getsize(output),
    }


def _settle() -> None:
    """Merge the freshly inserted table's parts now: otherwise the engine merges them in the
    background of whichever turns run first, and their time and memory carry that work."""
    import django

    django.setup()
    from admin2_analytics import engine

    with engine.maintenance_session(tag=engine.QueryTag(user="bench", source="task")) as session:
        session.command("OPTIMIZE TABLE events FINAL")


def _env(engine_path: Path, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKHOUSE_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DJANGO_SETTINGS_MODULE="settings",
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(var_dir),
        CLICKHOUSE_EMBEDDED_PATH=str(engine_path),
        ANALYTICS_EXPORT_MAX_ROWS=str(max(SIZES) + 1),
    )
    return env


def _measure(env: dict, mode: str, rows: int, output: Path) -> dict:
    # A fresh child process per measurement: its peak RSS is this path's own.
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(rows), str(output)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"{mode} export of {rows} rows failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _sheet_rows(path: Path) -> int:
    """Data rows of an XLSX export, from its sheet's dimension (A1:M1000001)."""
    with zipfile.ZipFile(path) as book, book.open("xl/worksheets/sheet1.xml") as sheet:
        head = sheet.read(4096).decode()
    last = re.search(r'<dimension ref="A1:[A-Z]+(\d+)"', head)
    return int(last.group(1)) - 1 if last else -1


def _xlsx(env: dict, work: Path) -> tuple[list[dict], str]:
    """One XLSX turn per size: time, peak RSS (memory must stay flat) and rows read back."""
    from bench.common import markdown_table

    runs, table = [], []
    for rows in XLSX_SIZES:
        output = work / "project.xlsx"
        turn = _measure(env, "xlsx", rows, output)
        written = _sheet_rows(output)
        output.unlink()
        run = {
            "format": "xlsx",
            "rows": rows,
            "project_s": round(turn["seconds"], 3),
            "rows_per_s": round(rows / turn["seconds"]),
            "peak_rss_mb": round(turn["peak_rss_mb"], 1),
            "baseline_rss_mb": round(turn["baseline_rss_mb"], 1),
            "bytes": turn["bytes"],
            "rows_match": written == rows,
        }
        runs.append(run)
        print(json.dumps(run), flush=True)
        cells = [f"{rows:,}", f"{run['project_s']:.1f}", f"{run['rows_per_s']:,}"]
        cells += [f"{run['peak_rss_mb']:.0f}", f"{run['baseline_rss_mb']:.0f}"]
        cells += [f"{run['bytes'] / 1e6:,.1f}", "yes" if run["rows_match"] else "no"]
        table.append(cells)
    headers = ["rows", "XLSX s", "rows/s", "peak RSS MB", "RSS after warm-up MB"]
    headers += ["XLSX MB", "rows match"]
    return runs, markdown_table(headers, table)


def _lines(path: Path) -> int:
    count = 0
    with path.open("rb") as source:
        while chunk := source.read(1 << 22):
            count += chunk.count(b"\n")
    return count


def _same_shape(project: Path, ceiling: Path, rows: int) -> bool:
    """Same header and row count (a parallel LIMIT read may pick other rows, in other order)."""
    with project.open("rb") as a, ceiling.open("rb") as b:
        same_header = a.readline() == b.readline()
    return same_header and _lines(project) == _lines(ceiling) == rows + 1


def main() -> None:
    sys.path.insert(0, str(REPO))
    from bench.common import markdown_table, publish

    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="admin2-bench-export-"))
    try:
        env = _env(work / "chdb", work / "var")
        setup = subprocess.run(
            [sys.executable, "-m", "admin2", "analytics_demo_data", "--rows", str(max(SIZES))],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if setup.returncode:
            raise SystemExit(f"demo data failed:\n{setup.stderr[-2000:]}")
        print(setup.stdout.strip().splitlines()[0], flush=True)
        subprocess.run([sys.executable, __file__, "--settle"], cwd=REPO, env=env, check=True)
        runs, table = [], []
        for rows in SIZES:
            project_file, engine_file = work / "project.csv", work / "engine.csv"
            turns = {"project": [], "engine": [], "raw": [], "download": []}
            same = True
            for _ in range(REPEATS):
                turns["project"].append(_measure(env, "project", rows, project_file))
                turns["engine"].append(_measure(env, "engine", rows, engine_file))
                same = same and _same_shape(project_file, engine_file, rows)
                project_file.unlink()
                engine_file.unlink()
                turns["raw"].append(_measure(env, "raw", rows, project_file))
                project_file.unlink()
                turns["download"].append(_measure(env, "download", rows, project_file))
                project_file.unlink()
            # Each side's fastest turn: on a shared machine, the one least disturbed by others.
            project, ceiling, raw, download = (
                min(turns[m], key=lambda r: r["seconds"]) for m in turns
            )
            project["peak_rss_mb"] = max(r["peak_rss_mb"] for r in turns["project"])
            run = {
                "rows": rows,
                "project_s": round(project["seconds"], 3),
                "raw_s": round(raw["seconds"], 3),
                "engine_s": round(ceiling["seconds"], 3),
                "ratio": round(project["seconds"] / ceiling["seconds"], 3),
                "raw_ratio": round(raw["seconds"] / ceiling["seconds"], 3),
                "download_s": round(download["seconds"], 3),
                "download_ratio": round(download["seconds"] / ceiling["seconds"], 3),
                "peak_rss_mb": round(project["peak_rss_mb"], 1),
                "baseline_rss_mb": round(project["baseline_rss_mb"], 1),
                "bytes": project["bytes"],
                "same_header_and_rows": same,
            }
            runs.append(run)
            print(json.dumps(run), flush=True)
            table.append(
                [
                    f"{rows:,}",
                    f"{run['project_s']:.2f}",
                    f"{run['raw_s']:.2f}",
                    f"{run['engine_s']:.2f}",
                    f"{run['ratio']:.2f}",
                    f"{run['raw_ratio']:.2f}",
                    f"{run['download_s']:.2f}",
                    f"{run['download_ratio']:.2f}",
                    f"{run['peak_rss_mb']:.0f}",
                    f"{run['baseline_rss_mb']:.0f}",
                    f"{run['bytes'] / 1e6:,.0f}",
                    "yes" if same else "no",
                ]
            )
        xlsx_runs, xlsx_table = _xlsx(env, work)
        largest = max(runs, key=lambda r: r["rows"])
        spread = max(r["peak_rss_mb"] for r in runs) - min(r["peak_rss_mb"] for r in runs)
        notes = (
            'project: `exports.open_stream(fmt="csv")` (guarded, read-only session, export '
            "limits, chunks of up to 1 MiB) with formula neutralizing (the default) written to "
            "a file: the engine prefixes `'` in each text column (`formulas.engine_cells`) and "
            "Python passes the chunks on, rewriting only the header line; raw: the same with "
            "`ANALYTICS_EXPORT_RAW_CELLS` (no rewrite); download: the project's bytes as a "
            "download or a background file writes them, its records counted for the query "
            "history (`exports.body`); engine: chDB's own `INTO OUTFILE ... "
            "FORMAT CSVWithNames` for the same query (it writes Decimals without trailing "
            "zeros, hence fewer bytes). Each side in a fresh process after a warm-up "
            f"query, fastest of {REPEATS} turns (peak RSS: the highest). Targets: "
            "ratio <= 1.2 at 10M rows; peak RSS within 50 MB across sizes "
            f"(measured spread {spread:.0f} MB; the baseline is the embedded engine itself). "
            f"Load average at start: {load:.1f} on this shared machine.\n\n"
            f"Where the project's time goes at {largest['rows']:,} rows: neutralizing "
            f"{largest['project_s'] - largest['raw_s']:.2f} s (project minus raw), the engine "
            "comparing each text value's first byte in place (and running two regular "
            "expressions only on values that start with a formula character), plus the "
            "LowCardinality columns it turns into plain strings; the rest is reading the "
            "engine's blocks and writing them. Before, Python rewrote the CSV bytes with "
            "regular expressions: 1.40 s at 10M rows (1.36x), mostly the `-` rule, which a "
            "date's dashes send to the regex twice a row; that rewrite still serves TSV and "
            "results with a type the SQL does not cover. clickhouse-connect's chDB stream "
            "file copied every byte three times more (into its buffer, out as a slice, into "
            "bytes); the stream takes the engine's blocks as they come "
            "(`engine.streaming.chunks_of`). Tried and left: chunks larger than 1 MiB, the "
            "engine formatting in parallel (slower); in the engine, `substring(s, 1, 1) IN "
            "(...)`, `match`, `startsWith` and string range tests as the first-byte check "
            "(30-140% more engine time on a plain String column than `reinterpretAsUInt8`), "
            "and a positional `tuple(*)` wrapper (twice the engine time of naming the columns). "
            "Counting records costs the download "
            f"{largest['download_s'] - largest['project_s']:.2f} s over the project path here "
            "(0.11 s of CPU per 1M demo rows: `bytes.translate` keeps only quotes and "
            "newlines)."
            '\n\nXLSX (`exports.body(fmt="xlsx")`: the engine\'s TSV written as typed cells '
            "by xlsxwriter in constant-memory mode, one turn per size, rows read back from "
            "the sheet's dimension). Its memory must stay flat from 100k to 1M rows; its "
            "time is xlsxwriter's per-cell Python work, no target against the engine.\n\n"
            + xlsx_table
        )
        publish(
            "analytics_export",
            runs + xlsx_runs,
            markdown_table(HEADERS, table),
            notes,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    elif sys.argv[1:2] == ["--settle"]:
        _settle()
    else:
        main()
