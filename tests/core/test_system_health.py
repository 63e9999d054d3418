"""The System health page against a real Prometheus (native_prometheus.py), with it down, and
without one configured; superusers only."""

from __future__ import annotations

import pytest

from tests.core import native_prometheus
from tests.core.native_prometheus import closed_url

prometheus = native_prometheus.prometheus  # the fixture

pytestmark = pytest.mark.django_db

URL = "/admin/system-health/"


def test_with_prometheus_up_it_lists_firing_alerts_services_and_draws_the_series(
    client,
    superuser,
    settings,
    prometheus,
):
    settings.ADMIN2_PROMETHEUS_URL = prometheus.url
    client.force_login(superuser)
    html = client.get(URL).content.decode()
    assert "Watchdog" in html and "docs/operations.md#watchdog" in html
    services = html.split('id="health-services"')[1].split("</table>")[0]
    assert "admin2-web" in services and "<td>up</td>" in services
    assert "admin2-celery" in services and "<strong>down</strong>" in services
    series = html.split('id="health-series"')[1]
    assert series.count("<figure") == 6
    assert series.count("<svg") >= 2, series[:3000]  # requests and p95 have data here
    assert "Requests per second" in series and "Disk used (%)" in series


def test_with_prometheus_down_it_says_so(client, superuser, settings):
    url = closed_url()
    settings.ADMIN2_PROMETHEUS_URL = url
    client.force_login(superuser)
    response = client.get(URL)
    assert response.status_code == 200
    assert (
        f"Prometheus is unavailable, so nothing can be shown: Prometheus at {url} does not answer"
        in response.content.decode()
    )


def test_without_prometheus_configured_it_says_which_setting(client, superuser, settings):
    settings.ADMIN2_PROMETHEUS_URL = ""
    client.force_login(superuser)
    assert "set ADMIN2_PROMETHEUS_URL" in client.get(URL).content.decode()


def test_staff_who_are_not_superusers_neither_see_the_link_nor_open_the_page(
    client, staff_user, superuser, settings
):
    settings.ADMIN2_PROMETHEUS_URL = ""
    client.force_login(staff_user)
    assert client.get(URL).status_code == 403
    assert "System health" not in client.get("/admin/").content.decode()
    client.force_login(superuser)
    assert 'href="/admin/system-health/"' in client.get("/admin/").content.decode()
