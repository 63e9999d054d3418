"""The devcontainer: valid against the Dev Container schema (a vendored subset, see its
$comment), wired to the staging Compose stack, and valid Compose together with it."""

from __future__ import annotations

import copy
import json
import re
import subprocess

import jsonschema
import pytest
import yaml

from harness.processes import REPO, venv_tool
from tests.ops.jsonc import loads, strip_comments

DEVCONTAINER = REPO / ".devcontainer" / "devcontainer.json"
OVERRIDE = REPO / ".devcontainer" / "docker-compose.devcontainer.yml"
STAGING = REPO / "containers" / "docker-compose.staging.yml"
STAGING_ENV = REPO / "containers" / ".env.staging.example"
SCHEMA = json.loads(
    (REPO / "tests" / "ops" / "schemas" / "devcontainer-compose.schema.json").read_text()
)


def config() -> dict:
    return loads(DEVCONTAINER.read_text())


def errors(document: dict) -> list[str]:
    validator = jsonschema.Draft201909Validator(
        SCHEMA, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def compose_config(*files) -> subprocess.CompletedProcess:
    argv = [venv_tool("docker-compose")]
    for file in files:
        argv += ["-f", str(file)]
    return subprocess.run(
        [*argv, "--env-file", str(STAGING_ENV), "config", "--format", "json"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "ADMIN2_ENV_FILE": str(STAGING_ENV)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft201909Validator.check_schema(SCHEMA)


def test_devcontainer_json_is_valid_against_the_schema():
    assert errors(config()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.pop("service"), "'service' is a required property"),
        (lambda c: c.__setitem__("workspaceFoldr", "/app"), "Additional properties"),
        (lambda c: c.__setitem__("forwardPorts", [70000]), "is not valid under any"),
        (lambda c: c.__setitem__("shutdownAction", "stopContainer"), "is not one of"),
        (
            lambda c: c["customizations"]["vscode"]["extensions"].append("not an id"),
            "does not match",
        ),
    ],
)
def test_the_schema_rejects_broken_configurations(change, expected):
    broken = copy.deepcopy(config())
    change(broken)
    assert any(expected in message for message in errors(broken)), errors(broken)


def test_comments_are_stripped_but_strings_keep_their_slashes():
    text = '{"a": "x//y/*z*/", // trailing\n /* block */ "b": 1}'
    assert json.loads(strip_comments(text)) == {"a": "x//y/*z*/", "b": 1}


def test_it_runs_on_the_staging_stack_with_the_editor_in_web():
    c = config()
    assert c["dockerComposeFile"] == [
        "../containers/docker-compose.staging.yml",
        "docker-compose.devcontainer.yml",
    ]
    for file in c["dockerComposeFile"]:
        assert (DEVCONTAINER.parent / file).resolve().is_file()
    assert c["service"] == "web"
    assert c["workspaceFolder"] == "/app"
    assert c["forwardPorts"] == [8071]
    assert "uv sync" in c["postCreateCommand"]
    assert set(c["customizations"]["vscode"]["extensions"]) >= {
        "ms-python.python",
        "charliermarsh.ruff",
        "batisteo.vscode-django",
    }


def test_the_remote_user_is_the_images_unprivileged_user():
    user = config()["remoteUser"]
    assert user not in ("root", "0")
    dockerfile = (REPO / "containers" / "Dockerfile").read_text()
    assert re.search(rf"useradd\b[^\n]*(\\\n[^\n]*)*\b{user}\b", dockerfile), (
        f"the image creates no user {user!r}"
    )


def test_the_override_is_valid_compose_with_the_staging_file():
    alone = compose_config(STAGING)
    combined = compose_config(STAGING, OVERRIDE)
    assert alone.returncode == 0, alone.stderr
    assert combined.returncode == 0, combined.stderr
    web = json.loads(combined.stdout)["services"]["web"]
    # the source is mounted where the editor works, so the dev server reloads on save
    mounts = {(v["type"], v["target"]) for v in web["volumes"]}
    assert ("bind", "/app") in mounts
    assert web["environment"]["ADMIN2_TEST_DB"] == "sqlite"
    nginx = json.loads(combined.stdout)["services"]["nginx"]
    assert {int(p["published"]) for p in nginx["ports"]} == {8071}


def test_the_override_touches_only_services_of_the_staging_stack():
    staging = yaml.safe_load(STAGING.read_text())["services"]
    override = yaml.safe_load(OVERRIDE.read_text())["services"]
    assert set(override) <= set(staging)


def test_a_broken_override_fails_compose_validation(tmp_path):
    broken = tmp_path / "override.yml"
    broken.write_text("services:\n  web:\n    cap_add: SYS_PTRACE\n    restart: sometimes\n")
    assert compose_config(STAGING, broken).returncode != 0
