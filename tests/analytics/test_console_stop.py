"""Stop in the SQL console: the run is killed on the engine (gone from system.processes) and
recorded as cancelled; only the user who started a run may watch or stop it."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.urls import reverse

from admin2_analytics import console_control, console_runs, engine
from admin2_analytics.models import QueryRun
from harness.processes import wait_until
from tests.support.users import make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Many cheap blocks: the engine looks for a kill between blocks.
LONG = "SELECT count() FROM numbers_mt(100000000000) WHERE number % 7 = 3"


def _on_engine(query_id: str) -> int:
    return len(
        engine.run_trusted(
            "SELECT 1 FROM system.processes WHERE query_id = {q:String} "
            "OR JSONExtractString(Settings['log_comment'], 'query_id') = {q:String}",
            {"q": query_id},
            tag=engine.QueryTag(user="test", source="web"),
        ).rows
    )


def test_a_stopped_run_is_gone_from_the_engine_and_recorded_cancelled(analytics_engine,
                                                                       settings):  # fmt: skip
    settings.ANALYTICS_MAX_EXECUTION_TIME = 120
    settings.ANALYTICS_MAX_BLOCK_SIZE = 65536
    user = make_user("analyst", "analytics.run_adhoc_sql")
    run_id = uuid.uuid4().hex
    outcome: list[BaseException | str] = []

    def run():
        try:
            console_runs.run_page(LONG, {}, user=user, page=1, page_size=10, run_id=run_id)
            outcome.append("finished")
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    seen = wait_until(
        lambda: (console_control.progress(run_id, user) or {}).get("read_rows"),
        30,
        "the run to read rows",
    )
    assert seen > 0
    assert console_control.stop(run_id, user) is True
    thread.join(60)
    assert not thread.is_alive()
    assert isinstance(outcome[0], console_runs.RunStopped), outcome
    assert _on_engine(f"admin2-{run_id}") == 0
    recorded = QueryRun.objects.get()
    assert recorded.error.startswith("RunStopped: cancelled: stopped by the user after")
    assert recorded.row_count and recorded.row_count >= seen
    assert recorded.query_id == f"admin2-{run_id}"


def test_only_the_runs_owner_may_watch_or_stop_it(analytics_engine):
    owner = make_user("owner", "analytics.run_adhoc_sql")
    other = make_user("other", "analytics.run_adhoc_sql")
    run_id = uuid.uuid4().hex
    console_control.register(run_id, owner)
    assert console_control.progress(run_id, other) is None
    assert console_control.stop(run_id, other) is False
    assert console_control.progress(run_id, owner) == {"running": False}


def test_progress_and_stop_answer_404_for_unknown_runs(client, logged_in, analytics_engine):
    logged_in("analytics.run_adhoc_sql", username="analyst")
    assert client.get(reverse("analytics:console_progress"), {"run": "x"}).status_code == 404
    unknown = uuid.uuid4().hex
    assert client.get(reverse("analytics:console_progress"), {"run": unknown}).status_code == 404
    assert client.post(reverse("analytics:console_stop"), {"run": unknown}).status_code == 404
    assert client.get(reverse("analytics:console_stop")).status_code == 405
