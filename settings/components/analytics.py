"""ClickHouse analytics plugin, composed in unless ADMIN2_ANALYTICS_ENABLED=false."""

from settings.env import env_bool

ADMIN2_ANALYTICS_ENABLED = env_bool("ADMIN2_ANALYTICS_ENABLED", True)

if ADMIN2_ANALYTICS_ENABLED:
    INSTALLED_APPS += ["admin2_analytics"]  # noqa: F821
