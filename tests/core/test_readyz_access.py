"""/readyz: anonymous callers learn each check's name and status and nothing else, answered
from a short-lived copy; staff and monitors with the token get the details, fresh."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from admin2.registry import HealthCheck, registry
from harness.processes import django_env, run_admin2
from tests.support.readyz import READYZ_TOKEN, detailed_readyz

pytestmark = pytest.mark.django_db

INTERNALS = "db.internal.example:5432"
LEAK = f"connection to {INTERNALS} refused"


@pytest.fixture
def add_check(monkeypatch):
    """Register a readiness check for this test only."""

    def add(name, check, *, required=True):
        monkeypatch.setitem(registry.health_checks, name, HealthCheck(name, check, required))

    return add


@pytest.fixture
def leaky_check(add_check):
    """A reported check whose error names an internal host, as a driver's message would."""

    def broken():
        raise ConnectionError(LEAK)

    add_check("warehouse", broken, required=False)


def test_anonymous_callers_get_each_checks_name_and_status_only(client, leaky_check):
    response = client.get("/readyz")
    body = response.json()
    assert set(body) == {"status", "checks", "failed"}
    assert set(body["checks"]) == set(registry.health_checks)
    assert {key for check in body["checks"].values() for key in check} == {"status"}
    assert body["checks"]["warehouse"] == {"status": "down"}
    assert INTERNALS not in response.content.decode()


def test_the_token_shows_each_checks_details(client, settings, leaky_check):
    body = detailed_readyz(client, settings).json()
    assert body["checks"]["warehouse"]["error"] == f"ConnectionError: {LEAK}"
    assert body["checks"]["database"]["detail"] == connection.vendor  # the suite runs on both
    assert isinstance(body["checks"]["database"]["latency_ms"], float)
    assert "version" in body


def test_logged_in_staff_see_each_checks_details(client, staff_user, leaky_check):
    client.force_login(staff_user)
    assert INTERNALS in client.get("/readyz").json()["checks"]["warehouse"]["error"]


def test_a_wrong_token_gets_the_anonymous_view(client, settings, leaky_check):
    settings.ADMIN2_READYZ_TOKEN = READYZ_TOKEN
    wrong_ones = (f"Bearer {READYZ_TOKEN}x", f"Bearer {READYZ_TOKEN[:-1]}", READYZ_TOKEN, "Bearer")
    for wrong in wrong_ones:
        body = client.get("/readyz", HTTP_AUTHORIZATION=wrong).json()
        assert body["checks"]["warehouse"] == {"status": "down"}, wrong


def test_no_token_is_accepted_when_none_is_configured(client, settings, leaky_check):
    settings.ADMIN2_READYZ_TOKEN = ""
    body = client.get("/readyz", HTTP_AUTHORIZATION="Bearer ").json()
    assert body["checks"]["warehouse"] == {"status": "down"}


def test_a_session_without_its_second_factor_gets_the_anonymous_view(
    client, staff_user, leaky_check
):
    TOTPDevice.objects.create(user=staff_user, name="phone", confirmed=True)
    client.force_login(staff_user)  # password only
    assert client.get("/readyz").json()["checks"]["warehouse"] == {"status": "down"}


def test_a_hanging_check_is_answered_as_timed_out_at_the_deadline(client, settings, add_check):
    settings.ADMIN2_READYZ_TIMEOUT = 0.3
    release = threading.Event()
    add_check("hanging", lambda: release.wait(30))
    try:
        response = client.get("/readyz")
    finally:
        release.set()
    assert response.status_code == 503
    assert response.json()["checks"]["hanging"] == {"status": "timed out"}
    assert response.json()["failed"] == ["hanging"]


def test_anonymous_calls_within_the_interval_run_the_checks_once(client, settings, add_check):
    settings.ADMIN2_READYZ_CACHE_SECONDS = 60.0  # every call below falls inside one interval
    calls = []
    add_check("counted", lambda: calls.append(1))
    answers = [client.get("/readyz") for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200] * 5
    assert len(calls) == 1


def test_the_token_can_be_given_as_a_file(tmp_path):
    secret = tmp_path / "readyz_token"
    secret.write_text(f"{READYZ_TOKEN}\n")
    script = "from django.conf import settings; print(settings.ADMIN2_READYZ_TOKEN)"
    result = run_admin2("shell", "-c", script, env=django_env(ADMIN2_READYZ_TOKEN_FILE=str(secret)))
    assert result.stdout.strip().splitlines()[-1] == READYZ_TOKEN, result.stderr
