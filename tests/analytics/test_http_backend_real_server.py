"""The same seam against a real ClickHouse server (collected only with CLICKHOUSE_TEST_URL).

Point it at a server with a read-only user, e.g.
``CLICKHOUSE_TEST_URL=https://admin2_reader:secret@clickhouse.example.com:8443/default``.
"""

import csv
import io
import json
import os
from urllib.parse import unquote, urlsplit

import pytest

from admin2_analytics import engine, schema
from admin2_analytics.engine import config
from admin2_analytics.engine import http as http_backend
from admin2_analytics.errors import QueryRefused, QueryTimeout, ResultTooLarge

TAG = engine.QueryTag(user="real-server-test", source="cli", saved_query="probe")


@pytest.fixture
def real_server(settings):
    url = urlsplit(os.environ["CLICKHOUSE_TEST_URL"])
    settings.CLICKHOUSE_HOST = url.hostname
    settings.CLICKHOUSE_SECURE = url.scheme == "https"
    settings.CLICKHOUSE_PORT = url.port or (8443 if settings.CLICKHOUSE_SECURE else 8123)
    settings.CLICKHOUSE_USER = unquote(url.username or "default")
    settings.CLICKHOUSE_PASSWORD = unquote(url.password or "")
    settings.CLICKHOUSE_DATABASE = url.path.strip("/") or "default"
    settings.CLICKHOUSE_READ_TIMEOUT = 60
    yield settings
    http_backend.forget_client(config.server())


def test_it_runs_a_query_with_typed_parameters(real_server):
    result = engine.execute(
        "SELECT {s:String} AS s, {n:UInt8} + 1 AS n", {"s": "it's", "n": "41"}, tag=TAG
    )
    assert result.rows == [("it's", 42)]
    assert result.types == ["String", "UInt16"]


def test_the_query_carries_tag_and_limits(real_server):
    result = engine.execute(
        "SELECT getSetting('log_comment'), getSetting('max_result_rows'), getSetting('readonly')",
        tag=TAG,
    )
    comment, max_rows, readonly = result.rows[0]
    assert json.loads(comment)["saved_query"] == "probe"
    assert int(max_rows) == real_server.ANALYTICS_MAX_RESULT_ROWS
    assert int(readonly) >= 1


def test_the_server_refuses_writes_when_the_guard_is_bypassed(real_server):
    with pytest.raises(QueryRefused):
        engine.run_trusted("CREATE TABLE admin2_probe (a UInt8) ENGINE = Memory", tag=TAG)


def test_row_and_time_limits(real_server):
    real_server.ANALYTICS_MAX_RESULT_ROWS = 10
    with pytest.raises(ResultTooLarge):
        engine.execute("SELECT number FROM numbers(100)", tag=TAG)
    with pytest.raises(QueryTimeout):
        engine.execute(
            "SELECT sum(cityHash64(number)) FROM numbers(100000000000)", tag=TAG, timeout=1
        )


def test_streams_and_schema(real_server):
    text = b"".join(engine.stream("SELECT number AS n FROM numbers(3)", tag=TAG, fmt="csv"))
    assert list(csv.reader(io.StringIO(text.decode()))) == [["n"], ["0"], ["1"], ["2"]]
    assert real_server.CLICKHOUSE_DATABASE in schema.databases()
    assert engine.ping(5).startswith("http")
