"""Test: the suite runs on PostgreSQL (default) or SQLite (ADMIN2_TEST_DB=sqlite)."""

import os

from settings.env import env_choice, env_int, env_str

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests only
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

TEST_DATABASE = env_choice("ADMIN2_TEST_DB", ("postgres", "sqlite"), "postgres")
if TEST_DATABASE == "postgres" and DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F821
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env_str("POSTGRES_DB", "admin2"),
            "USER": env_str("POSTGRES_USER", "postgres"),
            "PASSWORD": env_str("POSTGRES_PASSWORD", "", secret=True),
            "HOST": env_str("POSTGRES_HOST", "127.0.0.1"),
            "PORT": str(env_int("POSTGRES_PORT", 5432, minimum=1)),
            "OPTIONS": {"connect_timeout": 5},
        }
    }
if TEST_DATABASE == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# One test database per run, so parallel runs on one server do not collide.
DATABASES["default"]["TEST"] = {"NAME": f"test_admin2_{os.getpid()}"}
