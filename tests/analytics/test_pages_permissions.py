"""Every analytics page checks its permission: 403 without it, the login page for non-staff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.analytics_pages import ALL_ANALYTICS, make_query, make_user

pytestmark = pytest.mark.django_db


def _pages(query_pk: int, dashboard_pk: int):
    return [
        ("analytics.view_schema", "get", reverse("analytics:schema")),
        ("analytics.view_schema", "get", reverse("analytics:schema_tables", args=["default"])),
        (
            "analytics.view_schema",
            "get",
            reverse("analytics:schema_columns", args=["default", "events"]),
        ),
        ("analytics.run_savedquery", "get", reverse("analytics:run", args=[query_pk])),
        ("analytics.run_savedquery", "post", reverse("analytics:run", args=[query_pk])),
        ("analytics.run_savedquery", "get", reverse("analytics:dashboards")),
        ("analytics.run_savedquery", "get", reverse("analytics:dashboard", args=[dashboard_pk])),
        ("analytics.run_adhoc_sql", "get", reverse("analytics:console")),
        ("analytics.run_adhoc_sql", "post", reverse("analytics:console")),
        ("analytics.export_savedquery", "post", reverse("analytics:export", args=[query_pk])),
    ]


@pytest.fixture
def objects(superuser):
    from admin2_analytics.models import Dashboard

    query = make_query(superuser)
    board = Dashboard.objects.create(name="Board", owner=superuser, shared=True)
    board.pins.create(saved_query=query)
    return query, board


def test_a_staff_user_without_the_permission_gets_403(client, objects, analytics_engine):
    query, board = objects
    for number, (permission, method, url) in enumerate(_pages(query.pk, board.pk)):
        others = [p for p in ALL_ANALYTICS if p != permission]
        user = make_user(f"lacks-{number}", *others)
        client.force_login(user)
        response = getattr(client, method)(url, {"sql": "SELECT 1", "format": "csv"})
        assert response.status_code == 403, (permission, method, url)


def test_the_permission_opens_each_page(client, objects, analytics_engine):
    query, board = objects
    user = make_user("analyst", *ALL_ANALYTICS)
    client.force_login(user)
    for _permission, method, url in _pages(query.pk, board.pk):
        data = {"sql": "SELECT 1", "format": "csv", **query.parameter_defaults}
        response = getattr(client, method)(url, data)
        assert response.status_code in (200, 302), (method, url, response.status_code)


def test_the_console_needs_its_own_permission_beyond_running_saved_queries(client):
    client.force_login(make_user("runner", "analytics.run_savedquery", "analytics.view_schema"))
    assert client.get(reverse("analytics:console")).status_code == 403
    assert client.post(reverse("analytics:console"), {"sql": "SELECT 1"}).status_code == 403


def test_anonymous_and_non_staff_users_are_sent_to_the_login(client):
    url = reverse("analytics:schema")
    response = client.get(url)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    client.force_login(make_user("outsider", *ALL_ANALYTICS, staff=False))
    response = client.get(url)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_someone_elses_private_query_is_not_found(client, analytics_engine):
    owner = make_user("owner", *ALL_ANALYTICS)
    private = make_query(owner, shared=False)
    client.force_login(make_user("colleague", *ALL_ANALYTICS))
    run = reverse("analytics:run", args=[private.pk])
    assert client.post(run, {"run": "1", **private.parameter_defaults}).status_code == 404
    export = reverse("analytics:export", args=[private.pk])
    assert client.post(export, {"format": "csv", "stream": "1"}).status_code == 404
    assert private.name not in client.get(reverse("analytics:index")).content.decode()
    client.force_login(owner)
    assert client.get(run).status_code == 200


def test_a_superuser_sees_private_queries(client, superuser, analytics_engine):
    private = make_query(make_user("owner", *ALL_ANALYTICS), shared=False)
    client.force_login(superuser)
    assert client.get(reverse("analytics:run", args=[private.pk])).status_code == 200
    assert private.name in client.get(reverse("analytics:index")).content.decode()


def test_the_admin_index_links_only_what_the_user_may_open(client):
    client.force_login(make_user("schema-only", "analytics.view_schema"))
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("analytics:schema") in page
    assert reverse("analytics:console") not in page
    assert reverse("analytics:dashboards") not in page


def test_the_analytics_index_needs_some_analytics_permission(client):
    client.force_login(make_user("nobody"))
    assert client.get(reverse("analytics:index")).status_code == 403
    client.force_login(make_user("exporter", "analytics.export_savedquery"))
    assert client.get(reverse("analytics:index")).status_code == 200


def test_the_admin_app_index_of_analytics_is_the_analytics_home(client):
    client.force_login(make_user("historian", "analytics.view_queryrun"))
    url = reverse("admin:app_list", kwargs={"app_label": "analytics"})
    assert url == reverse("analytics:index")
    page = client.get(url).content.decode()
    assert reverse("admin:analytics_queryrun_changelist") in page
