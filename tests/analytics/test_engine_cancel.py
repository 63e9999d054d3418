"""``engine.cancel(query_id)``: stop one running query, on either backend.

The server path runs against a recording stand-in for the client (no ClickHouse server can
run on this machine, docs/clickhouse.md); the embedded path against the real chDB.
"""

from __future__ import annotations

import threading

from admin2_analytics import engine
from admin2_analytics.engine import backend, embedded
from admin2_analytics.engine import http as http_backend
from admin2_analytics.errors import QueryTimeout
from harness.processes import REPO, wait_until

TAG = engine.QueryTag(user="erin", source="web")
# Many blocks of cheap rows: the engine looks for a cancel between blocks.
LONG = "SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3"


def test_a_running_embedded_query_is_cancelled_by_its_id(analytics_engine, settings):
    settings.ANALYTICS_MAX_EXECUTION_TIME = 120
    query_id = engine.new_query_id()
    outcome = []

    def run():
        try:
            engine.execute(LONG, tag=TAG, query_id=query_id)
            outcome.append("finished")
        except QueryTimeout as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: embedded.in_use_here(analytics_engine.path), 10, "the query to start")
    wait_until(lambda: engine.cancel(query_id), 10, "the engine to find the query")
    thread.join(30)
    assert not thread.is_alive()
    assert outcome and "cancelled" in outcome[0]


def test_cancelling_an_unknown_query_says_so(analytics_engine):
    assert engine.cancel(engine.new_query_id()) is False
    assert engine.cancel("") is False


def test_on_a_server_cancel_is_a_kill_query_with_the_id_bound(settings, monkeypatch):
    settings.CLICKHOUSE_HOST = "127.0.0.1"
    sent = []

    class Client:  # records what would go to the server
        def query(self, sql, parameters):
            sent.append((sql, parameters))
            return type("Result", (), {"result_rows": [("finished", parameters["query_id"])]})

    monkeypatch.setattr(http_backend, "get_client", lambda server: Client())
    assert type(backend.current()).__name__ == "ServerBackend"
    assert engine.cancel("admin2-x") is True
    assert sent == [
        ("KILL QUERY WHERE query_id = {query_id:String} ASYNC", {"query_id": "admin2-x"})
    ]


def test_the_backend_is_chosen_once_per_configuration(settings):
    settings.CLICKHOUSE_HOST = ""
    first = backend.current()
    assert backend.current() is first
    settings.CLICKHOUSE_HOST = "127.0.0.1"
    assert backend.current() is not first


def test_no_module_outside_the_backends_asks_which_engine_is_in_use():
    package = REPO / "src" / "admin2_analytics" / "admin2_analytics"
    askers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "is_embedded(" in path.read_text()
    )
    assert askers == ["engine/backend.py", "engine/config.py"]
