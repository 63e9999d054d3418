"""Every registered chart kind draws; hover values, NULL gaps, downsampling that keeps the
extremes, time zones; the registry is the one list the models and forms use; and the demo
queries draw exactly as the committed snapshot SVGs (tests/analytics/chart_snapshots)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from admin2 import charts
from admin2.charts.data import downsample
from admin2_analytics import engine, result_charts
from admin2_analytics.demo_content import EXPLORER_QUERIES, QUERIES
from admin2_analytics.forms import check_parameters
from admin2_analytics.models import DashboardPin, SavedQuery, pin_chart_choices

SNAPSHOTS = Path(__file__).with_name("chart_snapshots")
# Set to rewrite the snapshots after a deliberate change to the drawing; review the diff.
UPDATE = os.environ.get("ADMIN2_UPDATE_CHART_SNAPSHOTS") == "1"

HOURS = [dt.datetime(2025, 1, 6, tzinfo=dt.UTC) + dt.timedelta(hours=5 * i) for i in range(40)]
ROWS = [(when, float(i % 9), None if i == 7 else 10.0 - i) for i, when in enumerate(HOURS)]


@pytest.mark.parametrize("kind", charts.names())
def test_every_kind_draws_with_hover_values(kind):
    chart = charts.build(kind, "t", ["a", "b"], ["t", "a", "b"], ROWS)
    assert chart.svg is not None, chart.note
    assert f'data-kind="{kind}"' in chart.svg and chart.marks >= 1
    assert re.search(r"<title>[^<]*: [-\d,.]+</title>", chart.svg)  # a value on hover
    assert "style=" not in chart.svg  # presentation attributes only: nothing for CSP to refuse


def test_the_registry_is_the_models_and_forms_list():
    names = [value for value, _ in charts.choices()]
    assert names[0] == charts.NONE and names[1:] == charts.names()
    assert SavedQuery._meta.get_field("chart_kind").choices == charts.choices()
    assert [value for value, _ in pin_chart_choices()] == ["query", *names]
    assert DashboardPin._meta.get_field("chart").max_length >= max(map(len, names))
    with pytest.raises(ValueError, match="taken"):
        charts.register(charts.ChartKind("line", "Again", lambda plot: ("", 0)))


def test_an_unknown_kind_draws_nothing():
    assert charts.build("pie", "t", ["a"], ["t", "a"], ROWS) == charts.Chart(kind="none")


@pytest.mark.parametrize("kind", ["line", "area"])
def test_a_null_breaks_the_line(kind):
    chart = charts.build(kind, "t", ["b"], ["t", "a", "b"], ROWS)
    assert chart.marks == 2  # rows 0-6 and 8-39: one NULL, two pieces
    assert chart.svg.count('class="analytics-line analytics-mark"') == 2


def test_downsampling_keeps_the_lowest_and_highest_value_and_the_gaps():
    count = 20_000
    values = [float(i % 100) for i in range(count)]
    values[12_345], values[15_000], values[3_000] = 1e6, -1e6, None
    kept = downsample([values], 300)
    assert len(kept) <= 300 and kept == sorted(kept)
    assert {12_345, 15_000, 3_000, 0, count - 1} <= set(kept)
    rows = [(i, value) for i, value in enumerate(values)]
    chart = charts.build("line", "x", ["y"], ["x", "y"], rows, max_points=300)
    assert "of 20000 points" in chart.note
    assert "1,000,000</title>" in chart.svg and "-1,000,000</title>" in chart.svg
    assert chart.marks == 2  # the NULL at row 3000 still breaks it


def test_bars_are_cut_not_thinned():
    rows = [(f"c{i}", i) for i in range(100)]
    chart = charts.build("stacked_bar", "x", ["y"], ["x", "y"], rows)
    assert chart.marks == 60 and "first 60 of 100 rows" in chart.note


def test_time_axes_are_in_the_columns_time_zone():
    rows = [(dt.datetime(2025, 1, 1, 22, 30), 1), (dt.datetime(2025, 1, 2, 22, 30), 2)]
    tokyo = charts.build("line", "t", ["v"], ["t", "v"], rows, zone="Asia/Tokyo")
    assert "2025-01-02 07:30" in tokyo.svg and "t (Asia/Tokyo)" in tokyo.svg
    assert "2025-01-01 22:30" in charts.build("line", "t", ["v"], ["t", "v"], rows).svg
    heat = charts.build("heatmap", "t", ["v"], ["t", "v"], rows, zone="Asia/Tokyo")
    assert "Thu 07:00 · v: 1</title>" in heat.svg  # 2025-01-02 is a Thursday in Tokyo
    assert result_charts.zone_of("Nullable(DateTime64(3, 'Asia/Tokyo'))") == "Asia/Tokyo"
    assert result_charts.zone_of("DateTime") is None


def test_a_kpi_shows_the_latest_value_and_its_change():
    rows = [(dt.date(2025, 3, 1), 150.0), (dt.date(2025, 1, 1), 90.0), (dt.date(2025, 2, 1), 120)]
    svg = charts.build("kpi", "month", ["revenue"], ["month", "revenue"], rows).svg
    assert ">150<" in svg and "▲ +30 (+25.0%) vs 2025-02-01" in svg
    single = charts.build("kpi", "month", ["revenue"], ["month", "revenue"], rows[:1]).svg
    assert ">150<" in single and "vs" not in single


def test_a_heatmap_needs_date_times():
    chart = charts.build("heatmap", "x", ["y"], ["x", "y"], [("a", 1)])
    assert chart.svg is None and "holds no date-times" in chart.note


def test_stacked_bars_stack_each_sign_apart():
    svg = charts.build("stacked_bar", "x", ["a", "b"], ["x", "a", "b"], [("p", 3, -2)]).svg
    assert "p · a: 3</title>" in svg and "p · b: -2</title>" in svg


@pytest.mark.django_db
def test_a_kpi_takes_one_y_column_in_the_form(superuser, analytics_engine):
    from admin2_analytics.forms import SavedQueryForm

    data = {
        "name": "KPI", "sql": "SELECT 1 AS x, 2 AS y, 3 AS z", "parameter_defaults": "",
        "cache_ttl_seconds": 0, "chart_kind": "kpi", "chart_x": "x", "chart_y": "y, z",
    }  # fmt: skip
    form = SavedQueryForm(data=data, user=superuser)
    assert not form.is_valid() and "takes 1 y column" in str(form.errors["chart_y"])
    assert SavedQueryForm(data={**data, "chart_y": "y"}, user=superuser).is_valid()
    wrong = SavedQueryForm(data={**data, "chart_kind": "pie"}, user=superuser)
    assert not wrong.is_valid() and "chart_kind" in wrong.errors


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@pytest.mark.parametrize(
    "spec",
    [q for q in QUERIES + EXPLORER_QUERIES if q["chart_kind"] != "none"],
    ids=lambda spec: _slug(spec["name"]),
)
def test_the_demo_queries_draw_as_their_snapshots(spec, analytics_engine):
    query = SavedQuery(**spec)
    params = check_parameters(query.sql, query.parameter_defaults)
    result = engine.execute(query.sql, params, tag=engine.QueryTag(user="test", source="cli"))
    chart = result_charts.draw(query.chart_kind, query, result.columns, result.types, result.rows)
    assert chart.svg is not None, chart.note
    path = SNAPSHOTS / f"{_slug(query.name)}.svg"
    if UPDATE or not path.exists():
        path.write_text(chart.svg + "\n")
        assert UPDATE, f"{path.name} was missing: written now, review and commit it"
    assert chart.svg + "\n" == path.read_text(), f"{path.name} differs (see its docstring)"


def test_the_console_preview_reads_times_in_their_columns_zone():
    from types import SimpleNamespace

    from admin2_analytics import console_chart

    columns = [SimpleNamespace(name="t", type="DateTime('Asia/Tokyo')"),
               SimpleNamespace(name="v", type="UInt8")]  # fmt: skip
    rows = [("2025-01-02 07:30:00", "1"), ("2025-01-03 07:30:00", None)]
    page = SimpleNamespace(columns=columns, rows=rows)
    chart = console_chart.build("scatter", "t", ["v"], page, max_points=100)
    # ClickHouse wrote Tokyo's wall clock: shown as written, not shifted again.
    assert "2025-01-02 07:30 · v: 1</title>" in chart.svg and "t (Asia/Tokyo)" in chart.svg


@pytest.mark.django_db
def test_the_admin_filters_saved_queries_by_every_registered_kind(client, superuser):
    from django.urls import reverse

    SavedQuery.objects.create(name="A KPI", sql="SELECT 1 AS x, 2 AS y", owner=superuser,
                              chart_kind="kpi", chart_x="x", chart_y=["y"])  # fmt: skip
    client.force_login(superuser)
    url = reverse("admin:analytics_savedquery_changelist")
    page = client.get(url).content.decode()
    for value, label in charts.choices():
        assert f"?chart_kind__exact={value}" in page and label in page
    assert "A KPI" in client.get(url, {"chart_kind__exact": "kpi"}).content.decode()
    assert "A KPI" not in client.get(url, {"chart_kind__exact": "line"}).content.decode()
