"""Benchmark ``web``: Gunicorn with the production configuration, measured with wrk.

Targets: the ceiling (a do-nothing WSGI app under the same Gunicorn), ``/healthz`` and the admin
user changelist with 1,000 users, logged in. One run each, the same connections and duration.
"""

from __future__ import annotations

import socket

from bench.common import REPO, markdown_table, publish
from bench.loadgen import wrk
from bench.production_app import gunicorn, production_app

CONFIG = REPO / "containers" / "gunicorn.conf.py"
SECONDS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    runs = []
    https = "X-Forwarded-Proto: https"  # as Nginx sends it; production redirects plain HTTP
    with production_app(users=1000) as (env, session):
        port = free_port()
        env = {**env, "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "1"}
        with gunicorn("bench.ceiling_wsgi:application", port, env, CONFIG):
            runs.append(
                {
                    "target": "ceiling (bare WSGI)",
                    **wrk(f"http://127.0.0.1:{port}/x", seconds=SECONDS),
                }
            )
        with gunicorn("admin2.wsgi:application", port, env, CONFIG):
            base = f"http://127.0.0.1:{port}"
            runs.append(
                {"target": "/healthz", **wrk(f"{base}/healthz", seconds=SECONDS, headers=[https])}
            )
            changelist = wrk(
                f"{base}/admin/auth/user/?all=",
                seconds=SECONDS,
                connections=4,  # a heavy page: 16 would only queue behind 2 workers
                headers=[https, f"Cookie: sessionid={session}"],
            )
            runs.append({"target": "admin changelist (1,000 users)", **changelist})
    ceiling = runs[0]["rps"]
    rows = [
        [r["target"], r["rps"], r["p50_ms"], r["p99_ms"], f"{r['rps'] / ceiling:.3f}", r["non_2xx"]]
        for r in runs
    ]
    table = markdown_table(
        ["target", "req/s", "p50 ms", "p99 ms", "ratio to ceiling", "non-2xx"], rows
    )
    notes = (
        "2 Gunicorn workers (`containers/gunicorn.conf.py`, `GUNICORN_WORKERS=2`), wrk with "
        f"2 threads and 16 connections (4 for the changelist) for {SECONDS} s per target on the "
        "same 2 cores. "
        "The changelist renders all 1,000 users on one page (`?all=`) under the production "
        "settings (PostgreSQL, Redis cache)."
    )
    publish("web", runs, table, notes)


if __name__ == "__main__":
    main()
