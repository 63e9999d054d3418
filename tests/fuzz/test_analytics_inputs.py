"""Analytics input from people: typed parameters, console SQL and the query runner.

Whatever is typed, the page says what happened (rows, a form error or the engine's reason)
and nothing in the warehouse changes: values are bound server-side, the guard and the
engine's read-only mode stop writes.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from admin2_analytics import engine, running
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.parameters import Parameter, coerce
from tests.fuzz.conftest import ENGINE_ROWS
from tests.fuzz.tally import FUZZ, FUZZ_SLOW, record

pytestmark = pytest.mark.django_db

TYPES = {
    "d": "Date",
    "t": "DateTime",
    "n": "UInt32",
    "i": "Int64",
    "f": "Float64",
    "dec": "Decimal(10, 2)",
    "b": "Bool",
    "s": "String",
    "u": "UUID",
    "ip": "IPv4",
    "a": "Array(Int32)",
    "o": "Nullable(Int32)",
    "fs": "FixedString(4)",
}
PLACEHOLDERS = ", ".join(f"{{{name}:{type_}}} AS p_{name}" for name, type_ in TYPES.items())
TYPED_SQL = (
    f"SELECT {PLACEHOLDERS}, count() AS events "  # noqa: S608 (placeholders, bound server-side)
    "FROM events WHERE event_type != {s:String}"
)
BASELINE = {
    "d": "2025-01-31", "t": "2025-01-31 13:45:00", "n": "7", "i": "-7", "f": "1.5",
    "dec": "12.34", "b": "true", "s": "purchase", "u": "6f1c3c8e-7d0a-4f8e-9a55-2b7c1d9e0f11",
    "ip": "192.0.2.1", "a": "1, 2, 3", "o": "", "fs": "abcd",
}  # fmt: skip
VALID = {
    "Date": st.dates().map(str),
    "DateTime": st.datetimes(min_value=dt.datetime(1970, 1, 2)).map(lambda v: v.isoformat(" ")),
    "UInt32": st.integers(0, 2**32 - 1).map(str),
    "Int64": st.integers(-(2**63), 2**63 - 1).map(str),
    "Float64": st.floats(allow_nan=True, allow_infinity=True).map(repr),
    "Decimal(10, 2)": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    "Bool": st.sampled_from(["true", "false", "1", "0", "yes", "off"]),
    "String": st.text(max_size=50),
    "UUID": st.uuids().map(str),
    "IPv4": st.ip_addresses(v=4).map(str),
    "Array(Int32)": st.lists(st.integers(-(2**31), 2**31 - 1), max_size=5).map(
        lambda items: ", ".join(map(str, items))
    ),
    "Nullable(Int32)": st.sampled_from(["", "NULL"]) | st.integers(-(2**31), 2**31 - 1).map(str),
    "FixedString(4)": st.text(max_size=4),
}
# Strings made to break out of a value: quotes, backslashes, braces, comments, statements.
hostile = st.sampled_from(
    ["'", "\\'", "'); DROP TABLE events; --", "{s:String}", "}", "\x00", "NULL", "1e999",
     "9" * 60, "-0", " 1 ", "2025-02-30", "0x10", "[1,", '["a"]', "1,2,,3", "::1"]
) | st.text(max_size=80)  # fmt: skip

ROW_COUNT = re.compile(r'<strong id="row-count">(\d+)</strong>')


def page_outcome(page: str) -> str:
    if ROW_COUNT.search(page):
        return "rows"
    if "analytics-error" in page:
        return "engine or guard said why"
    if 'class="errorlist' in page:
        return "form error"
    return "nothing said"


def warehouse_tables() -> list[tuple]:
    tag = engine.QueryTag(user="fuzz", source="cli")
    sql = "SELECT name, total_rows FROM system.tables WHERE database = 'default' ORDER BY name"
    return engine.run_trusted(sql, tag=tag).rows


@pytest.fixture
def analyst(fuzz_engine, django_user_model):
    from admin2_analytics.models import SavedQuery

    user = django_user_model.objects.create_superuser("analyst", "a@example.com", "analyst-pw-1")
    query = SavedQuery.objects.create(
        owner=user, name="every type", sql=TYPED_SQL, parameter_defaults={}, shared=True,
        cache_ttl_seconds=0,
    )  # fmt: skip
    return user, query


@FUZZ_SLOW
@given(
    # A valid set of values with a few replaced: by another valid value or by hostile text.
    replaced=st.lists(
        st.sampled_from(sorted(TYPES)).flatmap(
            lambda name: st.tuples(st.just(name), VALID[TYPES[name]] | hostile)
        ),
        max_size=4,
    )
)
def test_typed_parameters_from_the_form_are_run_or_explained(admin_client_500, analyst, replaced):
    user, query = analyst
    values = {**BASELINE, **dict(replaced)}
    admin_client_500.force_login(user)
    response = admin_client_500.post(
        f"/admin/analytics/queries/{query.pk}/", {"run": "1", **values}
    )
    page = response.content.decode()
    outcome = page_outcome(page)
    record("analytics: parameter form", response.status_code, outcome)
    assert response.status_code == 200
    assert outcome != "nothing said", values
    if outcome == "rows":
        assert int(ROW_COUNT.search(page).group(1)) == 1  # one aggregate row, never more


CONSOLE_WORDS = [
    "SELECT", "1", "*", "FROM", "events", "WHERE", "event_type", "=", "{s:String}", "{n:UInt8}",
    "'x'", "count()", "GROUP BY", "LIMIT", "10", ";", "--", "/*", "*/", "INSERT INTO events",
    "VALUES (1)", "DROP TABLE events", "ALTER TABLE events DELETE WHERE 1", "TRUNCATE events",
    "CREATE TABLE t (a UInt8) ENGINE=Memory", "SETTINGS readonly=0", "FORMAT CSV",
    "INTO OUTFILE '/tmp/x'", "file('/etc/passwd')", "url('http://127.0.0.1:1/')",
    "system.users", "numbers(1000000000)", "sleep(3)", "UNION ALL", "(", ")", ",", "AS x",
    "arrayJoin(range(10))", "OPTIMIZE TABLE events", "SYSTEM SHUTDOWN", "KILL QUERY WHERE 1",
]  # fmt: skip
# Statements the guard accepts, with placeholders: the values are where the hostility goes.
TEMPLATES = {
    "SELECT count() AS n FROM events WHERE event_type = {s:String}": ("s",),
    "SELECT {s:String} AS echoed, {n:UInt8} + 1 AS next": ("s", "n"),
    "SELECT country, count() AS c FROM events WHERE user_id > {n:UInt8} GROUP BY country": ("n",),
    "SELECT count() AS n FROM events": (),
}
any_sql = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(CONSOLE_WORDS), min_size=1, max_size=12).map(" ".join),
)
any_params = st.dictionaries(
    st.sampled_from(["s", "n", "x"]) | st.text(max_size=10), hostile, max_size=3
)


@st.composite
def console_input(draw) -> tuple[str, dict]:
    """Half free-form SQL with any parameters, half a runnable statement with hostile values."""
    if draw(st.booleans()):
        return draw(any_sql), draw(any_params)
    sql = draw(st.sampled_from(sorted(TEMPLATES)))
    values = {name: draw(hostile | st.integers(0, 255).map(str)) for name in TEMPLATES[sql]}
    return sql, values


def as_lines(params: dict) -> str:
    return "\n".join(f"{name}={value}" for name, value in params.items())


@FUZZ_SLOW
@given(typed=console_input())
def test_console_sql_is_run_or_explained_and_never_writes(admin_client_500, analyst, typed):
    sql, params = typed
    user, _ = analyst
    admin_client_500.force_login(user)
    before = warehouse_tables()
    form = {"sql": sql, "params": as_lines(params)}
    response = admin_client_500.post("/admin/analytics/console/", form)
    page = response.content.decode()
    outcome = page_outcome(page)
    record("analytics: SQL console", response.status_code, outcome)
    assert response.status_code == 200
    assert outcome != "nothing said", (sql, params)
    assert warehouse_tables() == before, f"the warehouse changed after {sql!r}"


@FUZZ_SLOW
@given(typed=console_input())
def test_the_runner_returns_rows_or_an_analytics_error_only(fuzz_engine, typed):
    sql, params = typed
    user = get_user_model().objects.get_or_create(username="runner")[0]
    before = warehouse_tables()
    try:
        # A savepoint per input: the runner's history write is refused for text PostgreSQL
        # cannot store (NUL), logged and skipped; the test's own transaction must survive it.
        with transaction.atomic():
            result = running.run_sql(sql, params, user=user, max_rows=50)
    except AnalyticsError as error:
        record("analytics: runner", "AnalyticsError", type(error).__name__)
        assert str(error).strip()  # a reason a person can read
    else:
        record("analytics: runner", "rows", "rows")
        assert result.row_count <= 50
    assert warehouse_tables() == before == [("events", ENGINE_ROWS)], sql


@FUZZ
@given(type_=st.sampled_from(sorted(set(TYPES.values()))), raw=hostile | st.text(max_size=40))
def test_coercion_gives_a_value_or_a_parameter_error(type_, raw):
    from admin2_analytics.errors import ParameterError

    try:
        coerce(Parameter("p", type_), raw)
    except ParameterError as error:
        record("analytics: coercion", "ParameterError")
        assert "parameter 'p'" in str(error)
    else:
        record("analytics: coercion", "value")
