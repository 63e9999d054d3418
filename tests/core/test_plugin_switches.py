"""Plugins are composed in by their settings component and switched off by environment."""

import pytest

from harness.processes import django_env, run_admin2
from tests.support import start_up

pytestmark = pytest.mark.slow

PRINT_APPS = "from django.conf import settings; print(' '.join(settings.INSTALLED_APPS))"


def installed_apps(**env):
    result = run_admin2("shell", "-c", PRINT_APPS, env=django_env(**env))
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_both_plugins_are_on_by_default():
    apps = installed_apps()
    assert "admin2_analytics" in apps
    assert "admin2_tasks" in apps


def test_core_runs_with_both_plugins_off(tmp_path):
    env = django_env(
        ADMIN2_ANALYTICS_ENABLED="false",
        ADMIN2_TASKS_ENABLED="false",
        ADMIN2_VAR_DIR=str(tmp_path),
    )
    apps = run_admin2("shell", "-c", PRINT_APPS, env=env).stdout.split()
    assert "admin2_analytics" not in apps and "admin2_tasks" not in apps
    assert run_admin2("check", env=env).returncode == 0
    migrate = run_admin2("migrate", "-v0", env=env)
    assert migrate.returncode == 0, migrate.stderr


def test_a_malformed_switch_names_the_variable():
    assert "ADMIN2_TASKS_ENABLED: expected a boolean" in start_up.refusal(
        django_env(ADMIN2_TASKS_ENABLED="perhaps")
    )


def test_embedded_state_lives_in_the_checkouts_var_directory():
    from harness.processes import REPO

    env = django_env()
    env.pop("ADMIN2_VAR_DIR", None)
    script = "from django.conf import settings; print(settings.BASE_DIR, settings.VAR_DIR)"
    result = run_admin2("shell", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    base, var = result.stdout.strip().splitlines()[-1].split()
    assert base == str(REPO)
    assert var == str(REPO / "var")
