"""Staging (Compose): dev server with hot reload, SQLite in the sqlite_data volume, Redis :6377."""

from settings.env import env_bool, env_path

DEBUG = env_bool("DJANGO_DEBUG", True)
SQLITE_PATH = env_path("SQLITE_PATH", "/app/data/db.sqlite3")
DATABASES["default"]["NAME"] = SQLITE_PATH  # noqa: F821
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
