"""Logging to stdout: readable lines in development, JSON lines elsewhere, with a request id."""

from settings.env import env_choice

LOG_LEVEL = env_choice(
    "DJANGO_LOG_LEVEL", ("debug", "info", "warning", "error", "critical"), "info"
).upper()
LOG_FORMAT = env_choice(
    "DJANGO_LOG_FORMAT",
    ("json", "text"),
    "text" if ENVIRONMENT in ("development", "test") else "json",  # noqa: F821
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "admin2.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "admin2.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # Health probes every few seconds would drown the access log.
        "django.server": {"handlers": ["stdout"], "level": "WARNING", "propagate": False},
    },
}
