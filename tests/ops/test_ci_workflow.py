""".github/workflows/ci.yml: valid for the forge, and it runs what the README promises."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.support.services import REPO, venv_tool

WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
README_TEST_COMMAND = "python3 -m pip install uv && ./scripts/test"


def check(schema: str, path=WORKFLOW) -> subprocess.CompletedProcess:
    return subprocess.run(
        [venv_tool("check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_the_workflow_is_valid(schema):
    result = check(schema)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail(tmp_path):
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:", 1))
    assert check("vendor.github-workflows", broken).returncode != 0


def test_the_tests_run_with_the_readmes_command():
    assert README_TEST_COMMAND in (REPO / "README.md").read_text()
    steps = workflow()["jobs"]["test"]["steps"]
    assert [s["run"] for s in steps if "run" in s][-1] == README_TEST_COMMAND


def test_both_image_targets_are_built_and_both_stacks_checked():
    runs = "\n".join(s.get("run", "") for s in workflow()["jobs"]["images"]["steps"])
    for target in ("staging", "production"):
        assert f"docker build --target {target} -f containers/Dockerfile" in runs
    assert "for stack in staging production" in runs
    assert 'docker compose -f "containers/docker-compose.$stack.yml"' in runs
    assert "config --quiet" in runs
