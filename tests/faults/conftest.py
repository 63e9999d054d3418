"""Fixtures for the fault tests: private services the tests may stop, and the web on top."""

from __future__ import annotations

import pytest

from harness.postgres import PostgresCluster
from harness.redis import RedisServer
from tests.faults.stack import DATABASE, WebServer, prepare, production_env


@pytest.fixture
def postgres():
    cluster = PostgresCluster()
    try:
        cluster.start()
        cluster.create_database(DATABASE)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack_env(tmp_path, postgres, redis_server):
    """Production settings pointing at this test's own PostgreSQL and Redis, prepared."""
    env = production_env(tmp_path, postgres=postgres, redis=redis_server)
    prepare(env)
    return env


@pytest.fixture
def web(tmp_path, stack_env):
    server = WebServer(tmp_path, stack_env)
    server.start()
    yield server
    server.stop()
