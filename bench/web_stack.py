"""Benchmark ``web_stack``: the production Nginx in front of Gunicorn and Django, with wrk.

Nginx rendered from the production template as the container renders it (TLS on), Gunicorn
with ``containers/gunicorn.conf.py`` and production settings on PostgreSQL with 1,000 users.
Targets: a static file, ``/healthz`` and the user changelist, through Nginx and straight.
"""

from __future__ import annotations

import json
import os
import runpy
import socket
import subprocess
from pathlib import Path

from bench.common import REPO, markdown_table, publish
from bench.loadgen import wrk
from bench.production_app import gunicorn, production_app
from harness.native import nginx_tree, self_signed_certificate, world_readable_dir
from harness.nginx import Nginx

CONFIG = REPO / "containers" / "gunicorn.conf.py"
SECONDS = 10
# The changelist as staff see it: the first page (100 rows) of 1,000 users, sorted, counted.
CHANGELIST = "/admin/auth/user/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def warm_up(url: str, headers: list[str], connections: int) -> None:
    argv = ["wrk", "-t2", f"-c{connections}", "-d2s", "--timeout=10s"]
    for header in headers:
        argv += ["-H", header]
    subprocess.run([*argv, url], capture_output=True, check=True)


def main() -> None:
    publish_static = runpy.run_path(str(REPO / "containers" / "release.py"))["publish_static"]
    runs = []
    load = os.getloadavg()[0]
    with production_app(users=1000) as (env, session), world_readable_dir("admin2-bench-") as root:
        static = Path(env["DJANGO_STATIC_ROOT"])
        manifest = json.loads((static / "staticfiles.json").read_text())["paths"]
        hashed = manifest["admin/css/base.css"]
        volume = root / "static"
        publish_static(static, volume)
        (root / "media").mkdir()
        certs = root / "certs"
        self_signed_certificate(certs, "fullchain.pem", "privkey.pem")

        web, http, https = free_port(), free_port(), free_port()
        env = {**env, "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "1"}
        main_config = nginx_tree(
            "production", root / "nginx", web_port=web,
            volumes={"static": volume, "media": root / "media", "certs": certs},
            env={"PORT_NGINX": str(http), "NGINX_TLS_PORT": str(https), "NGINX_TLS": "on",
                 "NGINX_TLS_CERT": "fullchain.pem", "NGINX_TLS_KEY": "privkey.pem"},
        )  # fmt: skip
        (root / "run").mkdir()
        nginx = Nginx(root / "run", main_config)
        nginx.start(http, https)
        try:
            with gunicorn("admin2.wsgi:application", web, env, CONFIG):
                through = f"https://127.0.0.1:{https}"
                direct = f"http://127.0.0.1:{web}"
                proto = "X-Forwarded-Proto: https"  # what Nginx adds; production needs it
                cookie = f"Cookie: sessionid={session}"
                # The changelist gets as many connections as Gunicorn has workers: more would
                # only wait in its listen backlog and add queueing to every latency.
                targets = [
                    ("static file, Nginx only", f"{through}/static/{hashed}", [], 16),
                    ("/healthz through Nginx", f"{through}/healthz", [], 16),
                    ("/healthz straight to Gunicorn", f"{direct}/healthz", [proto], 16),
                    ("changelist through Nginx", f"{through}{CHANGELIST}", [cookie], 2),
                    ("changelist straight to Gunicorn", f"{direct}{CHANGELIST}",
                     [proto, cookie], 2),
                ]  # fmt: skip
                for target, url, headers, connections in targets:
                    # Unmeasured warm-up: templates compiled, connections open, caches full in
                    # every worker, so the order of the targets does not favour the later ones.
                    warm_up(url, headers, connections)
                    result = wrk(url, seconds=SECONDS, headers=headers, connections=connections)
                    runs.append({"target": target, "connections": connections, **result})
        finally:
            nginx.stop()

    by = {r["target"]: r for r in runs}
    ceiling = by["static file, Nginx only"]["rps"]
    rows = [
        [r["target"], r["rps"], r["p50_ms"], r["p99_ms"], f"{r['rps'] / ceiling:.3f}",
         r["non_2xx"]]
        for r in runs
    ]  # fmt: skip
    table = markdown_table(
        ["target", "req/s", "p50 ms", "p99 ms", "ratio to static", "non-2xx"], rows
    )
    healthz_nginx = by["/healthz through Nginx"]["rps"]
    healthz_direct = by["/healthz straight to Gunicorn"]["rps"]
    ratio = healthz_nginx / healthz_direct
    if abs(1 - ratio) < 0.15:
        hop = (
            f"is within this shared machine's run-to-run noise: /healthz, an endpoint that does "
            f"nothing, answers {healthz_nginx:,.0f} req/s through Nginx and {healthz_direct:,.0f} "
            f"straight ({ratio:.2f}x)"
        )
    else:
        cost = 1000 / healthz_nginx - 1000 / healthz_direct
        hop = (
            f"costs about {cost:.2f} ms of CPU per request (1/throughput through Nginx minus "
            f"straight): /healthz goes from {healthz_direct:,.0f} to {healthz_nginx:,.0f} req/s "
            f"({ratio:.2f}x)"
        )
    page, straight = by["changelist through Nginx"], by["changelist straight to Gunicorn"]
    notes = (
        f"wrk with 2 threads for {SECONDS} s per target (16 connections, 2 for the changelist: "
        "one per Gunicorn worker), after a 2 s unmeasured warm-up, on the same 2 cores as Nginx "
        "(2 workers, TLS on with keep-alive, JSON access log), Gunicorn (2 workers, "
        "`GUNICORN_THREADS=1`, preloaded) and PostgreSQL; load average at start "
        f"{load:.1f}. Where the time goes: Nginx alone serves a static file at "
        f"{ceiling:,.0f} req/s, the ceiling, so static files cost next to nothing. The Nginx "
        "hop (TLS, proxying, a second access-log line, a new upstream connection per request "
        f"since sync workers close theirs) {hop}. Its p99 is the proxy, Gunicorn and wrk "
        "competing for two cores. The changelist "
        f"({page['rps']:,.0f} req/s through Nginx, {straight['rps']:,.0f} straight, "
        f"p50 {page['p50_ms']:.0f} ms) is Django itself: session, permission and count queries "
        f"and 100 rendered rows, {healthz_nginx / page['rps']:.0f} times slower than /healthz "
        "through the same path, so that is where a faster admin would be found, not in the "
        "proxy. With this much noise (other work shares the two cores) compare ratios within "
        "one table, never absolute figures across runs."
    )
    publish("web_stack", runs, table, notes)


if __name__ == "__main__":
    main()
