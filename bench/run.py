"""Run benchmarks: all of them (``just bench``) or the ones named (``just bench web``)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["web", "web_stack", "tasks_io", "tasks_page", "analytics_export", "soak", "containers"]


def available() -> list[str]:
    names = {p.stem for p in HERE.glob("*.py") if p.stem not in {"run", "common", "__init__"}}
    return [n for n in ORDER if n in names] + sorted(names - set(ORDER))


def main(argv: list[str]) -> int:
    # The soak, the container builds and the swarm (minutes each) run only when named.
    names = argv or [n for n in available() if n not in {"soak", "containers", "swarm"}]
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    sys.path.insert(0, str(HERE.parent))
    for name in names:
        print(f"== bench {name}", flush=True)
        runpy.run_path(str(HERE / f"{name}.py"), run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
