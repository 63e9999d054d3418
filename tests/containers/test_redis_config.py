"""The Redis configuration files, run by a real redis-server as the Compose service starts it
(containers/redis/start.sh with the redis_password secret), and the seed's health check."""

from __future__ import annotations

import subprocess

import pytest
import redis

from harness import compose
from harness.native import redis_healthcheck, redis_password_file
from harness.native import start_redis as start
from harness.processes import free_port


def client(port: int, secret) -> redis.Redis:
    return redis.Redis(port=port, password=secret.read_text().strip())


@pytest.mark.parametrize("stack", compose.STACKS)
def test_the_seed_health_check_passes_against_the_configured_server(stack, tmp_path):
    port = free_port()
    secret = redis_password_file(tmp_path)
    server = start(stack, tmp_path, port, secret)
    try:
        argv, env = redis_healthcheck(stack, port, secret)
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
        assert (result.returncode, result.stdout.strip()) == (0, "PONG"), result.stderr
    finally:
        server.stop()


@pytest.mark.parametrize("stack", compose.STACKS)
def test_the_configured_server_refuses_clients_without_the_password(stack, tmp_path):
    port = free_port()
    secret = redis_password_file(tmp_path)
    server = start(stack, tmp_path, port, secret)
    try:
        with pytest.raises(redis.AuthenticationError, match=r"(?i)authenticat"):
            redis.Redis(port=port).set("planted", "by anyone on the host")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, password="a-guess-that-is-wrong").ping()
        # redis-cli without the secret, as a local process would run it: refused as well.
        plain = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "get", "planted"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        assert "NOAUTH" in plain.stdout + plain.stderr
        settings = client(port, secret).config_get("protected-mode")
        assert settings == {"protected-mode": "yes"}
        assert client(port, secret).get("planted") is None
    finally:
        server.stop()


@pytest.mark.parametrize("stack", compose.STACKS)
def test_redis_does_not_start_without_a_usable_password(stack, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(pytest.fail.Exception, match="at least 16 characters"):
        start(stack, tmp_path, free_port(), empty)


def test_production_redis_keeps_queued_tasks_across_a_restart(tmp_path):
    port = free_port()
    secret = redis_password_file(tmp_path)
    server = start("production", tmp_path, port, secret)
    try:
        settings = {k: v for k, v in client(port, secret).config_get("*").items()}
        assert settings["appendonly"] == "yes"
        assert settings["appendfsync"] == "everysec"
        assert settings["maxmemory-policy"] == "volatile-lru"
        assert int(settings["maxmemory"]) == 384 * 1024 * 1024
        client(port, secret).lpush("celery", "a queued task")
        client(port, secret).set("cache-entry", "x", ex=300)
    finally:
        server.stop()  # SIGTERM: Redis flushes the append-only file on shutdown
    server = start("production", tmp_path, port, secret)
    try:
        assert client(port, secret).lrange("celery", 0, -1) == [b"a queued task"]
        assert client(port, secret).ttl("cache-entry") > 0
    finally:
        server.stop()


def test_staging_redis_runs_without_the_append_only_file(tmp_path):
    port = free_port()
    secret = redis_password_file(tmp_path)
    server = start("staging", tmp_path, port, secret)
    try:
        assert client(port, secret).config_get("appendonly") == {"appendonly": "no"}
    finally:
        server.stop()
