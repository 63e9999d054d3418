"""The session remembers whether its user has a second factor, and forgets it when devices
change: a device added to a signed-in user locks the password-only session out at once."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from admin2 import second_factor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_up():
    second_factor._cache_down_until = 0.0
    yield
    second_factor._cache_down_until = 0.0


def device_lookups(client, path="/admin/") -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    return status, sum("otp_totp_totpdevice" in q["sql"] for q in queries)


def test_one_lookup_per_session_not_per_page(client, superuser):
    client.force_login(superuser)
    assert device_lookups(client) == (200, 1)
    assert device_lookups(client) == (200, 0)
    assert device_lookups(client, "/admin/auth/user/") == (200, 0)


def test_a_device_added_meanwhile_locks_the_session_out(
    client, superuser, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    assert device_lookups(client) == (200, 1)
    with django_capture_on_commit_callbacks(execute=True):
        device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    assert client.get("/admin/").status_code == 302  # to the login, for the code
    with django_capture_on_commit_callbacks(execute=True):
        device.delete()
    assert device_lookups(client) == (200, 1)


def test_an_unconfirmed_device_asks_for_nothing(
    client, superuser, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        TOTPDevice.objects.create(user=superuser, name="phone", confirmed=False)
    assert device_lookups(client) == (200, 1)


def test_the_change_counts_only_once_committed(
    client, superuser, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    client.get("/admin/")
    with django_capture_on_commit_callbacks(execute=False) as pending:
        TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    assert len(pending) == 1  # the new generation waits for the commit


def test_a_remembered_answer_expires(client, superuser, monkeypatch):
    client.force_login(superuser)
    assert device_lookups(client) == (200, 1)
    # A change no signal saw (a bulk update): enforced within REMEMBER_SECONDS all the same.
    TOTPDevice.objects.bulk_create([TOTPDevice(user=superuser, name="phone", confirmed=True)])
    assert client.get("/admin/").status_code == 200
    later = second_factor.time.time() + second_factor.REMEMBER_SECONDS + 1
    monkeypatch.setattr(second_factor.time, "time", lambda: later)
    assert client.get("/admin/").status_code == 302


def test_the_answer_is_the_sessions_user(client, superuser, staff_user):
    client.force_login(superuser)
    client.get("/admin/")
    TOTPDevice.objects.create(user=staff_user, name="phone", confirmed=True)
    session = client.session
    remembered = session[second_factor.SESSION_KEY]
    client.force_login(staff_user)  # same browser, another user: nothing carried over
    session = client.session
    session[second_factor.SESSION_KEY] = remembered
    session.save()
    assert client.get("/admin/").status_code == 302


def test_without_a_cache_the_database_answers(client, superuser, caplog):
    client.force_login(superuser)
    TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    with mock.patch.object(second_factor.cache, "get", side_effect=ConnectionError("down")):
        assert client.get("/admin/").status_code == 302
        assert client.get("/admin/").status_code == 302
    assert "cache unavailable" in caplog.text
    assert second_factor.SESSION_KEY not in client.session  # nothing remembered meanwhile
