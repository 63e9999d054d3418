"""Prometheus metrics (docs/operations.md, "Metrics"): on by default in production and staging.

The /metrics port itself is Gunicorn's (containers/gunicorn.conf.py reads ADMIN2_METRICS_PORT).
"""

from settings.env import env_bool, env_float, env_int, env_str

ADMIN2_METRICS_ENABLED = env_bool(
    "ADMIN2_METRICS_ENABLED",
    ENVIRONMENT in ("production", "staging"),  # noqa: F821
)
# Where the Gunicorn master and the Celery worker serve /metrics: the container network's
# address, a port no Compose file publishes.
ADMIN2_METRICS_PORT = env_int("ADMIN2_METRICS_PORT", 9100, minimum=1)
ADMIN2_METRICS_BIND = env_str("ADMIN2_METRICS_BIND", "0.0.0.0")  # noqa: S104
# The commit the image was built from (containers/Dockerfile), shown as admin2_build_info.
ADMIN2_COMMIT = env_str("ADMIN2_COMMIT", "unknown")

# The System health page (admin2.system_health) reads Prometheus's HTTP API here; empty: the
# page says Prometheus is not configured. Compose sets it where the monitoring profile runs.
ADMIN2_PROMETHEUS_URL = env_str("ADMIN2_PROMETHEUS_URL", "")
ADMIN2_PROMETHEUS_TIMEOUT = env_float("ADMIN2_PROMETHEUS_TIMEOUT", 3.0, minimum=0.1)

if ADMIN2_METRICS_ENABLED:
    # First, so its timing covers every other middleware.
    MIDDLEWARE.insert(0, "admin2.metrics.MetricsMiddleware")  # noqa: F821
