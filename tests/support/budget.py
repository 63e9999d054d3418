"""The suite's time budget: where a run's time went, and the budget line that ends a full run.

The pytest hooks in ``tests/conftest.py`` hand reports to :class:`Timings`; ``scripts/test``
writes each phase's seconds, then runs ``python -m tests.support.budget`` to print the line.
docs/testing.md, "The time budget", says what the figures mean and how to pay for a scenario.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

BUDGET_MINUTES = 35  # what a full run may take on a 2-core machine (docs/testing.md)
FAIL_MINUTES = 75  # above this the run fails: a margin under CI's hard 90-minute limit
SLOWEST_MODULES = 8


class Timings:
    """Seconds per test module (setup, call and teardown of every test in it)."""

    def __init__(self) -> None:
        self.modules: dict[str, float] = defaultdict(float)
        self.tests = 0

    def add(self, report) -> None:
        self.modules[report.nodeid.split("::", 1)[0]] += report.duration
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.tests += 1

    def write(self, path: Path, label: str, wall: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"pass": label, "wall_seconds": round(wall, 1), "tests": self.tests,
                   "modules": {name: round(s, 1) for name, s in self.modules.items()}}  # fmt: skip
        path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def report(phases_file: Path, timings: list[Path]) -> tuple[list[str], int]:
    """The lines that end a full run, and its exit status (1 only above FAIL_MINUTES)."""
    phases = []
    for line in phases_file.read_text().splitlines():
        name, seconds = line.rsplit(" ", 1)
        phases.append((name, float(seconds)))
    total = sum(seconds for _, seconds in phases)
    lines = ["== time per phase"]
    lines += [f"  {name:<34} {minutes(seconds):>6}" for name, seconds in phases]
    modules: dict[str, float] = defaultdict(float)
    for path in timings:
        if path.exists():
            for name, seconds in json.loads(path.read_text())["modules"].items():
                modules[name] += seconds
    slowest = sorted(modules.items(), key=lambda item: -item[1])[:SLOWEST_MODULES]
    lines.append("== slowest modules (test time summed over both passes, all workers)")
    lines += [f"  {minutes(seconds):>6}  {name}" for name, seconds in slowest]
    verdict = "within budget"
    status = 0
    if total > FAIL_MINUTES * 60:
        verdict = f"FAILED: over the {FAIL_MINUTES}-minute limit"
        status = 1
    elif total > BUDGET_MINUTES * 60:
        verdict = "OVER BUDGET: make the next change pay for itself (docs/testing.md)"
    budget = f"budget: {minutes(total)} of {BUDGET_MINUTES}:00 ({verdict})"
    if status or total > BUDGET_MINUTES * 60:
        bar = "!" * len(budget)
        lines += [bar, budget, bar]
    else:
        lines.append(budget)
    return lines, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phases", type=Path, help="lines of '<phase> <seconds>'")
    parser.add_argument("timings", type=Path, nargs="*", help="JSON files the passes wrote")
    args = parser.parse_args(argv)
    lines, status = report(args.phases, args.timings)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
