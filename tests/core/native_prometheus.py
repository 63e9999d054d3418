"""A real Prometheus (Debian's package) on 127.0.0.1 for the System health page's tests.

It scrapes a small exporter in this process whose admin2 counters grow at each scrape, and
evaluates the shipped rules (Watchdog always fires); ``closed_url`` is where none answers.
"""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from harness.processes import REPO, ManagedProcess, free_port, wait_until

RULES = REPO / "containers" / "prometheus" / "rules"


class Exporter(BaseHTTPRequestHandler):
    scrapes = 0

    def do_GET(self):
        type(self).scrapes += 1
        n = type(self).scrapes
        index = 'view="admin:index",method="GET"'
        body = (
            f'admin2_http_requests_total{{{index},status="200"}} {n * 20}\n'
            f'admin2_http_requests_total{{{index},status="500"}} {n}\n'
            f'admin2_http_request_duration_seconds_bucket{{{index},le="0.1"}} {n * 15}\n'
            f'admin2_http_request_duration_seconds_bucket{{{index},le="+Inf"}} {n * 21}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class NativePrometheus:
    def __init__(self, workdir: Path):
        binary = shutil.which("prometheus") or pytest.fail(
            "prometheus is not installed (scripts/ensure-system-deps installs it)"
        )
        self.exporter = ThreadingHTTPServer(("127.0.0.1", free_port()), Exporter)
        threading.Thread(target=self.exporter.serve_forever, daemon=True).start()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{RULES}/*.yml']\n"
            "scrape_configs:\n"
            "  - job_name: admin2-web\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{self.exporter.server_port}']}}]\n"
            "  - job_name: admin2-celery\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{free_port()}']}}]\n"  # nobody: down
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            log=workdir / "prometheus.log",
        )  # fmt: skip
        wait_until(self._has_data, 60, "Prometheus to scrape and fire Watchdog", interval=0.5)

    def _has_data(self) -> bool:
        try:
            alerts = requests.get(f"{self.url}/api/v1/alerts", timeout=2).json()
            up = requests.get(f"{self.url}/api/v1/query", params={"query": "up"}, timeout=2)
        except requests.RequestException:
            return False
        firing = [a for a in alerts["data"]["alerts"] if a["state"] == "firing"]
        if not (firing and len(up.json()["data"]["result"]) == 2):
            return False
        # A rate needs two samples that Prometheus has stored, not two the exporter served: at
        # load 6 a page drawn after the third scrape once found no rate to draw.
        rate = requests.get(
            f"{self.url}/api/v1/query",
            timeout=2,
            params={"query": "sum(rate(admin2_http_requests_total[5m]))"},
        )
        return bool(rate.json()["data"]["result"])

    def stop(self) -> None:
        self.process.stop()
        self.exporter.shutdown()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    started = NativePrometheus(tmp_path_factory.mktemp("prometheus"))
    try:
        yield started
    finally:
        started.stop()


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"
