"""The schema browser pages: databases, tables with engine/rows/size, columns with types."""

from __future__ import annotations

import pytest
from django.urls import reverse

from harness.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_user(logged_in):
    return logged_in("analytics.view_schema", "analytics.run_adhoc_sql", username="explorer")


def test_databases_link_to_their_tables(client, browser_user, analytics_engine):
    page = client.get(reverse("analytics:schema")).content.decode()
    assert f'href="{reverse("analytics:schema_tables", args=["default"])}"' in page
    assert ">system<" not in page
    assert "Welcome," in page and 'id="nav-sidebar"' in page  # inside the admin frame


def test_tables_show_engine_rows_and_size(client, browser_user, analytics_engine):
    page = client.get(reverse("analytics:schema_tables", args=["default"])).content.decode()
    assert f'href="{reverse("analytics:schema_columns", args=["default", "events"])}"' in page
    assert "<td>MergeTree</td>" in page
    assert f'<td class="analytics-num">{analytics_engine.rows}</td>' in page
    assert "KB</td>" in page or "MB</td>" in page


def test_columns_show_types_and_a_console_link(client, browser_user, analytics_engine):
    page = client.get(
        reverse("analytics:schema_columns", args=["default", "events"])
    ).content.decode()
    assert '<th scope="row">revenue</th><td><code>Decimal(12, 2)</code></td><td>' in page
    assert "Query in console" in page and "LIMIT%20100" in page
    assert "<dt>Sorting key</dt><dd><code>event_time, user_id</code>" in page


def test_all_tables_and_their_columns_are_one_click_away_and_searchable(
    client, browser_user, analytics_engine
):
    page = client.get(reverse("analytics:schema")).content.decode()
    assert "<strong>default.events</strong>" in page
    assert "<td>when it happened (UTC)</td>" in page  # the column's comment
    assert "<dt>Sorting key</dt>" in page
    found = client.get(reverse("analytics:schema"), {"q": "HAPPENED"}).content.decode()
    assert "<strong>default.events</strong>" in found and "<details open>" in found
    none = client.get(reverse("analytics:schema"), {"q": "no-such-thing"}).content.decode()
    assert "default.events" not in none and "Nothing matches" in none


def test_unknown_names_are_not_found(client, browser_user, analytics_engine):
    assert client.get(reverse("analytics:schema_tables", args=["nope"])).status_code == 404
    url = reverse("analytics:schema_columns", args=["default", "nope"])
    assert client.get(url).status_code == 404


def test_an_unreachable_engine_is_explained(client, browser_user, settings):
    settings.CLICKHOUSE_HOST = "127.0.0.1"
    settings.CLICKHOUSE_PORT = free_port()
    settings.CLICKHOUSE_CONNECT_TIMEOUT = 1.0
    response = client.get(reverse("analytics:schema"))
    assert response.status_code == 200
    assert "<strong>ClickHouse is unavailable:</strong>" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        ("system", "users"),
        ("system", "query_log"),
        ("SYSTEM", "users"),
        ("information_schema", "tables"),
        ("INFORMATION_SCHEMA", "columns"),
    ],
)
def test_hidden_databases_show_no_columns(client, browser_user, analytics_engine, path):
    """Issue 19: /admin/analytics/schema/system/users/ listed the columns of a hidden table."""
    page = client.get(reverse("analytics:schema_columns", args=list(path)))
    assert page.status_code == 404
    assert b"auth_type" not in page.content


@pytest.mark.parametrize("database", ["system", "System", "information_schema"])
def test_hidden_databases_list_no_tables(client, browser_user, analytics_engine, database):
    page = client.get(reverse("analytics:schema_tables", args=[database]))
    assert page.status_code == 404
