"""The Compose files keep the seed's contract, and the checker notices when one does not.

Each mutation below changes one seed value in a copy of a real Compose file (or its example
env file); the checker must name the change. So the contract tests cannot pass vacuously.
"""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml

from harness import compose
from tests.containers import contract


@pytest.mark.parametrize("stack", compose.STACKS)
def test_stack_keeps_the_seed_contract(stack):
    assert contract.violations(stack, compose.resolved(stack), compose.raw(stack)) == []


def _service(name):
    def getter(document):
        return document["services"][name]

    return getter


def _set_redis_port(port):
    def mutate(doc):
        doc["services"]["redis"]["ports"] = [f"127.0.0.1:{port}:6379"]

    return mutate


MUTATIONS = {
    "production redis host port 6378 -> 6379": (
        "production", _set_redis_port(6379), "redis must map host 6378"),
    "staging redis host port 6377 -> 6378": (
        "staging", _set_redis_port(6378), "redis must map host 6377"),
    "redis published on every interface": (
        "production",
        lambda d: d["services"]["redis"].__setitem__("ports", ["6378:6379"]),
        "must be bound to 127.0.0.1"),
    "redis health check interval 5s -> 10s": (
        "production",
        lambda d: d["services"]["redis"]["healthcheck"].__setitem__("interval", "10s"),
        "redis health check must be exactly"),
    "redis health check gains a start_period": (
        "staging",
        lambda d: d["services"]["redis"]["healthcheck"].__setitem__("start_period", "5s"),
        "redis health check must be exactly"),
    "db health check checks another user": (
        "production",
        lambda d: d["services"]["db"]["healthcheck"].__setitem__(
            "test", ["CMD", "pg_isready", "-U", "postgres"]),
        "db health check must be exactly"),
    "db health check loses its start_period": (
        "production",
        lambda d: d["services"]["db"]["healthcheck"].pop("start_period"),
        "db health check must be exactly"),
    "postgres_data renamed": (
        "production",
        lambda d: (d["volumes"].pop("postgres_data"), d["volumes"].__setitem__("pg_data", None),
                   d["services"]["db"].__setitem__("volumes", ["pg_data:/var/lib/postgresql"])),
        "volume postgres_data is not declared"),
    "redis_data_staging renamed": (
        "staging",
        lambda d: (d["volumes"].pop("redis_data_staging"), d["volumes"].__setitem__("redis", None),
                   d["services"]["redis"].__setitem__("volumes", ["redis:/data"])),
        "redis must mount volume redis_data_staging at /data"),
    "sqlite_data not mounted by web": (
        "staging",
        lambda d: d["services"]["web"].__setitem__("volumes", ["..:/app"]),
        "web must mount volume sqlite_data at /app/data"),
    "nginx no longer serves the static volume": (
        "production",
        lambda d: d["services"]["nginx"]["volumes"].remove("static:/app/static:ro"),
        "nginx must mount volume static at /app/static"),
    "web waits for redis only to start": (
        "production",
        lambda d: d["services"]["web"]["depends_on"]["redis"].__setitem__(
            "condition", "service_started"),
        "web depends on redis with service_started"),
    "celery does not wait for migrations": (
        "staging",
        lambda d: d["services"]["celery"]["depends_on"].pop("migrate"),
        "celery must depend on ['migrate']"),
    "web published on the host": (
        "production",
        lambda d: d["services"]["web"].__setitem__("ports", ["8000:8000"]),
        "web publishes port 8000"),
    "web pinned to one container name": (
        "production",
        lambda d: d["services"]["web"].__setitem__("container_name", "admin2-web"),
        "could not scale"),
    "backend network no longer internal": (
        "production",
        lambda d: d["networks"].__setitem__("backend", {}),
        "no internal network"),
    "nginx logs without rotation": (
        "staging",
        lambda d: d["services"]["nginx"].pop("logging"),
        "nginx needs json-file logging"),
    "celery without limits": (
        "production",
        lambda d: d["services"]["celery"].pop("deploy"),
        "celery needs CPU and memory limits"),
    "redis without its password secret": (
        "production",
        lambda d: d["services"]["redis"].pop("secrets"),
        "redis does not get the redis_password secret"),
    "redis started without the password": (
        "staging",
        lambda d: d["services"]["redis"].pop("entrypoint"),
        "redis must start through start.sh"),
    "redis health check without the authenticating redis-cli": (
        "production",
        lambda d: d["services"]["redis"]["volumes"].remove(
            "./redis/redis-cli:/usr/local/sbin/redis-cli:ro"),
        "redis must mount containers/redis/redis-cli at /usr/local/sbin/redis-cli"),
    "celery without Redis's password": (
        "production",
        lambda d: d["services"]["celery"].__setitem__(
            "environment", {"DJANGO_ENVIRONMENT": "production"}),
        "celery lacks REDIS_PASSWORD_FILE"),
    "staging web without the secret": (
        "staging",
        lambda d: d["services"]["web"].__setitem__("secrets", []),
        "web does not get the redis_password secret"),
    "production celery on the prefork pool": (
        "production",
        lambda d: d["services"]["celery"].__setitem__(
            "command", ["celery", "-A", "admin2_tasks", "worker", "-P", "prefork"]),
        "eventlet"),
}  # fmt: skip


@pytest.mark.parametrize("label", list(MUTATIONS))
def test_checker_names_a_changed_seed_value(label, tmp_path):
    stack, mutate, expected = MUTATIONS[label]
    document = copy.deepcopy(compose.raw(stack))
    mutate(document)
    # Written next to nothing: relative paths resolve against tmp_path, which config accepts.
    mutated = tmp_path / compose.compose_file(stack).name
    mutated.write_text(yaml.safe_dump(document, sort_keys=False))
    found = contract.violations(
        stack, compose.resolved(stack, mutated), compose.raw(stack, mutated)
    )
    assert any(expected in message for message in found), found


@pytest.mark.parametrize(
    ("stack", "line", "replacement", "expected"),
    [
        ("production", "PORT_NGINX=8061", "PORT_NGINX=8062", "nginx must publish 8061"),
        ("staging", "PORT_NGINX=8071", "PORT_NGINX=8070", "nginx must publish 8071"),
        (
            "production",
            "CELERY_BROKER_URL=redis://redis:6379/0\n",
            "",
            "celery lacks CELERY_BROKER_URL",
        ),
        ("production", "CLICKHOUSE_SECURE=true\n", "", "web lacks CLICKHOUSE_SECURE"),
        (
            "staging",
            "REDIS_URL=redis://redis:6379/1",
            "REDIS_URL=redis://:written-into-the-env-file@redis:6379/1",
            "web: REDIS_URL carries a password",
        ),
    ],
)
def test_checker_names_a_changed_env_example(stack, line, replacement, expected, tmp_path):
    example = compose.example_env_file(stack).read_text()
    assert line in example
    env_file = tmp_path / f".env.{stack}"
    env_file.write_text(example.replace(line, replacement))
    found = contract.violations(
        stack, compose.resolved(stack, env_file=env_file), compose.raw(stack)
    )
    assert any(expected in message for message in found), found


@pytest.mark.parametrize("stack", compose.STACKS)
@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        ("protected-mode yes", "protected-mode no", "must keep protected-mode yes"),
        ("protected-mode yes", "protected-mode yes\nrequirepass in-the-repo", "holds a password"),
    ],
)
def test_checker_reads_the_redis_config_the_stack_mounts(
    stack, line, replacement, expected, tmp_path
):
    shutil.copytree(compose.CONTAINERS / "redis", tmp_path / "redis")
    config = tmp_path / "redis" / f"redis.{stack}.conf"
    assert line in config.read_text()
    config.write_text(config.read_text().replace(line, replacement))
    mutated = tmp_path / compose.compose_file(stack).name
    mutated.write_text(compose.compose_file(stack).read_text())
    found = contract.violations(
        stack, compose.resolved(stack, mutated), compose.raw(stack, mutated)
    )
    assert any(expected in message for message in found), found
