from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class Admin2AdminConfig(AdminConfig):
    """The stock admin app with admin2's branded site as ``admin.site``."""

    default_site = "admin2.sites.Admin2Site"


class Admin2Config(AppConfig):
    name = "admin2"
    verbose_name = "admin2 core"

    def ready(self) -> None:
        # Imported for what they register: system and readiness checks, the integer `in` lookup.
        from admin2 import checks, health, lookups  # noqa: F401
        from admin2.logging import install_record_factory

        install_record_factory()

        _ensure_sqlite_directory()


def _ensure_sqlite_directory() -> None:
    # A fresh checkout has no var/ yet; SQLite cannot create its parent directory itself.
    from pathlib import Path

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and str(database["NAME"]) != ":memory:":
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
