"""PostgreSQL goes away under a running web server, then comes back.

The outage is lived through once (the module fixture records what staff saw); each test
checks one behaviour of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from harness.processes import wait_until
from tests.faults.measured import note, timed
from tests.faults.stack import ADMIN_PASSWORD, ADMIN_USER, READYZ_TOKEN, private_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

FRIENDLY = "The database cannot be reached right now."


def ready(browser) -> bool:
    return browser.get("/readyz").status == 200


@dataclass
class Outage:
    observed: dict[str, object] = field(default_factory=dict)
    workers_before: set[int] = field(default_factory=set)
    workers_after: set[int] = field(default_factory=set)
    master_alive: bool = False


@pytest.fixture(scope="module")
def outage(tmp_path_factory) -> Outage:
    with private_stack(tmp_path_factory.mktemp("postgres-outage")) as (postgres, _redis, web):
        yield live_through_an_outage(web, postgres)


def live_through_an_outage(web, postgres) -> Outage:
    result = Outage()
    staff = web.browser()
    staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
    assert staff.get("/admin/auth/user/").status == 200, "the stack works before the outage"
    wait_until(lambda: ready(staff), 30, "/readyz to be 200 with every service up")
    result.workers_before = web.worker_pids()

    # A crash, not a polite shutdown: the pooled connections die under the web server.
    postgres.stop("immediate")

    # The session lives in the database: only the token shows the details now.
    readiness = staff.get("/readyz", Authorization=f"Bearer {READYZ_TOKEN}")
    note("PostgreSQL down: /readyz answers 503", readiness.seconds)
    result.observed["readyz"] = readiness
    page = staff.get("/admin/auth/user/")
    note("PostgreSQL down: a logged-in page answers the 503 page", page.seconds)
    result.observed["page"] = page
    result.observed["login"] = web.browser().post_form(
        "/admin/login/", {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    )

    postgres.start()

    with timed("PostgreSQL back: until /readyz is 200 again"):
        wait_until(lambda: ready(staff), 30, "/readyz to recover after PostgreSQL is back")
    result.observed["same session"] = staff.get("/admin/auth/user/").status
    fresh = web.browser()
    fresh.log_in(ADMIN_USER, ADMIN_PASSWORD)
    result.observed["fresh login"] = fresh.get("/admin/").status
    result.master_alive = web.process.alive()
    result.workers_after = web.worker_pids()
    return result


def test_readyz_names_the_database_and_why(outage):
    readiness = outage.observed["readyz"]
    assert readiness.status == 503, readiness.text
    assert '"failed": ["database"]' in readiness.text, readiness.text
    assert "Connection refused" in readiness.text


def test_a_logged_in_page_answers_the_friendly_503_page(outage):
    page = outage.observed["page"]  # the session itself lives in the database
    assert page.status == 503, page.text[:500]
    assert FRIENDLY in page.text
    assert page.header("Retry-After") == "30"
    assert page.header("X-Request-ID") in page.text  # quotable when someone reports it


def test_a_login_answers_the_friendly_503_page(outage):
    login = outage.observed["login"]
    assert login.status == 503
    assert FRIENDLY in login.text


def test_when_the_database_returns_sessions_and_logins_work_again(outage):
    assert outage.observed["same session"] == 200  # the same session works again
    assert outage.observed["fresh login"] == 200


def test_it_recovers_in_place_without_restarting_any_web_process(outage):
    assert outage.master_alive
    assert outage.workers_after == outage.workers_before
