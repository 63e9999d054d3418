"""Last include: refuse unsafe production configuration before anything starts."""

from settings.env import EnvError, url_password

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

    # Redis holds the task queue and the cache: production never talks to it without a
    # password, in the URL or from REDIS_PASSWORD(_FILE) (components/cache.py).
    _redis_urls = {"REDIS_URL": CACHES["default"].get("LOCATION", "")}  # noqa: F821
    if ADMIN2_TASKS_ENABLED:  # noqa: F821
        _redis_urls["CELERY_BROKER_URL"] = CELERY_BROKER_URL  # noqa: F821
        _redis_urls["CELERY_RESULT_BACKEND"] = CELERY_RESULT_BACKEND  # noqa: F821
    for _name, _url in _redis_urls.items():
        _redis_url = str(_url).startswith(("redis:", "rediss:", "unix:"))
        if _redis_url and not (url_password(str(_url)) or REDIS_PASSWORD):  # noqa: F821
            raise EnvError(
                f"REDIS_PASSWORD: production refuses Redis without a password ({_name} has "
                "none); set REDIS_PASSWORD_FILE to the redis_password secret, or REDIS_PASSWORD"
            )
