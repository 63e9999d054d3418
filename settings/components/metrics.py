"""Prometheus metrics (docs/operations.md, "Metrics"): on by default in production and staging.

The /metrics port itself is Gunicorn's (containers/gunicorn.conf.py reads ADMIN2_METRICS_PORT).
"""

from settings.env import env_bool, env_str

ADMIN2_METRICS_ENABLED = env_bool(
    "ADMIN2_METRICS_ENABLED",
    ENVIRONMENT in ("production", "staging"),  # noqa: F821
)
# The commit the image was built from (containers/Dockerfile), shown as admin2_build_info.
ADMIN2_COMMIT = env_str("ADMIN2_COMMIT", "unknown")

if ADMIN2_METRICS_ENABLED:
    # First, so its timing covers every other middleware.
    MIDDLEWARE.insert(0, "admin2.metrics.MetricsMiddleware")  # noqa: F821
