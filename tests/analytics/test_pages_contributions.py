"""What the analytics pages register with the core: admin links, periodic jobs, a demo step."""

from __future__ import annotations

from admin2.registry import registry
from admin2_analytics import exports, tasks


def test_the_periodic_jobs_name_declared_tasks_on_declared_queues():
    jobs = {job.task: job for job in registry.periodic_jobs.values()}
    cleanup = jobs[tasks.CLEANUP_EXPIRED_EXPORTS]
    dispatch = jobs[tasks.DISPATCH_DUE_REPORTS]
    assert (cleanup.every_seconds, dispatch.every_seconds) == (3600, 60)
    assert cleanup.queue is None  # the backend's default queue
    assert dispatch.queue in registry.queues
    for name in (tasks.CLEANUP_EXPIRED_EXPORTS, tasks.DISPATCH_DUE_REPORTS, exports.EXPORT_TASK):
        assert name in registry.background_tasks
    assert registry.background_tasks[exports.EXPORT_TASK].queue == exports.EXPORT_QUEUE
    assert exports.EXPORT_QUEUE in registry.queues


def test_the_tasks_are_safe_to_run_twice_so_redone_if_a_worker_dies():
    for name in (tasks.CLEANUP_EXPIRED_EXPORTS, tasks.DISPATCH_DUE_REPORTS, exports.EXPORT_TASK):
        assert registry.background_tasks[name].redo_if_worker_dies


def test_admin_links_and_the_demo_step_are_registered():
    links = {link.url_name: link.permission for link in registry.admin_links}
    assert links["analytics:schema"] == "analytics.view_schema"
    assert links["analytics:console"] == "analytics.run_adhoc_sql"
    assert links["analytics:index"] == "analytics.run_savedquery"
    assert links["admin:analytics_queryrun_changelist"] == "analytics.view_queryrun"
    step = registry.demo_steps["analytics demo data"]
    assert step.order < registry.demo_steps["tasks: queue a round trip"].order
