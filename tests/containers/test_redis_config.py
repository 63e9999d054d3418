"""The Redis configuration files, run by a real redis-server, and the seed's health check."""

from __future__ import annotations

import subprocess

import pytest
import redis

from tests.containers import compose
from tests.containers.native import healthcheck_argv
from tests.containers.native import start_redis as start
from tests.support.services import free_port


@pytest.mark.parametrize("stack", compose.STACKS)
def test_the_seed_health_check_passes_against_the_configured_server(stack, tmp_path):
    port = free_port()
    server = start(stack, tmp_path, port)
    try:
        test = compose.raw(stack)["services"]["redis"]["healthcheck"]["test"]
        argv = healthcheck_argv(test, after="redis-cli", extra=["-h", "127.0.0.1", "-p", str(port)])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        assert (result.returncode, result.stdout.strip()) == (0, "PONG")
    finally:
        server.stop()


def test_production_redis_keeps_queued_tasks_across_a_restart(tmp_path):
    port = free_port()
    server = start("production", tmp_path, port)
    try:
        client = redis.Redis(port=port)
        settings = {k: v for k, v in client.config_get("*").items()}
        assert settings["appendonly"] == "yes"
        assert settings["appendfsync"] == "everysec"
        assert settings["maxmemory-policy"] == "volatile-lru"
        assert int(settings["maxmemory"]) == 384 * 1024 * 1024
        client.lpush("celery", "a queued task")
        client.set("cache-entry", "x", ex=300)
    finally:
        server.stop()  # SIGTERM: Redis flushes the append-only file on shutdown
    server = start("production", tmp_path, port)
    try:
        client = redis.Redis(port=port)
        assert client.lrange("celery", 0, -1) == [b"a queued task"]
        assert client.ttl("cache-entry") > 0
    finally:
        server.stop()


def test_staging_redis_runs_without_the_append_only_file(tmp_path):
    port = free_port()
    server = start("staging", tmp_path, port)
    try:
        assert redis.Redis(port=port).config_get("appendonly") == {"appendonly": "no"}
    finally:
        server.stop()
