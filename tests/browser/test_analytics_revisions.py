"""A saved query's revisions in a real Chromium: edit it in the admin, compare two revisions,
revert to the first, see a revert the guard refuses change nothing, and fork it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from admin2_analytics.models import QueryRevision, SavedQuery
from tests.browser.sign_in import sign_in
from tests.support.analytics_pages import ALL_ANALYTICS, make_query, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "editor-password-1"


@pytest.fixture
def editor():
    user = make_user("editor", *ALL_ANALYTICS, "analytics.add_savedquery",
                     "analytics.change_savedquery", "analytics.view_savedquery")  # fmt: skip
    user.set_password(PASSWORD)
    user.save()
    return user


def _log_in(page: Page, base: str) -> None:
    sign_in(page, f"{base}/admin/login/", "editor", PASSWORD)
    expect(page.locator("#user-tools")).to_contain_text("editor")


@pytest.mark.timeout(180)
def test_revision_diff_revert_and_fork(page: Page, live_server, editor, analytics_engine,
                                       artifacts):  # fmt: skip
    query = make_query(editor)
    original = query.sql
    base = live_server.url
    _log_in(page, base)

    # An edit in the admin keeps revision 2 with its message.
    page.goto(f"{base}/admin/analytics/savedquery/{query.pk}/change/")
    page.fill("#id_sql", original.replace("ORDER BY day", "ORDER BY day DESC"))
    page.fill("#id_revision_message", "newest days first")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto(f"{base}/admin/analytics/queries/{query.pk}/")
    page.click("#revisions-link")
    table = page.locator("#revision-table tbody tr")
    expect(table).to_have_count(2)
    expect(table.first).to_contain_text("newest days first")
    expect(table.first).to_contain_text("editor")

    # The default diff: revision 1 -> 2, one line removed and one added, chart unchanged.
    sql = page.locator("section[data-section=SQL]")
    expect(sql.locator(".diff-remove")).to_have_text(["-GROUP BY day ORDER BY day"])
    expect(sql.locator(".diff-add")).to_have_text(["+GROUP BY day ORDER BY day DESC"])
    expect(page.locator("section[data-section=Chart]")).to_contain_text("(unchanged)")
    # Any two revisions: compare 2 with 1 (reversed).
    page.select_option("#id_a", "2")
    page.select_option("#id_b", "1")
    page.click("#compare-button")
    expect(page).to_have_url(re.compile(r"\?a=2&b=1$"))
    expect(sql.locator(".diff-add")).to_have_text(["+GROUP BY day ORDER BY day"])
    page.screenshot(path=artifacts / "analytics-revisions.png", full_page=True)

    # Revert to revision 1: the guard passes it, it becomes revision 3.
    page.locator("tr[data-revision='1'] .revert-button").click()
    expect(page.locator(".messagelist")).to_contain_text("Revision 1 restored as revision 3.")
    expect(table).to_have_count(3)
    assert SavedQuery.objects.get(pk=query.pk).sql == original

    # A revision today's guard refuses: the page says why, nothing changes.
    QueryRevision.objects.create(saved_query=query, number=0, chart_kind="none",
                                 sql="SELECT * FROM url('http://127.0.0.1/')")  # fmt: skip
    page.reload()
    page.locator("tr[data-revision='0'] .revert-button").click()
    error = page.locator(".messagelist .error")
    expect(error).to_contain_text("Revision 0 was not restored, nothing changed")
    expect(error).to_contain_text("url")
    assert SavedQuery.objects.get(pk=query.pk).sql == original
    assert query.revisions.count() == 4

    # Fork: a private copy owned by the editor opens on its run page.
    page.click("#fork-button")
    expect(page.locator(".messagelist")).to_contain_text("owned by you and not shared")
    fork = SavedQuery.objects.get(name=f"{query.name} (fork by editor)")
    assert fork.owner == editor and not fork.shared and fork.sql == original
    expect(page).to_have_url(re.compile(rf"/analytics/queries/{fork.pk}/$"))
