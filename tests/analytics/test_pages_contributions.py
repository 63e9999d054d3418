"""What the analytics pages register with the core: admin links, periodic jobs, a demo step."""

from __future__ import annotations

from admin2.registry import registry
from admin2_analytics import tasks
from admin2_tasks.queues import ALL_QUEUES


def test_the_periodic_jobs_name_the_analytics_tasks_on_known_queues():
    jobs = {job.task: job for job in registry.periodic_jobs.values()}
    cleanup = jobs["admin2_analytics.cleanup_expired_exports"]
    dispatch = jobs["admin2_analytics.dispatch_due_reports"]
    assert (cleanup.every_seconds, dispatch.every_seconds) == (3600, 60)
    assert {cleanup.queue, dispatch.queue} <= set(ALL_QUEUES)
    assert tasks.cleanup_expired_exports.name == cleanup.task
    assert tasks.dispatch_due_reports.name == dispatch.task
    assert tasks.run_export.name == "admin2_analytics.run_export"


def test_the_tasks_are_acknowledged_late_and_requeued_if_the_worker_dies():
    for task in (tasks.run_export, tasks.cleanup_expired_exports, tasks.dispatch_due_reports):
        assert task.acks_late and task.reject_on_worker_lost


def test_admin_links_and_the_demo_step_are_registered():
    links = {link.url_name: link.permission for link in registry.admin_links}
    assert links["analytics:schema"] == "analytics.view_schema"
    assert links["analytics:console"] == "analytics.run_adhoc_sql"
    assert links["analytics:index"] == "analytics.run_savedquery"
    assert links["admin:analytics_queryrun_changelist"] == "analytics.view_queryrun"
    step = registry.demo_steps["analytics demo data"]
    assert step.order < registry.demo_steps["tasks: queue a round trip"].order
