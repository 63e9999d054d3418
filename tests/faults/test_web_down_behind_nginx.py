"""The web service dies behind the production Nginx, then comes back on the same address."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.faults.edge import production_edge
from tests.faults.measured import note, timed
from tests.faults.stack import WebServer
from tests.support.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ERROR_PAGE = Path(__file__).resolve().parents[2] / "containers" / "nginx" / "errors" / "50x.html"


def test_nginx_answers_its_502_page_while_the_web_is_down_and_recovers(web, tmp_path):
    with production_edge(web.port, tmp_path / "static") as edge:

        def get(path):
            return requests.get(edge.url + path, verify=edge.certificate, timeout=10)

        up = get("/admin/login/")
        assert up.status_code == 200, up.text[:500]
        assert "csrfmiddlewaretoken" in up.text
        assert get("/static/admin/css/base.css").status_code == 200  # straight from the volume
        nginx_pid = edge.nginx.process.pid

        web.stop()

        for path in ("/admin/login/", "/admin/", "/readyz"):
            down = get(path)
            assert down.status_code == 502, (path, down.status_code)
            note(f"web down: Nginx answers 502 for {path}", down.elapsed.total_seconds())
            assert down.text == ERROR_PAGE.read_text()  # the production page, not Nginx's own
            assert down.headers["Retry-After"] == "30"
            assert down.headers["Cache-Control"] == "no-store"
            assert down.headers["Content-Type"].startswith("text/html")
        # Static files do not need the web service at all.
        assert get("/static/admin/css/base.css").status_code == 200

        back = WebServer(web.workdir, web.env, port=web.port)
        try:
            with timed("web back: Gunicorn start until the login page is 200 through Nginx"):
                back.start()
                wait_until(lambda: get("/admin/login/").status_code == 200, 30, "the site")
            assert get("/healthz").text == "ok\n"
            assert edge.nginx.process.pid == nginx_pid and edge.nginx.process.alive()
        finally:
            back.stop()
