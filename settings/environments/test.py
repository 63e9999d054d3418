"""Test: the suite runs on PostgreSQL (default) or SQLite (ADMIN2_TEST_DB=sqlite)."""

import os

from settings.env import env_choice

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests only
# Media keeps what ADMIN2_MEDIA_STORAGE chose (the S3 tests run processes on a bucket).
STORAGES = {
    **STORAGES,  # noqa: F821 (components/static_media.py)
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The suite's own process must live on past a slow query on a loaded machine; the bound is
# tested in child processes (tests/analytics/test_engine_deadline.py), where it is on.
ANALYTICS_EMBEDDED_END_PROCESS_PAST_DEADLINE = False
# Each test sees /readyz fresh, not a copy an earlier test left (the copy is tested on its own).
ADMIN2_READYZ_CACHE_SECONDS = 0.0

TEST_DATABASE = env_choice("ADMIN2_TEST_DB", ("postgres", "sqlite"), "postgres")
if TEST_DATABASE == "postgres" and DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F821
    POSTGRES = postgres_from_env(user="postgres")  # noqa: F821 (components/database.py)
    DATABASES = {"default": {**POSTGRES, "OPTIONS": {"connect_timeout": 5}}}
if TEST_DATABASE == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# One test database per run, so parallel runs on one server do not collide.
DATABASES["default"]["TEST"] = {"NAME": f"test_admin2_{os.getpid()}"}
