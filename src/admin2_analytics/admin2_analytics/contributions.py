"""What the analytics plugin contributes to the core: admin links, periodic jobs, demo step."""

from __future__ import annotations

from admin2.registry import AdminLink, DemoStep, PeriodicJob, registry

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
    registry.add_periodic_job(
        PeriodicJob(
            "analytics: clean up expired exports",
            "admin2_analytics.cleanup_expired_exports",
            every_seconds=3600,
            queue="default",
        )
    )
    registry.add_periodic_job(
        PeriodicJob(
            "analytics: dispatch due reports",
            "admin2_analytics.dispatch_due_reports",
            every_seconds=60,
            queue="reports",
        )
    )
    registry.add_demo_step(DemoStep("analytics demo data", _demo_data, order=50))


def _demo_data(stdout) -> None:
    from django.core.management import call_command

    call_command("analytics_demo_data", stdout=stdout)
