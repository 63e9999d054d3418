import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def post_login(client, password, token="", ip="203.0.113.7"):
    return client.post(
        LOGIN,
        {"username": "root", "password": password, "otp_token": token},
        REMOTE_ADDR=ip,
    )


def test_login_locks_out_after_repeated_failures(client, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert post_login(client, "wrong-password").status_code == 200
    assert post_login(client, "wrong-password").status_code == 429  # the limit is reached
    locked = post_login(client, "root-password-1")  # even the right password is refused now
    assert locked.status_code == 429
    assert b"Too many failed login attempts" in locked.content


def test_lockout_is_per_address(client, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        post_login(client, "wrong-password", ip="198.51.100.1")
    assert post_login(client, "root-password-1", ip="198.51.100.2").status_code == 302


def test_forwarded_address_counts_only_when_trusted(rf, settings):
    from admin2.client_ip import client_ip

    request = rf.get("/", HTTP_X_REAL_IP="192.0.2.9", REMOTE_ADDR="10.0.0.2")
    settings.ADMIN2_TRUST_X_REAL_IP = False
    assert client_ip(request) == "10.0.0.2"
    settings.ADMIN2_TRUST_X_REAL_IP = True
    assert client_ip(request) == "192.0.2.9"
    assert client_ip(rf.get("/", HTTP_X_REAL_IP="not-an-ip", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def totp_token(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def test_staff_with_a_totp_device_must_give_a_code(client, superuser):
    device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    refused = post_login(client, "root-password-1")
    assert refused.status_code == 200
    assert b"Enter the current code from your authenticator app." in refused.content
    accepted = post_login(client, "root-password-1", token=totp_token(device))
    assert accepted.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused(client, superuser):
    device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    wrong = f"{(int(totp_token(device)) + 1) % 10**6:06d}"
    response = post_login(client, "root-password-1", token=wrong)
    assert response.status_code == 200
    assert b"Enter the current code" in response.content


def test_two_factor_can_be_required_for_everyone(client, superuser, settings):
    settings.ADMIN2_OTP_REQUIRED = True
    response = post_login(client, "root-password-1")
    assert b"Two-factor login is required" in response.content


def test_session_without_second_factor_is_not_let_in(client, superuser):
    TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    client.force_login(superuser)  # password only, no verified device in the session
    assert client.get("/admin/").status_code == 302


def test_pages_carry_csp_and_browser_policies(client):
    response = client.get("/admin/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_admin_url_is_configurable(settings):
    from harness.processes import django_env, run_admin2

    env = django_env(ADMIN2_URL="staff-only/")
    script = "from django.urls import reverse; print(reverse('admin:index'))"
    result = run_admin2("shell", "-c", script, env=env)
    assert result.stdout.strip().splitlines()[-1] == "/staff-only/", result.stderr
    bad = run_admin2("check", env=django_env(ADMIN2_URL="/admin"))
    assert bad.returncode != 0
    assert "admin2.E001" in bad.stderr


def test_weak_passwords_are_refused():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("short1", "password123", "1234567890123"):
        with pytest.raises(ValidationError):
            validate_password(weak)
