"""Database: PostgreSQL from DATABASE_URL or POSTGRES_*, otherwise SQLite at SQLITE_PATH."""

from settings.env import database_from_url, env_int, env_path, env_str, is_set

CONN_MAX_AGE = env_int("DJANGO_CONN_MAX_AGE", 60, minimum=0)


def postgres_from_env(user: str = "admin2") -> dict:
    """PostgreSQL from POSTGRES_* (environments/test.py reuses it with its own user)."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env_str("POSTGRES_DB", "admin2"),
        "USER": env_str("POSTGRES_USER", user),
        "PASSWORD": env_str("POSTGRES_PASSWORD", "", secret=True),
        "HOST": env_str("POSTGRES_HOST", "127.0.0.1"),
        "PORT": str(env_int("POSTGRES_PORT", 5432, minimum=1)),
    }


if is_set("DATABASE_URL"):
    DATABASES = {"default": database_from_url("DATABASE_URL", env_str("DATABASE_URL", secret=True))}
elif is_set("POSTGRES_HOST") or is_set("POSTGRES_DB"):
    DATABASES = {"default": postgres_from_env()}
else:
    SQLITE_PATH = env_path("SQLITE_PATH", VAR_DIR / "db.sqlite3")  # noqa: F821
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # WAL lets the web process and a worker read while the other writes.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = CONN_MAX_AGE
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": env_int("POSTGRES_CONNECT_TIMEOUT", 5, minimum=1)
    }
