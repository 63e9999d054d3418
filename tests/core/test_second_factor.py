"""Every admin2 page, the plugins' included, asks the admin site whether the session may in:
a password-only session of a user who has a TOTP device is sent to the login everywhere."""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, reverse
from django.urls.converters import IntConverter, UUIDConverter
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

SAMPLE = {IntConverter: 1, UUIDConverter: "00000000-0000-0000-0000-000000000001"}


def plugin_pages() -> list[str]:
    """One URL per page that a plugin mounts under the admin URL (as admin2.urls does; any
    value fills a parameter: the access check comes before any lookup)."""
    urls = []

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                converters = getattr(entry.pattern, "converters", {})
                kwargs = {key: SAMPLE.get(type(c), "x") for key, c in converters.items()}
                urls.append(reverse(f"{namespace}:{entry.name}", kwargs=kwargs))

    for config in apps.get_app_configs():
        if getattr(config, "admin2_url_prefix", None):
            module = import_module(f"{config.name}.urls")
            walk(module.urlpatterns, module.app_name)
    return sorted(urls)


def test_a_session_without_its_second_factor_opens_no_admin2_page(client, superuser, settings):
    # Pages stay off the shared engine even if one of them does render.
    settings.CLICKHOUSE_HOST = ""
    settings.CLICKHOUSE_EMBEDDED_PATH = settings.MEDIA_ROOT.parent / "chdb"
    TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    client.force_login(superuser)  # the password only: no device verified in this session
    pages = ["/admin/", *plugin_pages()]
    # The pages the finding names, so that a change in discovery cannot silently drop them.
    assert {"/admin/analytics/", "/admin/analytics/console/", "/admin/analytics/queries/1/",
            "/admin/tasks/status/", "/admin/tasks/run/"} <= set(pages)  # fmt: skip
    login = reverse("admin:login")
    let_in = {}
    for page in pages:
        response = client.get(page)
        if response.status_code != 302 or urlsplit(response["Location"]).path != login:
            let_in[page] = response.status_code
    assert let_in == {}, "answered without the second factor"


def test_turning_the_requirement_on_refuses_a_session_opened_before(client, superuser, settings):
    """Issue 19: ADMIN2_OTP_REQUIRED was enforced only at the login form."""
    settings.ADMIN2_OTP_REQUIRED = False
    client.force_login(superuser)  # no device, no code: let in while the flag is off
    assert client.get("/admin/").status_code == 200
    settings.ADMIN2_OTP_REQUIRED = True
    response = client.get("/admin/")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("admin:login")
    assert client.get("/admin/auth/user/").status_code == 302


def test_a_verified_session_stays_in_when_the_requirement_is_on(client, superuser, settings):
    from django_otp import login as otp_login

    settings.ADMIN2_OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    client.force_login(superuser)
    request = type("R", (), {"session": client.session, "user": superuser})()
    otp_login(request, device)
    request.session.save()
    assert client.get("/admin/").status_code == 200
