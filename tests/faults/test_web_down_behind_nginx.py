"""The web service dies behind the production Nginx, then comes back on the same address.

The outage is lived through once (the module fixture records what a browser saw); each test
checks one behaviour of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from harness.edge import production_edge
from harness.processes import wait_until
from tests.faults.measured import note, timed
from tests.faults.stack import WebServer, private_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ERROR_PAGE = Path(__file__).resolve().parents[2] / "containers" / "nginx" / "errors" / "50x.html"
STATIC = "/static/admin/css/base.css"
PAGES = ("/admin/login/", "/admin/", "/readyz")


@dataclass
class Outage:
    """What came back through Nginx before, during and after one web outage."""

    before: dict[str, requests.Response] = field(default_factory=dict)
    during: dict[str, requests.Response] = field(default_factory=dict)
    after: dict[str, requests.Response] = field(default_factory=dict)
    nginx_restarted: bool = True


@pytest.fixture(scope="module")
def outage(tmp_path_factory) -> Outage:
    tmp = tmp_path_factory.mktemp("web-outage")
    result = Outage()
    with private_stack(tmp) as (_, _, web), production_edge(web.port, tmp / "static") as edge:

        def get(path):
            return requests.get(edge.url + path, verify=edge.certificate, timeout=10)

        nginx_pid = edge.nginx.process.pid
        result.before = {path: get(path) for path in ("/admin/login/", STATIC)}

        web.stop()

        for path in (*PAGES, STATIC):
            result.during[path] = get(path)
            note(f"web down: Nginx answers for {path}", result.during[path].elapsed.total_seconds())

        back = WebServer(web.workdir, web.env, port=web.port)
        try:
            with timed("web back: Gunicorn start until the login page is 200 through Nginx"):
                back.start()
                wait_until(lambda: get("/admin/login/").status_code == 200, 30, "the site")
            result.after = {path: get(path) for path in ("/admin/login/", "/healthz")}
            result.nginx_restarted = not (
                edge.nginx.process.pid == nginx_pid and edge.nginx.process.alive()
            )
        finally:
            back.stop()
    return result


def test_the_site_is_served_through_nginx_before_the_fault(outage):
    login = outage.before["/admin/login/"]
    assert login.status_code == 200, login.text[:500]
    assert "csrfmiddlewaretoken" in login.text


@pytest.mark.parametrize("path", PAGES)
def test_nginx_answers_the_production_502_page_while_the_web_is_down(outage, path):
    down = outage.during[path]
    assert down.status_code == 502, down.status_code
    assert down.text == ERROR_PAGE.read_text()  # the production page, not Nginx's own
    assert down.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", PAGES)
def test_the_502_page_asks_clients_to_retry_later_and_not_to_cache_it(outage, path):
    down = outage.during[path]
    assert down.headers["Retry-After"] == "30"
    assert down.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("moment", ["before", "during"])
def test_static_files_are_served_from_the_volume_without_the_web(outage, moment):
    assert getattr(outage, moment)[STATIC].status_code == 200


def test_the_site_comes_back_on_the_same_address(outage):
    assert outage.after["/admin/login/"].status_code == 200
    assert outage.after["/healthz"].text == "ok\n"


def test_nginx_lives_through_the_outage_without_a_restart(outage):
    assert not outage.nginx_restarted
