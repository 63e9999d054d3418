"""git with a fixed identity, for the repositories a deploy test makes (origin, clones)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Deploy Test",
    "GIT_AUTHOR_EMAIL": "deploy-test@example.com",
    "GIT_COMMITTER_NAME": "Deploy Test",
    "GIT_COMMITTER_EMAIL": "deploy-test@example.com",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()
