"""What a submission records before any worker sees it."""

from __future__ import annotations

import pytest

from admin2 import background
from admin2_tasks.models import TaskRun
from admin2_tasks.tracking import summarize


def test_arguments_are_summarized_short():
    assert summarize([1, "a"], {"export_id": 7}) == '1, "a", export_id=7'
    long = summarize([], {"sql": "x" * 500})
    assert len(long) <= 300 and long.endswith("…")


@pytest.mark.django_db
def test_a_submission_records_a_queued_run_with_who_asked(staff_user):
    task_id = background.submit(
        "admin2_tasks.round_trip", kwargs={"note": "hi"}, queue="reports", user_id=staff_user.pk
    )
    run = TaskRun.objects.get(task_id=task_id)
    assert run.state == TaskRun.State.QUEUED
    assert run.queued_at is not None and run.started_at is None
    assert (run.name, run.queue) == ("admin2_tasks.round_trip", "reports")
    assert run.kwargs == {"note": "hi"}
    assert run.args_summary == 'note="hi"'
    assert run.submitted_by == staff_user


@pytest.mark.django_db
def test_the_heartbeat_is_not_tracked_as_a_run():
    background.submit("admin2_tasks.heartbeat")
    assert not TaskRun.objects.exists()
