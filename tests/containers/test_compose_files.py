"""Both Compose files are valid as Compose reads them and against the Compose JSON schema."""

from __future__ import annotations

import pytest

from harness import compose


@pytest.mark.parametrize("stack", compose.STACKS)
def test_compose_config_accepts_the_stack_with_its_example_env(stack):
    result = compose.run_compose(compose.compose_file(stack), "--profile", "*", "config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "interpolation warnings mean a variable has no default"


def test_a_missing_env_file_stops_compose_naming_it(tmp_path):
    missing = tmp_path / "no-such.env"
    result = compose.run_compose(
        compose.compose_file("production"),
        "config",
        "-q",
        env_file=compose.example_env_file("production"),
        extra_env={"ADMIN2_ENV_FILE": str(missing)},
    )
    assert result.returncode != 0
    assert "no-such.env" in result.stderr
