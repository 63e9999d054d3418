from django.contrib.admin.apps import AdminConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPConfig

from admin2.plugins import PluginConfig
from admin2.registry import AdminLink, HealthCheck


class Admin2AdminConfig(AdminConfig):
    """The stock admin app with admin2's branded site as ``admin.site``."""

    default_site = "admin2.sites.Admin2Site"


class TwoFactorConfig(TOTPConfig):
    """django-otp's TOTP devices, named for what they are on the admin index."""

    verbose_name = "Two-factor authentication"


class Admin2Config(PluginConfig):
    """The core declares its own seams like any plugin, and reads everyone's when ready."""

    name = "admin2"
    verbose_name = "admin2 core"
    readiness_checks = (
        HealthCheck("database", "admin2.readiness.check_database"),
        HealthCheck("cache", "admin2.readiness.check_cache"),
    )
    # Superusers only: no other account can hold this permission (none such exists).
    admin_links = (
        AdminLink("System", "System health", "admin2_system_health", "admin2.view_system_health"),
    )
    metrics = ("admin2.metrics",)

    def ready(self) -> None:
        # Imported for what they register: system checks, the integer `in` lookup.
        from admin2 import checks, lookups, plugins, second_factor  # noqa: F401
        from admin2.logging import install_record_factory

        install_record_factory()
        second_factor.connect_signals()
        # First in INSTALLED_APPS: every plugin's declarations are in the registry before
        # any plugin's ready() runs (a task backend adopts the queues and tasks it finds).
        plugins.load()
        _import_metrics()

        _ensure_sqlite_directory()


def _import_metrics() -> None:
    """Every plugin's metric families (the ``metrics`` slot), defined before the first request
    or task, so /metrics lists them from the start."""
    from importlib import import_module

    from django.conf import settings

    from admin2.registry import registry

    if getattr(settings, "ADMIN2_METRICS_ENABLED", False):
        for module in registry.metrics:
            import_module(module)


def _ensure_sqlite_directory() -> None:
    # A fresh checkout has no var/ yet; SQLite cannot create its parent directory itself.
    from pathlib import Path

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and str(database["NAME"]) != ":memory:":
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
