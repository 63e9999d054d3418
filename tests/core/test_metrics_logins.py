"""Failed logins and lockouts count in admin2_login_failures_total and _lockouts_total."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

import admin2.metrics  # noqa: F401  (as the metrics middleware does: connects the counters)

pytestmark = pytest.mark.django_db


def count(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def post_login(client, password: str):
    return client.post(
        "/admin/login/", {"username": "root", "password": password}, REMOTE_ADDR="203.0.113.7"
    )


def test_failed_logins_and_the_lockout_are_counted(client, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 3
    failures, lockouts = count("admin2_login_failures_total"), count("admin2_login_lockouts_total")
    assert post_login(client, "wrong-password").status_code == 200
    assert count("admin2_login_failures_total") == failures + 1
    assert count("admin2_login_lockouts_total") == lockouts
    post_login(client, "wrong-password")
    assert post_login(client, "wrong-password").status_code == 429
    assert count("admin2_login_failures_total") == failures + 3
    assert count("admin2_login_lockouts_total") == lockouts + 1
