"""chDB admits one process per data directory: real processes take turns, never fight.

Children are real ``python`` processes running the same seam against the same directory, as
the web process, a Celery worker and ``admin2 analytics_query`` would. Why a process keeps
the engine open between its queries: docs/clickhouse.md, "The embedded engine".
"""

import json
import signal
import sys
import threading

import pytest

from admin2_analytics import engine
from admin2_analytics.engine import QueryTag, embedded
from admin2_analytics.errors import EngineUnavailable
from harness.processes import ManagedProcess, django_env, wait_until

TAG = QueryTag(user="parent", source="cli")

CHILD = r"""
import json, os, sys, time
import django
django.setup()
from admin2_analytics import engine
tag = engine.QueryTag(user="child", source="task")
mode = sys.argv[1]
if mode in ("hold", "hold-forever"):
    stream = engine.stream("SELECT e.* FROM events AS e, numbers(1000) AS n", tag=tag, fmt="csv")
    next(stream)
    print("HOLDING", os.getpid(), flush=True)
    while mode == "hold-forever" or not os.path.exists(sys.argv[2]):
        time.sleep(0.05)
    stream.close()
    print("RELEASED", flush=True)
elif mode == "ping":
    print("PING", engine.ping(2.0), flush=True)
elif mode == "loop":
    counts = [engine.execute("SELECT count() FROM events", tag=tag).rows[0][0]
              for _ in range(int(sys.argv[2]))]
    print("RESULT", json.dumps(counts), flush=True)
"""


def _child(tmp_path, engine_path, *args, name="child"):
    env = django_env(
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(tmp_path / "var"),
        CLICKHOUSE_EMBEDDED_PATH=str(engine_path),
        CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT="30",
    )
    env.pop("CLICKHOUSE_HOST", None)
    return ManagedProcess(
        [sys.executable, "-c", CHILD, *args], env=env, log=tmp_path / f"{name}.log"
    )


@pytest.mark.timeout(90)
def test_a_second_process_waits_then_hears_who_holds_the_engine(
    analytics_engine, settings, tmp_path
):
    release = tmp_path / "release"
    holder = _child(tmp_path, analytics_engine.path, "hold", str(release))
    try:
        wait_until(lambda: "HOLDING" in holder.output(), 60, "the child to hold the engine")
        settings.CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT = 0.5
        with pytest.raises(EngineUnavailable) as busy:
            engine.execute("SELECT 1", tag=TAG)
        message = str(busy.value)
        assert message.startswith("embedded engine busy")
        assert f"pid {holder.pid}" in message
        assert "CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT" in message
        # Readiness does not turn red while another process has its turn.
        assert "busy" in engine.ping(2.0)

        release.touch()
        settings.CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT = 20
        assert engine.execute("SELECT count() FROM events", tag=TAG).rows == [
            (analytics_engine.rows,)
        ]
        wait_until(lambda: "RELEASED" in holder.output(), 20, "the child to let go")
    finally:
        holder.stop()


@pytest.mark.timeout(120)
def test_concurrent_processes_take_turns_without_errors(analytics_engine, tmp_path):
    children = [
        _child(tmp_path, analytics_engine.path, "loop", "8", name=f"loop{i}") for i in range(2)
    ]
    try:
        # The parent joins in at the same time.
        parent_counts = [
            engine.execute("SELECT count() FROM events", tag=TAG).rows[0][0] for _ in range(8)
        ]
        for child in children:
            wait_until(lambda c=child: not c.alive(), 100, "a looping child to finish")
            assert child.proc.returncode == 0, child.output()
            lines = child.output().splitlines()
            line = next(text for text in lines if text.startswith("RESULT"))
            assert json.loads(line.split(" ", 1)[1]) == [analytics_engine.rows] * 8
        assert parent_counts == [analytics_engine.rows] * 8
    finally:
        for child in children:
            child.stop()


@pytest.mark.timeout(90)
def test_a_killed_holder_frees_the_directory(analytics_engine, settings, tmp_path):
    holder = _child(tmp_path, analytics_engine.path, "hold-forever")
    try:
        wait_until(lambda: "HOLDING" in holder.output(), 60, "the child to hold the engine")
        holder.signal(signal.SIGKILL)
        holder.proc.wait(10)
        settings.CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT = 5
        assert engine.execute("SELECT count() FROM events", tag=TAG).rows == [
            (analytics_engine.rows,)
        ]
    finally:
        holder.stop()


def test_threads_of_one_process_share_the_engine(analytics_engine, settings):
    settings.CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT = 0.5  # sharing, not waiting
    settings.ANALYTICS_MAX_CONCURRENT_QUERIES = 0  # four at once, as one person: no cap here
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(engine.execute("SELECT count() FROM events", tag=TAG).rows[0][0])
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert results == [analytics_engine.rows] * 20


def _turns() -> int:
    return embedded._turn._generation  # one per engine start in this process


def test_one_process_keeps_the_engine_open_across_queries(analytics_engine, settings):
    settings.CLICKHOUSE_EMBEDDED_KEEP_OPEN = 30
    engine.execute("SELECT 1", tag=TAG)
    before = _turns()
    for _ in range(50):
        engine.execute("SELECT count() FROM events", tag=TAG)
    assert _turns() == before  # no restart: the shutdown leak cannot accumulate
    assert embedded._turn.is_open
    assert not embedded._turn.held  # open, idle


def test_an_idle_engine_closes_after_keep_open(analytics_engine, settings):
    settings.CLICKHOUSE_EMBEDDED_KEEP_OPEN = 0.3
    embedded._turn.close()  # start from a turn begun under this setting
    engine.execute("SELECT 1", tag=TAG)
    assert embedded._turn.is_open
    wait_until(lambda: not embedded._turn.is_open, 10, "the idle engine to close")
    assert not embedded.holder_of(analytics_engine.path)  # the lock file is emptied


def test_keep_open_zero_closes_after_every_use(analytics_engine, settings):
    settings.CLICKHOUSE_EMBEDDED_KEEP_OPEN = 0
    embedded._turn.close()
    before = _turns()
    for _ in range(3):
        engine.execute("SELECT 1", tag=TAG)
        assert not embedded._turn.is_open
    assert _turns() == before + 3


@pytest.mark.timeout(90)
def test_an_idle_holder_hands_over_when_another_process_asks(analytics_engine, settings, tmp_path):
    settings.CLICKHOUSE_EMBEDDED_KEEP_OPEN = 600  # only a request can make it let go
    engine.execute("SELECT 1", tag=TAG)
    assert embedded._turn.is_open
    child = _child(tmp_path, analytics_engine.path, "loop", "1")
    try:
        wait_until(lambda: not child.alive(), 60, "the child to get its turn and finish")
        assert child.proc.returncode == 0, child.output()
        assert f"RESULT [{analytics_engine.rows}]" in child.output()
        assert not embedded._turn.is_open  # handed over, not timed out
        # And back: this process asks in turn (the child has exited).
        assert engine.execute("SELECT count() FROM events", tag=TAG).rows == [
            (analytics_engine.rows,)
        ]
    finally:
        child.stop()


@pytest.mark.timeout(90)
def test_a_readiness_probe_in_another_process_does_not_take_the_turn(
    analytics_engine, settings, tmp_path
):
    settings.CLICKHOUSE_EMBEDDED_KEEP_OPEN = 600
    engine.execute("SELECT 1", tag=TAG)
    turn = _turns()
    child = _child(tmp_path, analytics_engine.path, "ping")
    try:
        wait_until(lambda: not child.alive(), 60, "the probe to finish")
        assert child.proc.returncode == 0, child.output()
        assert "busy: pid" in child.output()  # alive, in another process's turn
        assert embedded._turn.is_open and _turns() == turn
    finally:
        child.stop()


@pytest.mark.timeout(60)
def test_a_forked_child_does_not_inherit_the_turn(analytics_engine, settings):
    import os

    settings.CLICKHOUSE_EMBEDDED_KEEP_OPEN = 600
    engine.execute("SELECT 1", tag=TAG)
    assert embedded._turn.is_open
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child reports through its exit status)
        os._exit(0 if not embedded._turn.is_open and not embedded._turn.held else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert embedded._turn.is_open  # the parent's turn is untouched
    assert engine.execute("SELECT 1", tag=TAG).rows == [(1,)]
