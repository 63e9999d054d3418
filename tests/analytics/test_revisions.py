"""Revisions of saved queries: kept on every save that changes them, compared, reverted
(through the guard again) and forked."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from admin2_analytics import revisions
from admin2_analytics.models import QueryRevision, SavedQuery
from tests.support.analytics_pages import ALL_ANALYTICS, COUNTRY_SQL, make_query, make_user

pytestmark = pytest.mark.django_db

EDITOR = (*ALL_ANALYTICS, "analytics.add_savedquery", "analytics.change_savedquery",
          "analytics.view_savedquery")  # fmt: skip


def _admin_data(query, **changes) -> dict:
    data = {
        "name": query.name,
        "description": query.description,
        "sql": query.sql,
        "parameter_defaults": "\n".join(f"{k}={v}" for k, v in query.parameter_defaults.items()),
        "shared": "on" if query.shared else "",
        "cache_ttl_seconds": str(query.cache_ttl_seconds),
        "chart_kind": query.chart_kind,
        "chart_x": query.chart_x,
        "chart_y": ", ".join(query.chart_y),
        "revision_message": "",
    }
    data.update(changes)
    return data


def test_creating_a_query_keeps_revision_one(analytics_engine):
    owner = make_user("owner")
    query = make_query(owner)
    (first,) = query.revisions.all()
    assert (first.number, first.sql, first.message) == (1, query.sql, "Created.")
    assert first.parameter_defaults == query.parameter_defaults


def test_a_save_without_tracked_changes_keeps_no_revision(analytics_engine):
    query = make_query(make_user("owner"))
    query.description = "only the description"
    query.save()
    assert query.revisions.count() == 1


def test_an_admin_edit_keeps_author_message_and_the_admin_log(client, analytics_engine):
    editor = make_user("editor", *EDITOR)
    query = make_query(editor)
    client.force_login(editor)
    url = reverse("admin:analytics_savedquery_change", args=[query.pk])
    new_sql = query.sql.replace("count() AS events", "count() AS events, uniq(user_id) AS users")
    response = client.post(url, _admin_data(query, sql=new_sql, revision_message="add users"))
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = query.revisions.first()
    assert (latest.number, latest.author, latest.message, latest.sql) == (2, editor, "add users",
                                                                         new_sql)  # fmt: skip
    log = LogEntry.objects.get(object_id=str(query.pk), action_flag=2)
    assert log.get_change_message() == "Changed SQL."
    client.post(url, _admin_data(SavedQuery.objects.get(pk=query.pk), chart_kind="bar"))
    assert query.revisions.first().message == "Changed chart."


def test_the_diff_shows_removed_and_added_lines(client, analytics_engine):
    owner = make_user("owner", *EDITOR)
    query = make_query(owner)
    query.sql = query.sql.replace("ORDER BY day", "ORDER BY day DESC")
    query.parameter_defaults = {"start": "2025-02-01", "end": "2025-01-31"}
    query.save(author=owner)
    client.force_login(owner)
    page = client.get(reverse("analytics:revisions", args=[query.pk]), {"a": 1, "b": 2})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<span class="diff-remove">-GROUP BY day ORDER BY day</span>' in html
    assert '<span class="diff-add">+GROUP BY day ORDER BY day DESC</span>' in html
    assert '<span class="diff-add">+start=2025-02-01</span>' in html
    assert 'Chart <span class="help">(unchanged)</span>' in html
    missing = client.get(reverse("analytics:revisions", args=[query.pk]), {"a": 1, "b": 9})
    assert missing.status_code == 404


def test_a_revert_restores_an_old_revision_as_a_new_one(client, analytics_engine):
    owner = make_user("owner", *EDITOR)
    query = make_query(owner)
    original = query.sql
    query.sql = COUNTRY_SQL
    query.parameter_defaults = {"event_type": "click"}
    query.chart_kind, query.chart_x, query.chart_y = "bar", "country", ["events"]
    query.save(author=owner)
    client.force_login(owner)
    response = client.post(reverse("analytics:revert", args=[query.pk, 1]))
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.sql == original and query.chart_kind == "line"
    latest = query.revisions.first()
    assert (latest.number, latest.message, latest.author) == (3, "Reverted to revision 1.", owner)


def test_a_revert_the_guard_refuses_says_why_and_changes_nothing(client, analytics_engine):
    owner = make_user("owner", *EDITOR)
    query = make_query(owner)
    # A revision kept before a guard rule existed: today's guard refuses a table function.
    QueryRevision.objects.create(
        saved_query=query, number=0, sql="SELECT * FROM url('http://127.0.0.1/')",
        parameter_defaults={}, chart_kind="none",
    )  # fmt: skip
    before = SavedQuery.objects.values().get(pk=query.pk)
    client.force_login(owner)
    response = client.post(reverse("analytics:revert", args=[query.pk, 0]), follow=True)
    html = response.content.decode()
    assert "Revision 0 was not restored, nothing changed: SQL:" in html
    assert "url" in html
    assert SavedQuery.objects.values().get(pk=query.pk) == before
    assert list(query.revisions.values_list("number", flat=True)) == [1, 0]


def test_only_the_owner_may_revert(client, analytics_engine):
    query = make_query(make_user("owner"))
    query.sql += " LIMIT 5"
    query.save()
    colleague = make_user("colleague", *EDITOR)
    client.force_login(colleague)
    assert client.post(reverse("analytics:revert", args=[query.pk, 1])).status_code == 403
    assert query.revisions.count() == 2


def test_a_fork_is_a_private_copy_owned_by_the_forker(client, analytics_engine):
    query = make_query(make_user("owner"))
    colleague = make_user("colleague", *EDITOR)
    client.force_login(colleague)
    response = client.post(reverse("analytics:fork", args=[query.pk]))
    copy = SavedQuery.objects.get(owner=colleague)
    assert response.status_code == 302 and response.url == reverse("analytics:run", args=[copy.pk])
    assert copy.name == f"{query.name} (fork by colleague)" and not copy.shared
    assert copy.sql == query.sql and copy.parameter_defaults == query.parameter_defaults
    (first,) = copy.revisions.all()
    assert first.message == f"Forked from {query.name!r}, revision 1." and first.author == colleague
    client.post(reverse("analytics:fork", args=[query.pk]))
    assert SavedQuery.objects.filter(name=f"{query.name} (fork by colleague) 2").exists()


def test_private_queries_of_others_have_no_revision_page(client, analytics_engine):
    query = make_query(make_user("owner"), shared=False)
    client.force_login(make_user("outsider", *EDITOR))
    assert client.get(reverse("analytics:revisions", args=[query.pk])).status_code == 404
    assert client.post(reverse("analytics:fork", args=[query.pk])).status_code == 404


def test_describe_names_each_changed_part_once():
    old = {"sql": "a", "parameter_defaults": {}, "chart_kind": "line", "chart_x": "x",
           "chart_y": ["y"]}  # fmt: skip
    new = {**old, "sql": "b", "chart_x": "z", "chart_y": ["w"]}
    assert revisions.describe(old, new) == "Changed SQL and chart."
    assert revisions.describe(None, new) == "Created."
