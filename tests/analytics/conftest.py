"""Analytics fixtures: a real embedded ClickHouse engine (chDB) with the demo ``events`` table.

``analytics_engine`` (function scope) points the settings at a session-wide chDB directory
holding ``DEMO_ROWS`` deterministic demo rows and yields an :class:`EmbeddedEngine`. Tests
that write must make their own engine (``fresh_engine``) rather than change the shared one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

DEMO_ROWS = 10_000


@dataclass(frozen=True)
class EmbeddedEngine:
    path: Path  # the chDB data directory (CLICKHOUSE_EMBEDDED_PATH)
    rows: int  # rows in the demo ``events`` table
    table: str = "events"


def _engine_settings(path: Path) -> dict:
    return {
        "CLICKHOUSE_HOST": "",
        "CLICKHOUSE_DATABASE": "default",
        "CLICKHOUSE_EMBEDDED_PATH": path,
        "CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT": 10.0,
    }


@pytest.fixture(scope="session")
def _demo_engine(tmp_path_factory) -> EmbeddedEngine:
    from admin2_analytics.demo_data import create_events

    path = tmp_path_factory.mktemp("chdb") / "data"
    with override_settings(**_engine_settings(path)):
        rows = create_events(DEMO_ROWS)
    assert rows == DEMO_ROWS
    return EmbeddedEngine(path=path, rows=rows)


@pytest.fixture
def analytics_engine(settings, _demo_engine) -> EmbeddedEngine:
    """The shared read-only demo engine, with the settings pointing at it."""
    for name, value in _engine_settings(_demo_engine.path).items():
        setattr(settings, name, value)
    return _demo_engine


@pytest.fixture
def fresh_engine(settings, tmp_path) -> EmbeddedEngine:
    """An empty engine of this test's own (for tests that write or hold the directory)."""
    path = tmp_path / "chdb"
    for name, value in _engine_settings(path).items():
        setattr(settings, name, value)
    return EmbeddedEngine(path=path, rows=0)


@pytest.fixture
def incidents(fresh_engine):
    """An ``incidents`` table of the test's own engine; returns a function adding rows."""
    from admin2_analytics import engine

    tag = engine.QueryTag(user="test", source="cli")
    with engine.maintenance_session(tag=tag) as session:
        session.command("CREATE TABLE incidents (severity UInt8) ENGINE = MergeTree ORDER BY ()")

    def change(*severities: int, clear: bool = False) -> None:
        with engine.maintenance_session(tag=tag) as session:
            if clear:
                session.command("TRUNCATE TABLE incidents")
            if severities:
                values = ", ".join(f"({int(s)})" for s in severities)
                session.command(f"INSERT INTO incidents VALUES {values}")  # noqa: S608 (ints)

    return change


@pytest.fixture
def mail_and_hooks(settings, smtp_sink):
    port, inbox = smtp_sink
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = ["example.com"]
    settings.ANALYTICS_ALERT_WEBHOOK_HOSTS = ["127.0.0.1"]
    return inbox


# Tests against a real ClickHouse server exist only where one does: they are collected when
# CLICKHOUSE_TEST_URL is set (http[s]://user:password@host:port/database) and are otherwise
# not part of the run at all, so CI shows no skips.
if not os.environ.get("CLICKHOUSE_TEST_URL"):
    collect_ignore = ["test_http_backend_real_server.py"]
