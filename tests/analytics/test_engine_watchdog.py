"""The server-side deadline: a user query still running at 1.5x its limit is killed by id."""

from __future__ import annotations

import time

from admin2_analytics.engine import watchdog


def test_a_query_past_its_deadline_is_killed_by_its_id():
    killed = []
    query_id = watchdog.new_query_id()
    with watchdog.deadline(query_id, 0.1, killed.append):
        time.sleep(0.4)
    assert killed == [query_id]


def test_a_query_within_its_deadline_is_left_alone():
    killed = []
    with watchdog.deadline(watchdog.new_query_id(), 0.2, killed.append):
        pass
    time.sleep(0.4)
    assert killed == []


def test_a_failing_kill_is_logged_not_raised(caplog):
    def kill(query_id):
        raise ConnectionError("server gone")

    with watchdog.deadline(watchdog.new_query_id(), 0.05, kill):
        time.sleep(0.2)
    assert "could not kill query" in caplog.text
