"""What the analytics plugin contributes to the core: admin links, its queues, background
tasks and periodic jobs, the demo step."""

from __future__ import annotations

from admin2.registry import AdminLink, DemoStep, PeriodicJob, Queue, registry

SECTION = "Analytics"


def register() -> None:
    for title, url_name, permission in (
        ("Saved queries", "analytics:index", "analytics.run_savedquery"),
        ("Dashboards", "analytics:dashboards", "analytics.run_savedquery"),
        ("Schema browser", "analytics:schema", "analytics.view_schema"),
        ("SQL console", "analytics:console", "analytics.run_adhoc_sql"),
        ("Query history", "admin:analytics_queryrun_changelist", "analytics.view_queryrun"),
        ("Exports", "admin:analytics_export_changelist", "analytics.view_export"),
    ):
        registry.add_admin_link(AdminLink(SECTION, title, url_name, permission))
    from admin2_analytics import exports, tasks  # declares the tasks

    registry.add_queue(
        Queue(exports.EXPORT_QUEUE, "analytics exports: long, waiting on ClickHouse")
    )
    registry.add_queue(Queue(tasks.REPORT_QUEUE, "scheduled reports: query, render, mail"))
    registry.add_periodic_job(
        PeriodicJob(
            "analytics: clean up expired exports", tasks.CLEANUP_EXPIRED_EXPORTS, every_seconds=3600
        )
    )
    registry.add_periodic_job(
        PeriodicJob(
            "analytics: dispatch due reports",
            tasks.DISPATCH_DUE_REPORTS,
            every_seconds=60,
            queue=tasks.REPORT_QUEUE,
        )
    )
    registry.add_demo_step(DemoStep("analytics demo data", _demo_data, order=50))


def _demo_data(stdout) -> None:
    from django.core.management import call_command

    call_command("analytics_demo_data", stdout=stdout)
