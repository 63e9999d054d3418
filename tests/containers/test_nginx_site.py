"""The Nginx sites, rendered as the container renders them and run by Debian's nginx.

Configuration checks, static and media, proxy headers, the login rate limit, error pages, the
TLS switch and the JSON access log, in front of an echo server (upstream.py) that shows every
header Nginx sends. test_production_stack.py runs the same site in front of Django.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from harness import compose
from harness.native import (
    nginx_tree,
    self_signed_certificate,
    start_nginx,
    world_readable_dir,
)
from harness.nginx import Nginx
from harness.processes import free_port, wait_until
from tests.containers.upstream import EchoUpstream

HASHED_CSS = "admin2/site.0123456789ab.css"
CSS = ("body { color: #333; }\n" * 200).encode()  # large enough to be compressed


@dataclass
class Site:
    url: str
    https_url: str | None
    root: Path
    upstream: EchoUpstream
    nginx: Nginx
    cert: Path | None

    def access_log(self, *uris: str) -> list[dict]:
        """The access log once it has a line for each of ``uris`` (Nginx writes the line
        after the response has gone out, so a client can be faster than the log)."""
        path = self.root / "tree" / "var" / "log" / "nginx" / "access.log"

        def entries():
            lines = [json.loads(line) for line in path.read_text().splitlines()]
            return lines if set(uris) <= {entry["uri"] for entry in lines} else None

        return wait_until(entries, 5, f"access log lines for {uris}")


def _layout(root: Path) -> dict[str, Path]:
    volumes = {name: root / "volumes" / name for name in ("static", "media", "certs")}
    for directory in volumes.values():
        directory.mkdir(parents=True)
    (volumes["static"] / "admin2").mkdir()
    (volumes["static"] / HASHED_CSS).write_bytes(CSS)
    (volumes["static"] / "admin2" / "site.css").write_bytes(CSS)
    (volumes["media"] / "uploads").mkdir()
    (volumes["media"] / "uploads" / "photo.txt").write_text("an upload\n")
    (volumes["media"] / "exports").mkdir()
    (volumes["media"] / "exports" / "1-report.csv").write_text("private,data\n")
    (volumes["media"] / ".secret").write_text("hidden\n")
    return volumes


@pytest.fixture
def site(request):
    stack, tls = request.param
    with world_readable_dir("admin2-nginx-") as root, EchoUpstream() as upstream:
        volumes = _layout(root)
        port, tls_port = free_port(), free_port()
        env = {"PORT_NGINX": str(port), "NGINX_TLS_PORT": str(tls_port), "NGINX_TLS": tls}
        cert = None
        if tls == "on":
            nginx_env = compose.resolved(stack)["services"]["nginx"]["environment"]
            self_signed_certificate(
                volumes["certs"], nginx_env["NGINX_TLS_CERT"], nginx_env["NGINX_TLS_KEY"]
            )
            cert = volumes["certs"] / nginx_env["NGINX_TLS_CERT"]
        main = nginx_tree(stack, root / "tree", web_port=upstream.port, volumes=volumes, env=env)
        (root / "run").mkdir()
        ports = (port, tls_port) if tls == "on" else (port,)
        nginx = start_nginx(root / "run", main, *ports)
        try:
            yield Site(
                url=f"http://127.0.0.1:{port}",
                https_url=f"https://127.0.0.1:{tls_port}" if tls == "on" else None,
                root=root,
                upstream=upstream,
                nginx=nginx,
                cert=cert,
            )
        finally:
            nginx.stop()


PRODUCTION = pytest.mark.parametrize("site", [("production", "off")], indirect=True)
STAGING = pytest.mark.parametrize("site", [("staging", "off")], indirect=True)
PRODUCTION_TLS = pytest.mark.parametrize("site", [("production", "on")], indirect=True)
EVERY_SITE = pytest.mark.parametrize(
    "site", [("production", "off"), ("production", "on"), ("staging", "off")], indirect=True
)


@EVERY_SITE
def test_rendered_site_passes_nginx_t_and_answers_its_health_check(site):
    assert site.nginx.test().returncode == 0, site.nginx.errors()
    response = requests.get(f"{site.url}/nginx-health", timeout=5, allow_redirects=False)
    assert (response.status_code, response.text) == (200, "ok\n")
    assert site.upstream.seen == []


@pytest.mark.parametrize("tls", ["yes", ""])
def test_an_unknown_tls_switch_fails_the_configuration_check(tls, tmp_path):
    with world_readable_dir("admin2-nginx-") as root:
        volumes = _layout(root)
        main = nginx_tree(
            "production", root / "tree", web_port=free_port(), volumes=volumes,
            env={"NGINX_TLS": tls, "PORT_NGINX": str(free_port())},
        )  # fmt: skip
        (root / "run").mkdir()
        checked = Nginx(root / "run", main).test()
        assert checked.returncode != 0
        assert f"http-tls-{tls}.conf" in checked.stderr


@PRODUCTION
def test_hashed_static_file_is_cached_for_a_year_and_gzipped(site):
    response = requests.get(
        f"{site.url}/static/{HASHED_CSS}", headers={"Accept-Encoding": "gzip"}, timeout=5
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.content == CSS  # requests decompressed it
    assert site.upstream.seen == []


@PRODUCTION
def test_unhashed_static_file_is_revalidated_and_a_missing_one_is_404_from_nginx(site):
    unhashed = requests.get(f"{site.url}/static/admin2/site.css", timeout=5)
    assert unhashed.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    missing = requests.get(f"{site.url}/static/admin2/missing.css", timeout=5)
    assert missing.status_code == 404
    assert site.upstream.seen == []


@STAGING
def test_staging_static_file_not_collected_yet_comes_from_the_dev_server(site):
    collected = requests.get(f"{site.url}/static/{HASHED_CSS}", timeout=5)
    assert collected.headers["Cache-Control"] == "no-cache"
    fresh = requests.get(f"{site.url}/static/admin2/new.css", timeout=5)
    assert fresh.status_code == 200
    assert site.upstream.seen[-1]["path"] == "/static/admin2/new.css"


@EVERY_SITE
def test_media_is_served_as_inert_data_but_exports_and_dotfiles_never(site):
    base = site.https_url or site.url
    upload = requests.get(f"{base}/media/uploads/photo.txt", timeout=5, verify=site.cert)
    assert upload.status_code == 200
    assert upload.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    for private in ("/media/exports/1-report.csv", "/media/.secret", "/media/reports/x.pdf"):
        response = requests.get(f"{base}{private}", timeout=5, verify=site.cert)
        assert response.status_code == 404, private
    assert site.upstream.seen == []


@PRODUCTION
def test_proxy_replaces_client_forwarding_headers_and_adds_a_request_id(site):
    response = requests.get(
        f"{site.url}/admin/?q=1",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9",
                 "X-Forwarded-Proto": "https", "X-Request-ID": "forged-request-id"},
        timeout=5,
    )  # fmt: skip
    assert response.status_code == 200
    seen = response.json()
    headers = seen["headers"]
    assert seen["path"] == "/admin/?q=1"
    assert headers["Host"] == site.url.removeprefix("http://")
    assert headers["X-Forwarded-For"] == headers["X-Real-IP"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])
    (logged,) = [e for e in site.access_log("/admin/?q=1") if e["uri"] == "/admin/?q=1"]
    assert logged["request_id"] == headers["X-Request-ID"]
    assert logged["status"] == 200
    assert logged["upstream_addr"] == f"127.0.0.1:{site.upstream.port}"


@PRODUCTION
def test_login_posts_are_rate_limited_per_client_but_the_form_is_not(site):
    login = f"{site.url}/admin/login/"
    for _ in range(12):
        assert requests.get(login, timeout=5).status_code == 200
    statuses = [requests.post(login, data={"u": "x"}, timeout=5).status_code for _ in range(10)]
    # 10 per minute with a burst of 5: the first six pass at once, then Nginx refuses (one
    # more may pass if the machine is so slow that six seconds went by: the rate refills).
    assert statuses[:6] == [200] * 6
    assert statuses[6:].count(429) >= 3, statuses
    refused = requests.post(login, data={"u": "x"}, timeout=5)
    assert "Too many login attempts" in refused.text
    assert requests.post(f"{site.url}/admin/other/", timeout=5).status_code == 200


@PRODUCTION
def test_web_down_gives_the_friendly_502_page(site):
    site.upstream.server.shutdown()
    site.upstream.server.server_close()
    response = requests.get(f"{site.url}/admin/", timeout=15)
    assert response.status_code == 502
    assert "admin2 is unavailable right now" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


@PRODUCTION_TLS
def test_tls_on_redirects_http_and_proxies_https_with_the_scheme(site):
    redirect = requests.get(f"{site.url}/admin/?x=1", timeout=5, allow_redirects=False)
    assert redirect.status_code == 308
    assert redirect.headers["Location"] == f"{site.https_url}/admin/?x=1"
    response = requests.get(f"{site.https_url}/admin/", timeout=5, verify=site.cert)
    assert response.status_code == 200
    assert response.json()["headers"]["X-Forwarded-Proto"] == "https"
    assert response.raw.version == 11


@PRODUCTION
def test_json_access_log_has_one_object_per_request(site):
    requests.get(f"{site.url}/static/{HASHED_CSS}", timeout=5)
    requests.get(f"{site.url}/admin/", headers={"User-Agent": 'quote " and \\ slash'}, timeout=5)
    entries = site.access_log(f"/static/{HASHED_CSS}", "/admin/")
    assert any(e["user_agent"] == 'quote " and \\ slash' for e in entries)
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["request_id"]) for e in entries)
