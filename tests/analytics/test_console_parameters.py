"""The console's typed parameter form: placeholders read as the SQL is typed, each value
checked with the run's own coercion, and a bad one named in the message."""

from __future__ import annotations

import pytest
from django.urls import reverse

from admin2_analytics.console_parameters import describe

pytestmark = pytest.mark.django_db

SQL = (
    "SELECT count() FROM events WHERE country IN {countries:Array(String)} "
    "AND user_id < {top:UInt32} AND event_time >= {since:Nullable(DateTime)} "
    "AND '{not_a:Placeholder}' != '' -- {nor:This}"
)


def test_each_placeholder_becomes_a_typed_field_in_the_order_of_the_sql():
    form = describe(SQL, "")
    assert form["error"] == ""
    assert [(p["name"], p["type"], p["kind"], p["nullable"]) for p in form["parameters"]] == [
        ("countries", "Array(String)", "list", False),
        ("top", "UInt32", "integer", False),
        ("since", "Nullable(DateTime)", "datetime", True),
    ]
    assert all(p["value"] is None and p["error"] == "" for p in form["parameters"])


def test_clickhouse_array_syntax_is_accepted_and_a_bad_value_names_its_parameter():
    form = describe(SQL, "countries=['DE','FR']\ntop=4294967296\nsince=yesterday")
    fields = {p["name"]: p for p in form["parameters"]}
    assert fields["countries"]["value"] == "['DE','FR']" and fields["countries"]["error"] == ""
    assert fields["top"]["error"] == (
        "parameter 'top' (UInt32): must be between 0 and 4294967295, got 4294967296"
    )
    assert fields["since"]["error"].startswith("parameter 'since' (Nullable(DateTime)): ")


def test_a_name_declared_with_two_types_or_malformed_lines_are_said_once():
    clash = describe("SELECT {a:UInt8}, {a:String}", "")
    assert clash == {
        "parameters": [],
        "error": "parameter 'a' is declared as both UInt8 and String; use one type for one name",
    }
    malformed = describe("SELECT {a:UInt8}", "a 1")
    assert "line 1: write parameters as name=value" in malformed["error"]
    assert [p["name"] for p in malformed["parameters"]] == ["a"]


def test_the_endpoint_answers_the_console_user_only(client, logged_in):
    url = reverse("analytics:console_parameters")
    assert client.post(url, {"sql": "SELECT {a:UInt8}"}).status_code == 302  # to the login
    logged_in("analytics.run_adhoc_sql", username="analyst")
    answer = client.post(url, {"sql": "SELECT {a:UInt8} AS a", "params": "a=256"}).json()
    assert answer["parameters"][0]["error"] == (
        "parameter 'a' (UInt8): must be between 0 and 255, got 256"
    )
    assert client.get(url).status_code == 405


def test_the_endpoint_refuses_sql_over_the_size_limit(client, logged_in, settings):
    settings.ANALYTICS_MAX_SQL_BYTES = 100
    logged_in("analytics.run_adhoc_sql", username="analyst")
    response = client.post(reverse("analytics:console_parameters"), {"sql": "SELECT 1" + " " * 200})
    assert response.status_code == 400 and "ANALYTICS_MAX_SQL_BYTES" in response.json()["error"]
