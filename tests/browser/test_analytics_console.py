"""The SQL console in a real Chromium: the CodeMirror editor (completion, Mod-Enter, Tab),
values exactly as ClickHouse writes them, sorting and copying without losing precision,
paging, no CSP violation, and the plain form with JavaScript off."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from admin2_analytics.models import QueryRun
from tests.browser.sign_in import sign_in
from tests.support.analytics_pages import ALL_ANALYTICS, csp_reports, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "analyst-password-1"
# Values JavaScript numbers (and doubles) would spoil: UInt64 max, 2^53 + 1, and
# Decimal(38, 10) values of 30 significant digits.
EXACT_SQL = (
    "SELECT * FROM (SELECT toUInt64('18446744073709551615') AS u, "
    "toDecimal128('12345678901234567890.0123456789', 10) AS d UNION ALL "
    "SELECT toUInt64('18446744073709551614'), toDecimal128('-0.0000000001', 10) UNION ALL "
    "SELECT toUInt64('9007199254740993'), toDecimal128('12345678901234567890.0123456788', 10)"
    ") ORDER BY d"
)


@pytest.fixture
def analyst(django_user_model):
    user = make_user("analyst", *ALL_ANALYTICS)
    user.set_password(PASSWORD)
    user.save()
    return user


def _log_in(page: Page, base: str) -> None:
    sign_in(page, f"{base}/admin/login/?next=/admin/analytics/console/", "analyst", PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/analytics/console/$"))


def _violations(page: Page) -> list[str]:
    return csp_reports(page)


def _type_sql(page: Page, sql: str) -> None:
    editor = page.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(sql)


@pytest.mark.timeout(180)
def test_editor_completes_runs_with_mod_enter_and_shows_exact_values(
    page: Page, live_server, analyst, analytics_engine, artifacts
):
    violations = _violations(page)
    _log_in(page, live_server.url)
    expect(page.locator("body[data-editor-ready='1']")).to_have_count(1)
    expect(page.locator("textarea#id_sql")).to_be_hidden()  # still the form field

    # Completion: columns (with their type) and functions from the schema seam.
    _type_sql(page, "SELECT ev")
    page.keyboard.press("Control+Space")
    option = page.locator(".cm-tooltip-autocomplete li", has_text="event_time")
    expect(option).to_be_visible()
    expect(option).to_contain_text("DateTime('UTC')")
    page.keyboard.press("Escape")

    # Tab indents inside the editor; Escape then Tab leaves it (keyboard users).
    _type_sql(page, "SELECT 1")
    page.keyboard.press("Home")
    page.keyboard.press("Tab")
    expect(page.locator("textarea#id_sql")).to_have_value(re.compile(r"^\s+SELECT 1$"))
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.cm-editor') === null")

    # Mod-Enter runs; a New York time shows 12:00 with its full type.
    _type_sql(
        page,
        "SELECT toDateTime('2025-01-01 12:00:00', 'America/New_York') AS t, "
        "map('a', 1, 'b', 2) AS m, (1, 'x') AS tup, toDecimal64('221280.10', 2) AS revenue, "
        "toUInt64(1234567) AS n",
    )
    page.keyboard.press("Control+Enter")
    expect(page.locator("#row-count")).to_have_text("1")
    cells = page.locator("#console-result tbody td")
    expect(cells.nth(0)).to_have_text("2025-01-01 12:00:00")
    expect(page.locator("#console-result thead th").nth(0)).to_contain_text(
        "DateTime('America/New_York')"
    )
    expect(cells.nth(1)).to_have_text("map('a', 1, 'b', 2)")  # SQL that pastes back
    expect(cells.nth(2)).to_have_text("(1,'x')")
    expect(cells.nth(3)).to_have_text("221280.10")
    page.check("#grid-separators")
    expect(cells.nth(4)).to_have_text("1\u202f234\u202f567")
    expect(cells.nth(3)).to_have_text("221\u202f280.10")
    page.uncheck("#grid-separators")
    expect(cells.nth(4)).to_have_text("1234567")
    page.screenshot(path=artifacts / "analytics-console.png", full_page=True)
    assert QueryRun.objects.filter(error="").count() == 1
    assert violations == []


@pytest.mark.timeout(180)
def test_sorting_and_copying_keep_64_bit_integers_and_decimals_exact(
    page: Page, live_server, analyst, analytics_engine
):
    violations = _violations(page)
    _log_in(page, live_server.url)
    expect(page.locator("body[data-editor-ready='1']")).to_have_count(1)
    _type_sql(page, EXACT_SQL)
    page.click("#run-button")
    expect(page.locator("#row-count")).to_have_text("3")
    first_column = page.locator("#console-result tbody tr td:first-child")
    page.click("#console-result thead th >> nth=0")
    expect(first_column).to_have_text(
        ["9007199254740993", "18446744073709551614", "18446744073709551615"]
    )
    page.click("#console-result thead th >> nth=0")
    expect(first_column).to_have_text(
        ["18446744073709551615", "18446744073709551614", "9007199254740993"]
    )
    page.click("#console-result thead th >> nth=1")
    expect(page.locator("#console-result thead th").nth(1)).to_contain_text("Decimal(38, 10)")
    expect(page.locator("#console-result tbody tr td:nth-child(2)")).to_have_text(
        ["-0.0000000001", "12345678901234567890.0123456788", "12345678901234567890.0123456789"]
    )
    page.click("#grid-copy")
    expect(page.locator("body[data-copied]")).to_have_count(1)
    copied = page.evaluate("document.body.dataset.copied")
    assert copied == (
        "u\td\n"
        "18446744073709551614\t-0.0000000001\n"
        "9007199254740993\t12345678901234567890.0123456788\n"
        "18446744073709551615\t12345678901234567890.0123456789\n"
    )
    page.fill("#grid-search", "99254")
    expect(page.locator("#console-result tbody tr:visible")).to_have_count(1)

    # Every export writes the digits the grid shows, byte for byte.
    grid = [line.split("\t") for line in copied.splitlines()[1:]]
    by_decimal = sorted(grid, key=lambda row: Decimal(row[1]))
    for fmt in ("csv", "tsv", "jsonl"):
        with page.expect_download() as download:
            page.click(f"#export-{fmt}")
        body = Path(download.value.path()).read_bytes().decode()
        assert body == _export_of(fmt, by_decimal), fmt
    with page.expect_download() as download:
        page.click("#export-xlsx")
    assert _xlsx_text(Path(download.value.path())) == by_decimal
    assert violations == []


def _xlsx_text(path: Path) -> list[list[str]]:
    """The workbook's rows as text: a number past 15 digits is a text cell with every digit,
    a shorter one a number shown with the Decimal's scale."""
    with path.open("rb") as file:  # a download has no .xlsx suffix, which openpyxl wants
        sheet = openpyxl.load_workbook(file, read_only=True)["Result"]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
    return [
        [value if isinstance(value, str) else f"{Decimal(repr(value)):.10f}" for value in row]
        for row in rows
    ]


def _export_of(fmt: str, rows: list[list[str]]) -> str:
    """What each export writes for the rows of EXACT_SQL (ORDER BY d), from the grid's text."""
    if fmt == "csv":
        return '"u","d"\n' + "".join(f"{u},{d}\n" for u, d in rows)
    if fmt == "tsv":
        return "u\td\n" + "".join(f"{u}\t{d}\n" for u, d in rows)
    return "".join(f'{{"u":{u},"d":{d}}}\n' for u, d in rows)


@pytest.mark.timeout(180)
def test_results_page_past_the_first_rows(page: Page, live_server, analyst, analytics_engine,
                                          settings):  # fmt: skip
    settings.ANALYTICS_CONSOLE_MAX_ROWS = 1000
    _log_in(page, live_server.url)
    expect(page.locator("body[data-editor-ready='1']")).to_have_count(1)
    _type_sql(page, "SELECT number FROM numbers(2500) ORDER BY number")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#row-range")).to_have_text("1\u20131000")
    page.click("#next-page")
    expect(page.locator("#row-range")).to_have_text("1001\u20132000")
    page.click("#next-page")
    expect(page.locator("#row-count")).to_have_text("500")
    expect(page.locator("#console-result tbody tr").last).to_have_text("2499")
    expect(page.locator("#next-page")).to_have_count(0)


@pytest.mark.timeout(180)
def test_the_parameter_form_follows_the_sql_and_names_a_bad_value(
    page: Page, live_server, analyst, analytics_engine
):
    violations = _violations(page)
    _log_in(page, live_server.url)
    expect(page.locator("body[data-editor-ready='1']")).to_have_count(1)
    expect(page.locator("textarea#id_params")).to_be_hidden()  # still the form field
    _type_sql(page, "SELECT {c:Array(String)} AS c")
    expect(page.locator("#parameter-form label")).to_have_text(["c Array(String)"])
    page.fill("#param-c", "['DE','FR']")  # ClickHouse's own array syntax
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(", {n:UInt8} AS n")
    labels = page.locator("#parameter-form label")
    expect(labels).to_have_text(["c Array(String)", "n UInt8"])
    expect(page.locator("#param-c")).to_have_value("['DE','FR']")  # kept as the SQL grew
    page.fill("#param-n", "300")
    expect(page.locator("#param-n-error")).to_have_text(
        "parameter 'n' (UInt8): must be between 0 and 255, got 300"
    )
    page.fill("#param-n", "7")
    expect(page.locator("#param-n-error")).to_have_text("")
    expect(page.locator("textarea#id_params")).to_have_value("c=['DE','FR']\nn=7")
    page.click("#run-button")
    expect(page.locator("#row-count")).to_have_text("1")
    expect(page.locator("#console-result tbody td")).to_have_text(["['DE','FR']", "7"])
    assert violations == []


@pytest.mark.timeout(180)
def test_format_lays_the_sql_out_in_the_editor(page: Page, live_server, analyst,
                                               analytics_engine):  # fmt: skip
    violations = _violations(page)
    _log_in(page, live_server.url)
    expect(page.locator("body[data-editor-ready='1']")).to_have_count(1)
    _type_sql(page, "select event_type, count() as n from events group by event_type")
    page.click("#format-button")
    expect(page.locator("body[data-formatted='1']")).to_have_count(1)
    expect(page.locator("textarea#id_sql")).to_have_value(
        "select\n    event_type,\n    count() as n\nfrom events\ngroup by event_type"
    )
    expect(page.locator(".cm-line")).to_have_count(5)  # the editor shows the layout
    _type_sql(page, "DROP TABLE events")
    page.click("#format-button")
    expect(page.locator("#run-progress")).to_contain_text("DROP")
    expect(page.locator("textarea#id_sql")).to_have_value("DROP TABLE events")  # left as is
    assert violations == []


@pytest.mark.timeout(180)
def test_the_console_runs_under_the_csp_without_a_violation(page: Page, live_server, analyst,
                                                            analytics_engine):  # fmt: skip
    # The browser's own report of each violation, recorded from before the page's scripts.
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', (event) =>"
        " window.cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));"
    )
    response = page.goto(f"{live_server.url}/admin/login/?next=/admin/analytics/console/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _log_in(page, live_server.url)
    expect(page.locator("body[data-editor-ready='1']")).to_have_count(1)
    _type_sql(page, "select {n:UInt8} AS n, [1, 2] AS a, map('k', 1) AS m")
    page.fill("#param-n", "7")
    page.click("#format-button")
    expect(page.locator("body[data-formatted='1']")).to_have_count(1)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#row-count")).to_have_text("1")
    page.click("#console-result thead th >> nth=0")
    page.click("#grid-copy")
    assert page.evaluate("window.cspViolations") == []
    # The check can see one: an inline script is refused and reported.
    page.evaluate(
        "document.body.append(Object.assign(document.createElement('script'),"
        " {textContent: 'window.inlineRan = true'}))"
    )
    page.wait_for_function("window.cspViolations.length === 1")
    assert page.evaluate("window.inlineRan === undefined")


@pytest.mark.timeout(180)
def test_without_javascript_the_console_still_runs(browser: Browser, live_server, analyst,
                                                   analytics_engine):  # fmt: skip
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _log_in(page, live_server.url)
        expect(page.locator("textarea#id_sql")).to_be_visible()
        page.fill("textarea#id_sql", "SELECT {c:Array(String)} AS c")
        page.fill("textarea#id_params", "c=['DE','FR']")
        page.click("#run-button")
        expect(page.locator("#row-count")).to_have_text("1")
        expect(page.locator("#console-result tbody td")).to_have_text("['DE','FR']")
    finally:
        context.close()


LONG_SCAN = "SELECT count() FROM numbers_mt(100000000000) WHERE number % 7 = 3"


def _on_engine(text: str) -> int:
    from admin2_analytics import engine

    return len(
        engine.run_trusted(
            "SELECT 1 FROM system.processes WHERE position(query, {t:String}) > 0 "
            "AND NOT startsWith(query, 'SELECT 1 FROM system.processes')",
            {"t": text},
            tag=engine.QueryTag(user="test", source="web"),
        ).rows
    )


def _start_long_scan(page: Page, settings) -> None:
    settings.ANALYTICS_MAX_EXECUTION_TIME = 120
    settings.ANALYTICS_MAX_BLOCK_SIZE = 65536
    expect(page.locator("body[data-editor-ready='1']")).to_have_count(1)
    _type_sql(page, LONG_SCAN)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#stop-button")).to_be_visible()
    # Live progress: rows read so far, from system.processes.
    expect(page.locator("#run-progress")).to_contain_text(re.compile(r"[1-9][\d,]* rows"))
    assert _on_engine("numbers_mt(100000000000)") == 1


@pytest.mark.timeout(180)
def test_stop_kills_the_query_and_records_it_cancelled(page: Page, live_server, analyst,
                                                       analytics_engine, settings):  # fmt: skip
    _log_in(page, live_server.url)
    _start_long_scan(page, settings)
    page.click("#stop-button")
    # Generous: on a loaded machine the engine may take a while to reach a block boundary.
    expect(page.locator(".analytics-error")).to_contain_text("Stopped:", timeout=60_000)
    assert _on_engine("numbers_mt(100000000000)") == 0
    run = QueryRun.objects.get(sql=LONG_SCAN)
    assert "cancelled: stopped by the user" in run.error and run.row_count


@pytest.mark.timeout(180)
def test_closing_the_tab_kills_the_query(browser: Browser, live_server, analyst,
                                         analytics_engine, settings):  # fmt: skip
    from harness.processes import wait_until

    context = browser.new_context()
    page = context.new_page()
    _log_in(page, live_server.url)
    _start_long_scan(page, settings)
    page.close(run_before_unload=True)
    wait_until(lambda: _on_engine("numbers_mt(100000000000)") == 0, 30, "the kill")
    wait_until(
        lambda: "cancelled" in (QueryRun.objects.filter(sql=LONG_SCAN).first() or QueryRun()).error,
        30,
        "the history row",
    )
    context.close()
