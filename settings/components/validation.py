"""Last include: refuse unsafe production configuration before anything starts."""

from settings.env import EnvError

if ENVIRONMENT == "production":  # noqa: F821
    if DEBUG:  # noqa: F821
        raise EnvError("DJANGO_DEBUG: must be false in production")
    if (
        SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY  # noqa: F821
        or SECRET_KEY.startswith("django-insecure")  # noqa: F821
        or SECRET_KEY.lower().startswith(("change", "replace", "secret"))  # noqa: F821
    ):
        raise EnvError("DJANGO_SECRET_KEY: production refuses a default or placeholder key")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:  # noqa: F821
        raise EnvError("DJANGO_SECRET_KEY: production needs at least 50 characters, 5 distinct")
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F821
        raise EnvError("POSTGRES_HOST: production needs PostgreSQL (POSTGRES_* or DATABASE_URL)")
