"""Dashboards render several pinned saved queries, each with its chart, on one page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from admin2 import charts
from admin2_analytics.demo_content import DASHBOARD, create_demo_objects
from admin2_analytics.models import Dashboard, SavedQuery
from tests.support.analytics_pages import COUNTRY_SQL, make_query, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(logged_in):
    return logged_in("analytics.run_savedquery", username="viewer")


def test_a_dashboard_shows_every_pinned_query_with_its_chart(client, viewer, analytics_engine):
    revenue = make_query(viewer)
    countries = make_query(
        viewer, name="Countries", sql=COUNTRY_SQL, parameter_defaults={"event_type": "click"},
        chart_kind="bar", chart_x="country", chart_y=["events"],
    )  # fmt: skip
    board = Dashboard.objects.create(name="Overview", owner=viewer)
    board.pins.create(saved_query=countries, position=2)
    board.pins.create(saved_query=revenue, position=1)
    page = client.get(reverse("analytics:dashboard", args=[board.pk])).content.decode()
    panels = re.findall(r'<section class="module analytics-panel" data-query="(\d+)"', page)
    assert panels == [str(revenue.pk), str(countries.pk)]
    assert re.search(r'data-kind="line" data-marks="[1-9]', page)
    assert page.count('class="analytics-bar analytics-mark"') == 10
    assert "31 rows" in page and "21 more rows" in page  # January, 10 shown


def test_a_pin_can_override_the_chart(client, viewer, analytics_engine):
    board = Dashboard.objects.create(name="Overview", owner=viewer)
    board.pins.create(saved_query=make_query(viewer), chart="bar")
    page = client.get(reverse("analytics:dashboard", args=[board.pk])).content.decode()
    assert 'data-kind="bar"' in page and 'data-kind="line"' not in page


def test_a_private_query_pinned_by_its_owner_stays_hidden(client, viewer, analytics_engine):
    owner = make_user("owner", "analytics.run_savedquery")
    secret = make_query(owner, name="Secret numbers", shared=False)
    board = Dashboard.objects.create(name="Shared board", owner=owner, shared=True)
    board.pins.create(saved_query=secret)
    page = client.get(reverse("analytics:dashboard", args=[board.pk])).content.decode()
    assert "This pinned query is private to its owner." in page
    assert "Secret numbers" not in page and "analytics-chart" not in page


def test_a_failing_panel_does_not_break_the_others(client, viewer, analytics_engine):
    board = Dashboard.objects.create(name="Overview", owner=viewer)
    broken = make_query(
        viewer, name="Broken", sql="SELECT * FROM remote('127.0.0.1', system.one)",
        parameter_defaults={}, chart_kind="none",
    )  # fmt: skip
    board.pins.create(saved_query=broken, position=1)
    board.pins.create(saved_query=make_query(viewer), position=2)
    response = client.get(reverse("analytics:dashboard", args=[board.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Refused:</strong>" in page and "remote" in page
    assert 'data-kind="line"' in page


def test_private_dashboards_are_their_owners(client, viewer):
    board = Dashboard.objects.create(name="Mine only", owner=make_user("owner"))
    assert client.get(reverse("analytics:dashboard", args=[board.pk])).status_code == 404
    assert "Mine only" not in client.get(reverse("analytics:dashboards")).content.decode()


def test_the_demo_dashboard_renders_from_the_demo_queries(client, viewer, superuser,
                                                          analytics_engine):  # fmt: skip
    create_demo_objects()
    create_demo_objects()  # idempotent
    assert SavedQuery.objects.count() == 10 and Dashboard.objects.count() == 2
    board = Dashboard.objects.get(name=DASHBOARD)
    assert board.owner == superuser and board.shared
    page = client.get(reverse("analytics:dashboard", args=[board.pk])).content.decode()
    assert page.count('class="module analytics-panel"') == 3
    assert "errornote" not in page
    assert page.count('<svg class="analytics-chart"') == 3


def test_the_demo_queries_pass_the_saved_query_validation(superuser, analytics_engine):
    from admin2_analytics.forms import SavedQueryForm, format_lines

    for query in create_demo_objects():
        data = {
            "name": query.name + " copy",
            "description": query.description,
            "sql": query.sql,
            "parameter_defaults": format_lines(query.parameter_defaults),
            "cache_ttl_seconds": query.cache_ttl_seconds,
            "chart_kind": query.chart_kind,
            "chart_x": query.chart_x,
            "chart_y": ", ".join(query.chart_y),
        }
        form = SavedQueryForm(data=data, user=superuser)
        assert form.is_valid(), (query.name, form.errors)


def test_without_a_superuser_the_demo_objects_wait(db):
    import io

    out = io.StringIO()
    assert create_demo_objects(out) == []
    assert "no superuser yet" in out.getvalue()


def test_charts_explain_what_they_cannot_draw():
    rows = [("a", 1), ("b", None)]
    assert charts.build("line", "x", ["y"], ["x", "y"], []).note == "No rows to chart."
    assert "no column z" in charts.build("bar", "x", ["z"], ["x", "y"], rows).note
    assert "holds no numbers" in charts.build("bar", "y", ["x"], ["x", "y"], rows).note
    assert charts.build("none", "x", ["y"], ["x", "y"], rows).svg is None


def test_charts_escape_labels_and_cap_bars():
    rows = [(f"<b>{i}</b>", i) for i in range(100)]
    chart = charts.build("bar", "x", ["y"], ["x", "y"], rows)
    assert "<b>" not in chart.svg and "&lt;b&gt;" in chart.svg
    assert chart.marks == 60 and "first 60 of 100 rows" in chart.note


def test_a_line_with_gaps_is_drawn_in_pieces():
    rows = [(1, 1.0), (2, None), (3, 3.0), (4, 4.0)]
    chart = charts.build("line", "x", ["y"], ["x", "y"], rows)
    assert chart.marks == 2 and chart.svg.count("analytics-lone") == 1


def test_the_admin_builds_a_dashboard_from_visible_queries(client):
    author = make_user(
        "author", "analytics.add_dashboard", "analytics.view_dashboard",
        "analytics.add_dashboardpin", "analytics.run_savedquery",
    )  # fmt: skip
    mine = make_query(author, name="Mine", shared=False)
    hidden = make_query(make_user("other"), name="Theirs", shared=False)
    client.force_login(author)
    url = reverse("admin:analytics_dashboard_add")
    form = client.get(url).content.decode()
    assert ">Mine<" in form and ">Theirs<" not in form
    management = {
        "pins-TOTAL_FORMS": "1", "pins-INITIAL_FORMS": "0",
        "pins-MIN_NUM_FORMS": "0", "pins-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    pin = {"pins-0-position": "1", "pins-0-chart": "bar", "refresh_seconds": "0"}
    refused = client.post(url, {"name": "B", **management, **pin,
                                "pins-0-saved_query": hidden.pk})  # fmt: skip
    assert refused.status_code == 200 and not Dashboard.objects.exists()
    created = client.post(url, {"name": "B", **management, **pin, "pins-0-saved_query": mine.pk})
    assert created.status_code == 302
    board = Dashboard.objects.get()
    assert board.owner == author
    assert [(p.saved_query, p.chart_kind) for p in board.pins.all()] == [(mine, "bar")]
