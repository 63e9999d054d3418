"""Production (Compose): Gunicorn behind Nginx, PostgreSQL, Redis; refuses unsafe configuration."""

from settings.env import env_bool, env_int, env_list, env_str, env_url

SECRET_KEY = env_str("DJANGO_SECRET_KEY", secret=True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Probes from Docker and Nginx speak plain HTTP to Gunicorn on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "", secret=True)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "admin2@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Error mails: an unhandled error in a request (a 500) is mailed to every address of
# DJANGO_ADMINS through the SMTP settings above (Django's AdminEmailHandler), as well as
# logged. Unset or empty: no mails, the log only.
ADMINS = [(address, address) for address in env_list("DJANGO_ADMINS", [])]
if ADMINS:
    LOGGING["filters"]["require_debug_false"] = {"()": "django.utils.log.RequireDebugFalse"}  # noqa: F821
    LOGGING["handlers"]["mail_admins"] = {  # noqa: F821
        "class": "django.utils.log.AdminEmailHandler",
        "level": "ERROR",
        "filters": ["require_debug_false"],
    }
    LOGGING["loggers"]["django.request"] = {  # noqa: F821
        "handlers": ["stdout", "mail_admins"],
        "level": "ERROR",
        "propagate": False,
    }

# Every Gunicorn worker and Celery worker must share one cache (result cache, login lockout):
# components/cache.py chose Redis when REDIS_URL is set; here it is required.
env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))

# HSTS preload is a one-way promise for the whole domain, the owner's decision to make
# (DJANGO_HSTS_PRELOAD=true); until then Django's reminder about it is not a defect.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
