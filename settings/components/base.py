"""Core Django project settings shared by every environment."""

from settings.env import env_bool, env_float, env_list, env_path, env_str

# Runtime state of embedded mode (SQLite, chDB, file broker, exports) lives here.
VAR_DIR = env_path("ADMIN2_VAR_DIR", BASE_DIR / "var")  # noqa: F821 (BASE_DIR: __init__)

DEBUG = env_bool("DJANGO_DEBUG", ENVIRONMENT == "development")  # noqa: F821 (defined by __init__)

# Development-only key; production refuses it (see components/validation.py).
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-admin2-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env_str("DJANGO_SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY, secret=True)
# Old keys still accepted for sessions and signatures while a new key rolls out.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [], secret=True)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First, so that its templates (admin/base_site.html, admin/app_list.html, the select
    # widget) replace the admin's and the forms' own.
    "admin2.apps.Admin2Config",
    "admin2.apps.Admin2AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # the widget templates, for FORM_RENDERER below
]

MIDDLEWARE = [
    "admin2.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "admin2.urls"
# Form widgets render through TEMPLATES, so admin2's faster select widget template applies.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "admin2.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Branding of the admin site; the health endpoints report the version.
ADMIN2_SITE_TITLE = env_str("ADMIN2_SITE_TITLE", "admin2")
ADMIN2_URL = env_str("ADMIN2_URL", "admin/")
ADMIN2_READYZ_TIMEOUT = env_float("ADMIN2_READYZ_TIMEOUT", 3.0, minimum=0.1)
# /readyz shows each check's details (hosts, paths, errors) only to staff and to a caller with
# `Authorization: Bearer <ADMIN2_READYZ_TOKEN>` (a monitor); empty: staff only. Anonymous
# callers get names and statuses from a copy at most ADMIN2_READYZ_CACHE_SECONDS old, so a
# flood of them costs one round of checks per interval and process.
ADMIN2_READYZ_TOKEN = env_str("ADMIN2_READYZ_TOKEN", "", secret=True).strip()
ADMIN2_READYZ_CACHE_SECONDS = 2.0

# Login the demo command creates (development only; the demo refuses production).
ADMIN2_DEMO_USER = env_str("ADMIN2_DEMO_USER", "admin")
ADMIN2_DEMO_PASSWORD = env_str("ADMIN2_DEMO_PASSWORD", "admin2-demo", secret=True)
