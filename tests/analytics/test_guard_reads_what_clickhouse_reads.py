"""The guard judges ClickHouse's own reading of the text, and only that text runs.

The first tests are the review's reproductions, verbatim: each reached ``system.*`` (or
wrote a file) through a place where sqlglot and ClickHouse read the same text differently.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from admin2_analytics import engine
from admin2_analytics.errors import ParameterError, QueryRefused
from tests.support.analytics_pages import make_user

TAG = engine.QueryTag(user="guard-tests", source="cli")

CURLY_QUOTES = (
    "SELECT ‘ = '’ AS a, (SELECT value FROM system.server_settings WHERE name=$$path$$) AS p --'"  # noqa: RUF001 (the verbatim reproduction)
)
NESTED_COMMENT_PLACEHOLDER = "SELECT /* /* */ {x :String} */ 1 /* %(x)s */ AS a"
NESTED_COMMENT_VALUE = (
    "x=*/, (SELECT value FROM system.server_settings WHERE name=$$path$$) AS leaked, "
    "(SELECT count() FROM system.processes) /*"
)


def _query(*args: str) -> str:
    out, err = _Capture(), _Capture()
    call_command("analytics_query", *args, stdout=out, stderr=err)
    return out.text + err.text


class _Capture:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


@pytest.mark.django_db
def test_curly_quotes_cannot_hide_a_system_table(analytics_engine):
    with pytest.raises(CommandError, match="typographic quotes") as refused:
        _query("--sql", CURLY_QUOTES)
    assert str(analytics_engine.path) not in str(refused.value)


@pytest.mark.django_db
def test_curly_quotes_cannot_hide_into_outfile(analytics_engine, tmp_path):
    target = tmp_path / "written.pth"
    with pytest.raises(CommandError, match="Refused"):
        _query("--sql", f"SELECT ‘ = '’ AS a INTO OUTFILE $${target}$$ --'")  # noqa: RUF001
    assert not target.exists()


@pytest.mark.django_db
def test_a_value_never_becomes_sql_text(analytics_engine):
    with pytest.raises(CommandError, match="declares no parameters") as refused:
        _query("--sql", NESTED_COMMENT_PLACEHOLDER, "--param", NESTED_COMMENT_VALUE)
    assert str(analytics_engine.path) not in str(refused.value)


@pytest.mark.django_db
def test_the_console_page_refuses_the_curly_quote_reproduction(client, analytics_engine):
    client.force_login(make_user("analyst", "analytics.run_adhoc_sql"))
    page = client.post(reverse("analytics:console"), {"sql": CURLY_QUOTES, "params": ""})
    text = page.content.decode()
    assert "typographic quotes" in text
    assert str(analytics_engine.path) not in text


@pytest.mark.parametrize(
    "function", ["notIn", "globalIn", "globalNotIn", "nullIn", "notNullIn", "globalNullIn"]
)
def test_function_form_in_cannot_reach_system_tables(analytics_engine, function):
    with pytest.raises(QueryRefused, match=r"system\.processes is a server table"):
        engine.prepare(f"SELECT {function}(1, system.processes)", None, tag=TAG)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT {x :String}",
        "SELECT { x:String}",
        "SELECT {'a': 1}",
    ],
)
def test_placeholders_the_client_would_not_bind_are_refused(analytics_engine, sql):
    with pytest.raises(QueryRefused, match=r"not a \{name:Type\} placeholder"):
        engine.prepare(sql, {"x": "1"} if "x" in sql else None, tag=TAG)


def test_a_space_after_the_colon_binds_like_the_plain_spelling(analytics_engine):
    assert engine.execute("SELECT {x: String} AS a", {"x": "v"}, tag=TAG).rows == [("v",)]


def test_a_percent_format_marker_is_refused(analytics_engine):
    with pytest.raises(QueryRefused, match=r"%\(name\)s marker"):
        engine.prepare("SELECT {x:String} AS a, '%(x)s' AS b", {"x": "1"}, tag=TAG)


def test_a_placeholder_spelled_inside_a_string_is_refused_when_values_are_bound(
    analytics_engine,
):
    # The client's pattern would see {y:String} inside the literal and bind differently.
    with pytest.raises(QueryRefused, match="would not bind these parameters server-side"):
        engine.prepare("SELECT {x:String} AS a, '{y:String}' AS b", {"x": "1"}, tag=TAG)


def test_a_value_full_of_sql_stays_a_value(analytics_engine):
    value = "'; DROP TABLE events; SELECT '"
    result = engine.execute("SELECT {x:String} AS a", {"x": value}, tag=TAG)
    assert result.rows == [(value,)]


def test_what_runs_is_the_canonical_text_without_comments(analytics_engine):
    statement, _ = engine.prepare(
        "SELECT 1 /* a /* nested */ note */ AS a -- tail\n;", None, tag=TAG
    )
    assert statement == "SELECT 1   AS a"


def test_heredoc_strings_run_as_their_value(analytics_engine):
    statement, _ = engine.prepare("SELECT $t$it's a \\ test$t$ AS s", None, tag=TAG)
    assert statement == "SELECT 'it\\'s a \\\\ test' AS s"
    assert engine.execute(statement, tag=TAG).rows == [("it's a \\ test",)]


def test_unicode_blanks_become_plain_spaces(analytics_engine):
    statement, _ = engine.prepare("SELECT\u00a01\u3000AS\u2003a", None, tag=TAG)
    assert statement == "SELECT 1 AS a"


def test_a_backslash_in_a_quoted_name_is_refused(analytics_engine):
    # ClickHouse decodes escapes in names: `sys\x74em` is `system` to the server.
    with pytest.raises(QueryRefused, match="backslash inside the quoted name"):
        engine.prepare("SELECT * FROM `sys\\x74em`.`processes`", None, tag=TAG)


def test_an_unclosed_comment_is_a_readable_refusal(analytics_engine):
    with pytest.raises(QueryRefused, match=r"a /\* comment is not closed at line 1, column 10"):
        engine.prepare("SELECT 1 /* open", None, tag=TAG)


def test_a_statement_after_the_semicolon_is_refused(analytics_engine):
    with pytest.raises(QueryRefused, match="2 statements"):
        engine.prepare("SELECT 1; SELECT 2", None, tag=TAG)


def test_a_missing_value_is_still_a_parameter_error(analytics_engine):
    with pytest.raises(ParameterError, match="needs a value"):
        engine.prepare("SELECT {x:String}", None, tag=TAG)
