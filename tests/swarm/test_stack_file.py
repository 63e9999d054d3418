"""The swarm stack file against the Compose file it must agree with, and against the rules
of a swarm without IPVS (docs/scaling.md). Reads the files only: no engine."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from harness import compose
from harness.processes import REPO

STACK_FILE = REPO / "containers" / "docker-stack.production.yml"
APP = ("migrate", "web", "celery", "celery-beat")
WAIT = ["python", "/usr/local/lib/admin2/wait-for.py"]
S3_KEY_FILE = "ADMIN2_S3_SECRET_ACCESS_KEY_FILE"


@pytest.fixture(scope="module")
def stack():
    return yaml.safe_load(STACK_FILE.read_text())["services"]


@pytest.fixture(scope="module")
def production():
    return compose.raw("production")["services"]


def command_after_wait(command: list[str]) -> list[str]:
    assert command[:2] == WAIT, command
    return command[command.index("--") + 1 :]


def test_same_services_as_compose(stack, production):
    # Monitoring is not on the swarm yet (docs/scaling.md says so): the Compose file's
    # monitoring profile is the single-server stack's.
    always = {name for name, service in production.items() if not service.get("profiles")}
    assert set(stack) == always


@pytest.mark.parametrize("name", APP)
def test_app_commands_are_compose_commands_behind_the_wait(stack, production, name):
    ours = command_after_wait(stack[name]["command"])
    theirs = production[name]["command"]
    if name == "migrate":  # no shared static volume to publish into on a swarm
        theirs = theirs[: theirs.index("--publish-static")]
    assert ours == theirs


@pytest.mark.parametrize("name", ["web", "celery", "celery-beat", "redis", "db", "nginx"])
def test_health_checks_and_grace_periods_are_compose_ones(stack, production, name):
    assert stack[name]["healthcheck"] == production[name]["healthcheck"]
    assert stack[name].get("stop_grace_period") == production[name].get("stop_grace_period")


@pytest.mark.parametrize("name", [*APP, "redis", "db", "nginx"])
def test_limits_are_compose_ones_and_every_service_reserves(stack, production, name):
    resources = stack[name]["deploy"]["resources"]
    assert resources["limits"] == production[name]["deploy"]["resources"]["limits"]
    assert set(resources["reservations"]) == {"cpus", "memory"}


@pytest.mark.parametrize("name", APP)
def test_app_environment_and_secrets_are_compose_ones(stack, production, name):
    # Plus the S3 key: a single server shares one media volume, a swarm needs the bucket.
    environment = dict(stack[name]["environment"])
    assert environment.pop(S3_KEY_FILE) == "/run/secrets/s3_secret_access_key"
    assert environment == production[name]["environment"]
    assert stack[name]["secrets"] == [*production[name]["secrets"], "s3_secret_access_key"]
    assert stack[name]["read_only"] and stack[name]["cap_drop"] == ["ALL"]


def test_the_s3_secret_key_is_a_swarm_secret_the_deploy_script_provides():
    secrets = yaml.safe_load(STACK_FILE.read_text())["secrets"]
    assert secrets["s3_secret_access_key"]["file"].startswith("${ADMIN2_S3_SECRET_PATH:?")


def deploy_with(tmp_path, *lines: str) -> subprocess.CompletedProcess:
    """deploy/swarm/deploy.sh up to its checks of the S3 key, which stop it before any
    docker command (DOCKER names a program that does not exist, to be sure)."""
    env_file = tmp_path / ".env.production"
    env_file.write_text("".join(f"{line}\n" for line in lines))
    (tmp_path / "secrets").mkdir(exist_ok=True)
    return subprocess.run(
        [str(REPO / "deploy" / "swarm" / "deploy.sh"), "r.example/admin2@sha256:00", str(env_file)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "DOCKER": str(tmp_path / "no-docker"),
             "ADMIN2_SECRETS_DIR": str(tmp_path / "secrets")},
    )  # fmt: skip


def test_deploy_refuses_the_s3_secret_key_in_the_env_file(tmp_path):
    refused = deploy_with(tmp_path, "ADMIN2_MEDIA_STORAGE=s3", "ADMIN2_S3_SECRET_ACCESS_KEY=k")
    assert refused.returncode == 1
    assert "ADMIN2_S3_SECRET_ACCESS_KEY: move it from" in refused.stderr
    assert "secrets/s3_secret_access_key" in refused.stderr


def test_deploy_with_s3_media_needs_the_secret_file(tmp_path):
    refused = deploy_with(tmp_path, "ADMIN2_MEDIA_STORAGE=s3")
    assert refused.returncode == 1
    assert "ADMIN2_MEDIA_STORAGE=s3: put the bucket's secret key in" in refused.stderr


@pytest.mark.parametrize("name", ["redis", "db", "nginx"])
def test_images_and_capabilities_are_compose_ones(stack, production, name):
    default = re.fullmatch(r"\$\{ADMIN2_\w+_IMAGE:-(.+)\}", stack[name]["image"])
    expected = production[name]["image"]
    if name == "db":  # Compose runs the pgBackRest image built on it; the swarm, the base
        expected = production["db"]["build"]["args"]["POSTGRES_IMAGE"]
    assert default and default[1] == expected
    assert stack[name]["cap_add"] == production[name]["cap_add"]


def test_nginx_gets_compose_variables_except_what_the_swarm_fixes(stack, production):
    ours, theirs = set(stack["nginx"]["environment"]), set(production["nginx"]["environment"])
    # TLS is always on (certificate and key are secrets); the upstream is re-resolved by a
    # variable, never by `resolve`; stub_status serves the monitoring profile, not on the swarm.
    assert theirs - ours == {"NGINX_TLS", "NGINX_TLS_CERT", "NGINX_TLS_KEY",
                             "NGINX_UPSTREAM_RESOLVE", "NGINX_STATUS_PORT"}  # fmt: skip
    assert ours <= theirs


def test_what_a_swarm_ignores_or_refuses_is_absent(stack):
    for name, service in stack.items():
        assert not {"build", "restart", "depends_on", "container_name"} & set(service), name
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name  # no IPVS for VIPs
        for port in service.get("ports", []):
            assert port["mode"] == "host", name  # the routing mesh needs IPVS too


def test_web_updates_start_first_and_rolls_back_unhealthy(stack):
    update = stack["web"]["deploy"]["update_config"]
    assert update["order"] == "start-first" and update["failure_action"] == "rollback"


def test_one_beat_even_during_an_update(stack):
    deploy = stack["celery-beat"]["deploy"]
    assert deploy["replicas"] == 1 and deploy["update_config"]["order"] == "stop-first"


def test_host_port_services_update_stop_first(stack):
    assert stack["nginx"]["deploy"]["update_config"]["order"] == "stop-first"


def test_every_file_nginx_includes_is_a_config(stack):
    files = yaml.safe_load(STACK_FILE.read_text())["configs"]
    targets = {c["target"] for c in stack["nginx"]["configs"]}
    for config in files.values():
        assert (STACK_FILE.parent / config["file"]).is_file(), config
    site = (REPO / "containers" / "nginx" / "templates" / "swarm.conf.template").read_text()
    snippets = set(re.findall(r"include (/etc/nginx/snippets/\S+);", site))
    for snippet in list(snippets):
        text = (REPO / "containers" / "nginx" / "snippets" / snippet.rsplit("/", 1)[1]).read_text()
        snippets |= set(re.findall(r"include (/etc/nginx/snippets/\S+);", text))
    assert snippets and snippets <= targets
