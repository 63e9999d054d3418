"""The eventlet worker's tracking writes: queued together, committed together, each waiter
told of its own write's failure only. Runs green threads in this (unpatched) process."""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # EventletDeprecationWarning, on import
    import eventlet

from admin2_tasks.group_commit import _GreenWriter
from admin2_tasks.models import TaskRun


def _create(task_id: str):
    return lambda: TaskRun.objects.create(task_id=task_id, name="t", state=TaskRun.State.QUEUED)


def _fail():
    raise RuntimeError("this write fails")


@pytest.mark.django_db(transaction=True)
def test_a_failing_write_fails_alone_and_the_others_in_its_batch_commit():
    writer = _GreenWriter()
    outcome: dict[str, object] = {}

    def submit(key, write):
        try:
            writer.run(write)
            outcome[key] = "committed"
        except Exception as exc:
            outcome[key] = exc

    writes = {"a": _create("a"), "bad": _fail, "b": _create("b")}
    threads = [eventlet.spawn(submit, key, write) for key, write in writes.items()]
    try:
        for thread in threads:
            thread.wait()
    finally:
        writer._thread.kill()  # its idle close would reach this process's connections
    assert outcome["a"] == outcome["b"] == "committed"
    assert isinstance(outcome["bad"], RuntimeError)
    assert sorted(TaskRun.objects.values_list("task_id", flat=True)) == ["a", "b"]
