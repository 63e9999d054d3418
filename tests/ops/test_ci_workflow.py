""".github/workflows/ci.yml: valid for the forge, and it runs what the README promises."""

from __future__ import annotations

import subprocess

import yaml

from harness.processes import REPO, venv_tool

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
        assert f"docker build $FRESH --target {target} -f containers/Dockerfile" in runs
    assert "for stack in staging production" in runs
    assert 'docker compose -f "containers/docker-compose.$stack.yml"' in runs
    assert "config --quiet" in runs


def test_main_deploys_after_the_tests_only_with_the_deploy_secrets():
    jobs = workflow()["jobs"]
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == {"test", "images"}
    assert deploy["if"] == "github.ref == 'refs/heads/main' && github.event_name == 'push'"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    for name in ("DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_PATH"):
        assert deploy["env"][name] == f"${{{{ secrets.{name} }}}}"
    steps = deploy["steps"]
    gated = [s for s in steps if s.get("id") != "configured"]
    assert all(s.get("if") == "steps.configured.outputs.yes == 'true'" for s in gated)
    assert steps[-1]["run"].endswith("just deploy-prod")
    assert "StrictHostKeyChecking=yes" in steps[-1]["env"]["DEPLOY_SSH_OPTS"]


def test_a_weekly_run_rebuilds_from_fresh_base_images():
    triggers = workflow()[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"] == [{"cron": "17 4 * * 1"}]
    images = workflow()["jobs"]["images"]["steps"]
    fresh = {s["env"]["FRESH"] for s in images if "FRESH" in s.get("env", {})}
    assert fresh == {"${{ github.event_name == 'schedule' && '--pull --no-cache' || '' }}"}
