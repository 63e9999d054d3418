"""A stand-in ``docker`` CLI for the operator-command tests that need no engine: it records its
arguments, one JSON line per call, in the file named by ``DOCKER_CALLS``."""

from __future__ import annotations

import json
from pathlib import Path

SCRIPT = """#!/usr/bin/env python3
# stand-in docker CLI (no Docker engine here): records its arguments, one JSON line per call
import json, os, sys
with open(os.environ["DOCKER_CALLS"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def install(tmp_path: Path) -> tuple[Path, Path]:
    """The directory holding the stand-in (put it first on PATH) and its calls file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(SCRIPT)
    docker.chmod(0o755)
    return bin_dir, tmp_path / "calls.jsonl"


def recorded(calls: Path) -> list[list[str]]:
    return [json.loads(line) for line in calls.read_text().splitlines()]
