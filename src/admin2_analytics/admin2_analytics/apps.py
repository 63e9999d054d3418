# Subclassing plugins.PluginConfig by its module: a PluginConfig imported here would be a
# second candidate for the app's default config, and Django would pick neither.
from admin2 import plugins
from admin2.registry import AdminLink, DemoStep, HealthCheck, PeriodicJob, Queue

SECTION = "Analytics"  # = verbose_name: its links and its models share one admin section


class AnalyticsConfig(plugins.PluginConfig):
    """Everything the analytics plugin contributes, read by the core (admin2.plugins)."""

    name = "admin2_analytics"
    label = "analytics"
    verbose_name = SECTION
    admin2_url_prefix = "analytics/"

    queues = (
        Queue("exports", "analytics exports: long, waiting on ClickHouse"),
        Queue("reports", "scheduled reports: query, render, mail"),
    )
    tasks = ("admin2_analytics.tasks",)
    periodic_jobs = (
        PeriodicJob(
            "analytics: clean up expired exports",
            "admin2_analytics.cleanup_expired_exports",
            every_seconds=3600,
        ),
        PeriodicJob(
            "analytics: dispatch due reports",
            "admin2_analytics.dispatch_due_reports",
            every_seconds=60,
            queue="reports",
        ),
    )
    admin_links = tuple(
        AdminLink(SECTION, title, url_name, permission)
        for title, url_name, permission in (
            ("Saved queries", "analytics:index", "analytics.run_savedquery"),
            ("Dashboards", "analytics:dashboards", "analytics.run_savedquery"),
            ("Schema browser", "analytics:schema", "analytics.view_schema"),
            ("SQL console", "analytics:console", "analytics.run_adhoc_sql"),
            ("Query history", "admin:analytics_queryrun_changelist", "analytics.view_queryrun"),
            ("Exports", "admin:analytics_export_changelist", "analytics.view_export"),
        )
    )
    # Reported, not required: the warehouse is an external system, and while it is down every
    # page but analytics works (each analytics page explains the outage). Failing readiness
    # would take healthy web replicas out of rotation and stop deploys at the health gate.
    readiness_checks = (
        HealthCheck("clickhouse", "admin2_analytics.readiness.check_clickhouse", required=False),
    )
    demo_steps = (DemoStep("analytics demo data", "admin2_analytics.demo.load", order=50),)
    metrics = ("admin2_analytics.metrics",)
