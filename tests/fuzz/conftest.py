"""Fuzz fixtures: a test client that returns server errors instead of raising them, and an
engine of the fuzz tests' own."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def anonymous():
    # A 500 must come back as a response to be counted, not as an exception in the test.
    return Client(raise_request_exception=False)


@pytest.fixture
def admin_client_500(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


ENGINE_ROWS = 2_000


@pytest.fixture(scope="session")
def _fuzz_engine_path(tmp_path_factory):
    """An embedded engine of the fuzz tests' own, with a small demo ``events`` table."""
    from django.test import override_settings

    from admin2_analytics.demo_data import create_events

    path = tmp_path_factory.mktemp("fuzz-chdb") / "data"
    with override_settings(CLICKHOUSE_HOST="", CLICKHOUSE_EMBEDDED_PATH=path):
        assert create_events(ENGINE_ROWS) == ENGINE_ROWS
    return path


@pytest.fixture
def fuzz_engine(settings, _fuzz_engine_path):
    settings.CLICKHOUSE_HOST = ""
    settings.CLICKHOUSE_DATABASE = "default"
    settings.CLICKHOUSE_EMBEDDED_PATH = _fuzz_engine_path
    settings.CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT = 10.0
    return _fuzz_engine_path
