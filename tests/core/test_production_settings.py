"""Production settings start only with a safe environment; checked in real child processes."""

import secrets

import pytest

from harness.processes import django_env, run_admin2
from tests.support import start_up

pytestmark = pytest.mark.slow

GOOD_KEY = secrets.token_urlsafe(64)
REDIS_PASSWORD = secrets.token_urlsafe(32)


def production_env(**overrides):
    base = {
        "DJANGO_ENVIRONMENT": "production",
        "DJANGO_SECRET_KEY": GOOD_KEY,
        "DJANGO_ALLOWED_HOSTS": "admin2.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://admin2.example.com",
        "DJANGO_BEHIND_TLS_PROXY": "true",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_DB": "admin2",
        "POSTGRES_USER": "admin2",
        "POSTGRES_PASSWORD": "x" * 20,
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/0",
        "REDIS_PASSWORD": REDIS_PASSWORD,
    }
    base.update(overrides)
    env = django_env(**base)
    for name, value in overrides.items():
        if value is None:
            env.pop(name)
    return env


def test_check_deploy_passes_with_a_proper_environment():
    result = run_admin2("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stderr + result.stdout


def test_missing_secret_key_stops_start_up_naming_it():
    assert "DJANGO_SECRET_KEY: required environment variable is not set" in start_up.refusal(
        production_env(DJANGO_SECRET_KEY=None)
    )


@pytest.mark.parametrize(
    "key",
    [
        "django-insecure-admin2-development-key-do-not-use-in-production",
        "change-me-" + "a1b2c3d4e5" * 6,
        "short-key-123",
        "a" * 80,
    ],
)
def test_default_placeholder_or_weak_secret_key_is_refused(key):
    assert "DJANGO_SECRET_KEY" in start_up.refusal(production_env(DJANGO_SECRET_KEY=key))


def test_secret_key_from_file_is_accepted(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(GOOD_KEY)
    env = production_env(DJANGO_SECRET_KEY=None, DJANGO_SECRET_KEY_FILE=str(key_file))
    result = run_admin2("check", env=env)
    assert result.returncode == 0, result.stderr


def test_debug_on_is_refused():
    assert "DJANGO_DEBUG: must be false in production" in start_up.refusal(
        production_env(DJANGO_DEBUG="true")
    )


def test_allowed_hosts_are_required():
    assert "DJANGO_ALLOWED_HOSTS: required" in start_up.refusal(
        production_env(DJANGO_ALLOWED_HOSTS=None)
    )


def test_sqlite_is_refused_in_production():
    env = production_env(POSTGRES_HOST=None, POSTGRES_DB=None)
    assert "production needs PostgreSQL" in start_up.refusal(env)


def test_malformed_variable_stops_start_up_naming_it():
    assert "POSTGRES_PORT: expected an integer" in start_up.refusal(
        production_env(POSTGRES_PORT="fifty")
    )


def test_unknown_environment_is_refused():
    assert "DJANGO_ENVIRONMENT: expected one of" in start_up.refusal(
        django_env(DJANGO_ENVIRONMENT="prod")
    )


REDIS_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.CACHES['default']['OPTIONS'].get('password'), "
    "getattr(s, 'CELERY_BROKER_PASSWORD', None), getattr(s, 'CELERY_REDIS_PASSWORD', None))"
)


def _printed(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split()


def test_redis_without_a_password_is_refused_naming_the_variable():
    assert "REDIS_PASSWORD: production refuses Redis without a password" in start_up.refusal(
        production_env(REDIS_PASSWORD=None)
    )


@pytest.mark.parametrize("variable", ["REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"])
def test_each_redis_url_needs_a_password(variable):
    # A password in the other two URLs does not cover the third.
    others = {
        name: f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"
        for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
        if name != variable
    }
    result = run_admin2("check", env=production_env(REDIS_PASSWORD=None, **others))
    assert result.returncode != 0
    assert f"({variable} has none)" in result.stderr


def test_the_password_file_authenticates_the_cache_broker_and_results(tmp_path):
    secret = tmp_path / "redis_password"
    secret.write_text("from-the-secret\n")
    env = production_env(REDIS_PASSWORD=None, REDIS_PASSWORD_FILE=str(secret))
    assert _printed(run_admin2("shell", "-c", REDIS_SETTINGS, env=env)) == ["from-the-secret"] * 3


def test_urls_that_carry_their_own_password_are_accepted():
    env = production_env(
        REDIS_PASSWORD=None,
        REDIS_URL="redis://:in-the-url@127.0.0.1:6379/1",
        CELERY_BROKER_URL="redis://:in-the-url@127.0.0.1:6379/0",
        CELERY_RESULT_BACKEND="redis://:in-the-url@127.0.0.1:6379/0",
    )
    assert _printed(run_admin2("shell", "-c", REDIS_SETTINGS, env=env)) == ["None"] * 3


def test_production_admits_no_report_domain_until_one_is_listed():
    """Issue 19: an empty ANALYTICS_REPORT_ALLOWED_DOMAINS meant any domain in production."""
    show = "from django.conf import settings; print(settings.ANALYTICS_REPORT_ANY_DOMAIN)"
    result = run_admin2("shell", "-c", show, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
    listed = production_env(ANALYTICS_REPORT_ALLOWED_DOMAINS="example.com")
    result = run_admin2("shell", "-c", show, env=listed)
    assert result.stdout.strip().splitlines()[-1] == "False"
