"""Shared benchmark plumbing: machine description, result files and the docs table.

Each ``bench/<name>.py`` measures, then calls :func:`publish` with its runs and a Markdown
table: the results go to ``bench/results/<name>.json``, the table into docs/benchmarks.md
between the ``<!-- bench:<name> -->`` markers.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "benchmarks.md"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "commit": commit,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def publish(name: str, runs: list[dict], table: str, notes: str = "") -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = machine()
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"name": name, "machine": info, "runs": runs}, indent=2) + "\n")
    tmp.replace(path)  # never a half-written result file
    block = (
        f"<!-- bench:{name} -->\n"
        f"_Measured {info['date']} on {info['cores']} cores ({info['cpu']}), "
        f"commit {info['commit']}; `just bench {name}`._\n\n{table}\n"
        + (f"\n{notes.strip()}\n" if notes else "")
        + f"<!-- /bench:{name} -->"
    )
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + f"\n\n## {name}\n\n{block}\n"
    DOC.write_text(text)
    print(f"{name}: wrote {path.relative_to(REPO)} and its table in docs/benchmarks.md")
    return path


def deployed(result, step: str):
    """A deploy world's result, or the benchmark stops with the deploy's own output."""
    if result.returncode != 0:
        raise SystemExit(f"{step} deploy failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(bench: str, predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    """Until ``predicate()`` holds; past ``timeout`` the benchmark ``bench`` stops, naming it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise SystemExit(f"{bench}: timed out waiting for {what}")
