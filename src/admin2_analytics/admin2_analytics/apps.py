from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "admin2_analytics"
    label = "analytics"
    verbose_name = "Analytics"
    # The core mounts admin2_analytics.urls under the admin URL (see admin2.urls).
    admin2_url_prefix = "analytics/"

    def ready(self) -> None:
        # readiness: the ClickHouse check for /readyz (engine side);
        # contributions: admin links, periodic jobs, demo steps (pages side).
        from admin2_analytics import contributions, readiness

        readiness.register()
        contributions.register()
