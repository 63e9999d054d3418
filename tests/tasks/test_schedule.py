"""The beat schedule is built from the registry's periodic jobs, in one tested function."""

from __future__ import annotations

from datetime import timedelta

import pytest

from admin2.registry import PeriodicJob, registry
from admin2_tasks.schedule import build_beat_schedule


def test_each_job_becomes_an_entry_that_expires_at_its_next_run():
    schedule = build_beat_schedule(
        [PeriodicJob("cleanup", "plugin.cleanup", 3600, {"days": 7}, queue="exports")]
    )
    assert schedule == {
        "cleanup": {
            "task": "plugin.cleanup",
            "schedule": timedelta(hours=1),
            "kwargs": {"days": 7},
            "options": {"expires": 3600.0, "queue": "exports"},
        }
    }


def test_a_job_without_a_queue_goes_to_the_default_queue():
    entry = build_beat_schedule([PeriodicJob("x", "plugin.x", 60)])["x"]
    assert "queue" not in entry["options"]  # task_default_queue applies: "default"


def test_a_job_that_never_comes_round_is_refused():
    with pytest.raises(ValueError, match="'broken': every_seconds must be positive"):
        build_beat_schedule([PeriodicJob("broken", "plugin.x", 0)])


def test_the_registered_schedule_has_heartbeat_export_cleanup_and_reports():
    schedule = build_beat_schedule(registry.periodic_jobs.values())
    tasks = {entry["task"] for entry in schedule.values()}
    assert {
        "admin2_tasks.heartbeat",
        "admin2_tasks.prune_task_runs",
        "admin2_analytics.cleanup_expired_exports",
        "admin2_analytics.dispatch_due_reports",
    } <= tasks
