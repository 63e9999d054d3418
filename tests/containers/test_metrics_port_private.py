"""/metrics stays inside the container networks: no Compose file publishes its port, and the
Nginx sites proxy only to the web's application port."""

from __future__ import annotations

import re

import pytest

from harness import compose
from harness.processes import REPO

METRICS_PORT = 9100  # ADMIN2_METRICS_PORT's default


@pytest.mark.parametrize("stack", compose.STACKS)
def test_no_service_publishes_the_metrics_port(stack):
    services = compose.resolved(stack)["services"]
    published = {
        (name, int(port["target"]))
        for name, service in services.items()
        for port in service.get("ports", [])
    }
    assert published, "no published port found: the check would pass vacuously"
    assert [entry for entry in published if entry[1] == METRICS_PORT] == []
    for name in ("web", "celery"):
        assert services[name].get("ports", []) == [], f"{name} publishes a port"


def test_nginx_proxies_to_the_application_port_only():
    nginx = REPO / "containers" / "nginx"
    text = "\n".join(path.read_text() for path in nginx.rglob("*") if path.is_file() and
                     path.suffix in {".conf", ".template", ""})  # fmt: skip
    upstreams = set(re.findall(r"\bweb:([^\s;]+)", text))
    assert upstreams, "the Nginx configuration names no web upstream"
    assert all("PORT_WEB" in port for port in upstreams), upstreams
    assert "ADMIN2_METRICS_PORT" not in text and str(METRICS_PORT) not in text
