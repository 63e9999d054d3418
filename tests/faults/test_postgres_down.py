"""PostgreSQL goes away under a running web server, then comes back."""

from __future__ import annotations

import pytest

from tests.faults.measured import note, timed
from tests.faults.stack import ADMIN_PASSWORD, ADMIN_USER, READYZ_TOKEN
from tests.support.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

FRIENDLY = "The database cannot be reached right now."


def ready(browser) -> bool:
    return browser.get("/readyz").status == 200


def test_database_outage_is_reported_and_survived_without_restart(web, postgres):
    staff = web.browser()
    staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
    assert staff.get("/admin/auth/user/").status == 200
    wait_until(lambda: ready(staff), 30, "/readyz to be 200 with every service up")
    workers_before = web.worker_pids()

    # A crash, not a polite shutdown: the pooled connections die under the web server.
    postgres.stop("immediate")

    # The session lives in the database: only the token shows the details now.
    readiness = staff.get("/readyz", Authorization=f"Bearer {READYZ_TOKEN}")
    assert readiness.status == 503, readiness.text
    note("PostgreSQL down: /readyz answers 503", readiness.seconds)
    report = readiness.text
    assert '"failed": ["database"]' in report, report
    assert "Connection refused" in report

    page = staff.get("/admin/auth/user/")  # the session itself lives in the database
    assert page.status == 503, page.text[:500]
    note("PostgreSQL down: a logged-in page answers the 503 page", page.seconds)
    assert FRIENDLY in page.text
    assert page.header("Retry-After") == "30"
    assert page.header("X-Request-ID") in page.text  # quotable when someone reports it

    login = web.browser().post_form(
        "/admin/login/", {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    )
    assert login.status == 503
    assert FRIENDLY in login.text

    postgres.start()

    with timed("PostgreSQL back: until /readyz is 200 again"):
        wait_until(lambda: ready(staff), 30, "/readyz to recover after PostgreSQL is back")
    assert staff.get("/admin/auth/user/").status == 200  # the same session works again
    fresh = web.browser()
    fresh.log_in(ADMIN_USER, ADMIN_PASSWORD)
    assert fresh.get("/admin/").status == 200
    # Recovered in place: the same master and the same workers, none restarted.
    assert web.process.alive()
    assert web.worker_pids() == workers_before, web.output()[-3000:]
