"""Start-up refusals: ``admin2 check`` in a process of its own, with the environment a test
gives it, must fail and say why."""

from __future__ import annotations

from harness.processes import run_admin2


def refusal(env: dict) -> str:
    """What ``admin2 check`` printed on stderr when it refused to start under ``env``."""
    result = run_admin2("check", env=env)
    assert result.returncode != 0, f"start-up was not refused:\n{result.stderr}"
    return result.stderr
