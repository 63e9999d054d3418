"""The admin index as a newcomer sees it: one section per app, plugins' links in their app's
section, human app names; and the app list built as Django builds it, once per request."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.test import RequestFactory

from admin2.registry import AdminLink, registry

pytestmark = pytest.mark.django_db


def captions(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<caption>(.*?)</caption>",
                                                                    html, re.S)]  # fmt: skip


def content_main(html: str) -> str:
    return html.split('id="content-main"', 1)[1].split('id="content-related"', 1)[0]


@pytest.fixture
def extra_link():
    """A link registered for a heading no app has, as a plugin without models would."""
    link = AdminLink("Reports desk", "Open reports", "admin:password_change")
    registry.add_admin_link(link)
    yield link
    registry.admin_links.remove(link)


def test_each_plugin_has_one_section_with_its_links_and_models(client, superuser):
    client.force_login(superuser)
    html = content_main(client.get("/admin/").content.decode())
    sections = captions(html)
    assert sections.count("Analytics") == 1
    assert sections.count("Background tasks") == 1
    assert len(sections) == len(set(sections)), sections
    analytics = html.split('class="app-analytics module', 1)[1].split("</table>", 1)[0]
    # The plugin's pages, and its models' add and change links, side by side.
    for page in ("/admin/analytics/schema/", "/admin/analytics/console/",
                 "/admin/analytics/savedquery/add/", "/admin/analytics/queryrun/"):  # fmt: skip
        assert f'href="{page}"' in analytics, page
    # A link named like a model leads from that model's row, not from a second row.
    assert analytics.count(">Saved queries</a>") == 1
    assert 'href="/admin/analytics/">Saved queries</a>' in analytics
    tasks = html.split('class="app-tasks module', 1)[1].split("</table>", 1)[0]
    assert 'href="/admin/tasks/status/">Workers and queues</a>' in tasks
    assert 'href="/admin/tasks/taskrun/"' in tasks


def test_the_two_factor_app_has_a_human_name(client, superuser):
    client.force_login(superuser)
    html = client.get("/admin/").content.decode()
    assert "Two-factor authentication" in captions(content_main(html))
    assert "Otp_Totp" not in html


def test_links_alone_make_a_section_of_their_own(client, staff_user, extra_link):
    # A staff member who may follow a plugin's link but sees none of its models.
    staff_user.user_permissions.add(Permission.objects.get(codename="run_task"))
    client.force_login(staff_user)
    html = content_main(client.get("/admin/").content.decode())
    assert captions(html) == ["Background tasks", "Reports desk"]
    assert 'href="/admin/tasks/run/">Run a task now</a>' in html
    assert 'href="/admin/tasks/status/"' not in html  # needs tasks.view_taskrun
    assert 'href="/admin/tasks/"' not in html  # no app index of models to lead to


def test_app_list_is_djangos_plus_the_links(superuser, staff_user):
    staff_user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "add_group", "view_taskrun"])
    )
    for user in (superuser, staff_user):
        request = RequestFactory().get("/admin/")
        request.user = user
        ours = admin.site.get_app_list(request)
        django = AdminSite.get_app_list(_UnmemoizedSite(admin.site), request)
        assert _without_links(ours) == _plain(django)


def test_app_list_of_one_app_is_djangos(superuser):
    request = RequestFactory().get("/admin/auth/")
    request.user = superuser
    ours = admin.site.get_app_list(request, "auth")
    assert _without_links(ours) == _plain(AdminSite.get_app_list(_UnmemoizedSite(admin.site),
                                                                 request, "auth"))  # fmt: skip


def test_app_list_is_built_once_per_request_and_user(superuser, staff_user):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    first = admin.site.get_app_list(request)
    assert admin.site.get_app_list(request) is first
    request.user = staff_user  # a login or logout in the middle of a request
    assert admin.site.get_app_list(request) is not first


class _UnmemoizedSite:
    """admin.site's registry under Django's own AdminSite methods."""

    def __init__(self, site):
        self._registry = site._registry
        self.name = site.name

    def __getattr__(self, name):
        return getattr(AdminSite, name).__get__(self)


def _plain(app_list):
    return [
        {**app, "name": str(app["name"]),
         "models": [{**m, "name": str(m["name"])} for m in app["models"]]}
        for app in app_list
    ]  # fmt: skip


def _without_links(app_list):
    plain = []
    for app in app_list:
        if app["app_label"] is None:
            continue  # a section of links only
        app = {k: v for k, v in app.items() if k != "admin2_links"}
        app["models"] = [{k: v for k, v in m.items() if k != "admin2_url"} for m in app["models"]]
        plain.append(app)
    return _plain(plain)
