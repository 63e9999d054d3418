"""Benchmark ``web``: admin2's admin pages against a stock Django admin doing the same work.

The stock side is a ``startproject`` project generated at run time, on the same Django,
PostgreSQL server, users and Gunicorn configuration. wrk measures each page in short runs
alternating between the sides; the method: docs/benchmarks.md, "web".
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil

from bench.common import REPO, markdown_table, publish
from bench.loadgen import wrk
from bench.production_app import BIN, SEED_USERS, production_app, psql

CONFIG = REPO / "containers" / "gunicorn.conf.py"
USERS = 1000
# Runs per side and page, alternating (stock, admin2, stock, ...): each run's ratio to the runs
# beside it cancels the load other work puts on this shared machine meanwhile.
SLICES = 15
SECONDS = 2
WARM_UP = 2
CONNECTIONS = 2
OFF = "admin2 metrics off"
PROTO = "X-Forwarded-Proto: https"  # as Nginx sends it; production redirects plain HTTP
# Both sides: one sync worker (as the issue measured), no recycling in the middle of a run.
GUNICORN = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "1", "GUNICORN_MAX_REQUESTS": "0"}
PAGES = [
    # (name, path; {pk}: the edited user, check: what a correct page contains)
    ("admin index", "/admin/", b'id="content-main"'),
    ("user change form", "/admin/auth/user/{pk}/change/", b'name="username"'),
    ("user changelist, 100 rows", "/admin/auth/user/", b'class="action-select"'),
]

# Appended to the generated settings.py. Only what it takes to run beside admin2: the database
# (with the connection reuse admin2 has, so both sides pay the same per-request DB costs), the
# host names and a real secret. Everything else is what `startproject` wrote.
STOCK_SETTINGS = """
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECRET_KEY = "__SECRET__"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "__DATABASE__",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
"""

USER_PK = """
from django.contrib.auth import get_user_model
print("PK=%d" % get_user_model().objects.get(username="user0001").pk)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _printed(argv: list[str], env: dict, cwd: Path, key: str) -> str:
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{argv[0]} failed:\n{out.stderr[-3000:]}")
    return next(line.split("=", 1)[1] for line in out.stdout.splitlines() if line.startswith(key))


@contextmanager
def stock_project(users: int):
    """Yield (env, cwd, session, user pk) of a migrated stock admin with ``users`` users."""
    database = f"admin2_bench_stock_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database}")
    with tempfile.TemporaryDirectory(prefix="admin2-bench-stock-") as tmp:
        root = Path(tmp)
        subprocess.run([str(BIN / "django-admin"), "startproject", "stockadmin", tmp], check=True)
        settings = root / "stockadmin" / "settings.py"
        extra = STOCK_SETTINGS.replace("__DATABASE__", database)
        extra = extra.replace("__SECRET__", secrets.token_hex(32))
        settings.write_text(settings.read_text() + extra)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(DJANGO_SETTINGS_MODULE="stockadmin.settings", PYTHONPATH=tmp)
        manage = [str(BIN / "python"), "manage.py"]
        try:
            subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=root, check=True)
            seed = SEED_USERS.replace("__USERS__", str(users - 1))
            session = _printed([*manage, "shell", "-c", seed], env, root, "SESSION=")
            pk = _printed([*manage, "shell", "-c", USER_PK], env, root, "PK=")
            yield env, root, session, pk
        finally:
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _get(url: str, session: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    if session:
        request.add_header("Cookie", f"sessionid={session}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@contextmanager
def serve(app: str, env: dict, cwd: Path):
    """Gunicorn with the production configuration, ready once its login page answers."""
    port = free_port()
    argv = [str(BIN / "gunicorn"), "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}", app]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, env={**env, **GUNICORN}, cwd=cwd, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _get(f"http://127.0.0.1:{port}/admin/login/", "")[0] == 200:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"gunicorn did not start:\n{log.read().decode()[-3000:]}")
                time.sleep(0.2)
            (worker,) = psutil.Process(proc.pid).children()  # the one sync worker
            yield f"http://127.0.0.1:{port}", worker
        finally:
            proc.terminate()
            proc.wait(30)


def check_page(url: str, session: str, marker: bytes) -> None:
    """wrk counts a redirect as success: make sure each page really renders, logged in."""
    status, body = _get(url, session)
    if status != 200 or marker not in body:
        raise SystemExit(f"{url} answered {status} without {marker!r}: not the page to measure")
    if marker == b'class="action-select"' and body.count(marker) != 100:
        raise SystemExit(f"{url} lists {body.count(marker)} rows, not 100")


def measure(url: str, session: str, seconds: int, worker: psutil.Process) -> dict:
    """wrk's figures, and the CPU time the worker spent per request meanwhile: unlike req/s,
    that does not depend on how much of the CPU other work left to the worker."""
    headers = [PROTO, f"Cookie: sessionid={session}"]
    before = worker.cpu_times()
    result = wrk(url, seconds=seconds, connections=CONNECTIONS, headers=headers)
    after = worker.cpu_times()
    cpu = after.user + after.system - before.user - before.system
    if not result["requests"]:
        raise SystemExit(f"{url}: no request completed in {seconds} s; the machine is too busy")
    return {**result, "worker_cpu_ms_per_request": round(cpu * 1000 / result["requests"], 2)}


def neighbour_ratios(runs: list[dict], base: str = "stock", other: str = "admin2") -> list[float]:
    """other/base for each two of their runs side by side in time (the sides take turns)."""
    ratios = []
    turns = [run for run in runs if run["app"] in (base, other)]
    for before, after in itertools.pairwise(turns):
        low, high = (before, after) if before["app"] == base else (after, before)
        ratios.append(high["rps"] / low["rps"])
    return ratios


def main() -> None:
    load = os.getloadavg()[0]
    runs = []
    with (
        production_app(users=USERS) as (admin2_env, admin2_session),
        stock_project(USERS) as (stock_env, stock_dir, stock_session, stock_pk),
    ):
        admin2_pk = _printed([str(BIN / "admin2"), "shell", "-c", USER_PK], admin2_env, REPO, "PK=")
        with (
            serve("stockadmin.wsgi:application", stock_env, stock_dir) as (stock, stock_worker),
            serve("admin2.wsgi:application", admin2_env, REPO) as (admin2, admin2_worker),
            # The same admin2 without the metrics middleware: what metrics cost (issue 21).
            serve(
                "admin2.wsgi:application", {**admin2_env, "ADMIN2_METRICS_ENABLED": "false"}, REPO
            ) as (bare, bare_worker),
        ):
            sides = [("stock", stock, stock_session, stock_pk, stock_worker),
                     ("admin2", admin2, admin2_session, admin2_pk, admin2_worker),
                     (OFF, bare, admin2_session, admin2_pk, bare_worker)]  # fmt: skip
            for _, path, marker in PAGES:
                for _, base, session, pk, _ in sides:
                    check_page(base + path.format(pk=pk), session, marker)
            for page, path, _ in PAGES:
                for _, base, session, pk, worker in sides:  # templates compiled, connections
                    measure(base + path.format(pk=pk), session, WARM_UP, worker)
                for slice_ in range(1, SLICES + 1):
                    for app, base, session, pk, worker in sides:
                        result = measure(base + path.format(pk=pk), session, SECONDS, worker)
                        runs.append({"page": page, "app": app, "slice": slice_, **result})
                    print(f"{page}, run {slice_}: stock {runs[-3]['rps']}, "
                          f"admin2 {runs[-2]['rps']}, metrics off {runs[-1]['rps']} req/s",
                          flush=True)  # fmt: skip

    rows = []
    for page, _, _ in PAGES:
        measured = [r for r in runs if r["page"] == page]
        ratios = neighbour_ratios(measured)
        quartiles = statistics.quantiles(ratios, n=4)
        metrics = neighbour_ratios(measured, OFF, "admin2")
        metrics_quartiles = statistics.quantiles(metrics, n=4)
        median = statistics.median
        cpu = {app: median(r["worker_cpu_ms_per_request"] for r in measured if r["app"] == app)
               for app in ("stock", "admin2")}  # fmt: skip
        rows.append([
            page,
            f"{median(r['rps'] for r in measured if r['app'] == 'stock'):.1f}",
            f"{median(r['rps'] for r in measured if r['app'] == 'admin2'):.1f}",
            f"**{median(ratios):.2f}**", f"{quartiles[0]:.2f} to {quartiles[2]:.2f}",
            f"{cpu['stock']:.1f}", f"{cpu['admin2']:.1f}", f"{cpu['stock'] / cpu['admin2']:.2f}",
            f"{median(r['rps'] for r in measured if r['app'] == OFF):.1f}",
            f"**{median(metrics):.3f}**",
            f"{metrics_quartiles[0]:.2f} to {metrics_quartiles[2]:.2f}",
            sum(r["non_2xx"] for r in measured),
        ])  # fmt: skip
        runs.append({"page": page, "app": "admin2 / stock", "ratio": round(median(ratios), 3),
                     "ratio_quartiles": [round(q, 3) for q in quartiles],
                     "cpu_ratio": round(cpu["stock"] / cpu["admin2"], 3)})  # fmt: skip
        runs.append({"page": page, "app": "metrics on / off", "ratio": round(median(metrics), 3),
                     "ratio_quartiles": [round(q, 3) for q in metrics_quartiles]})  # fmt: skip
    table = markdown_table(
        ["page", "stock req/s", "admin2 req/s", "admin2 / stock", "middle half",
         "stock CPU ms/req", "admin2 CPU ms/req", "stock / admin2 CPU",
         "admin2 metrics off req/s", "metrics on / off", "its middle half", "non-2xx"],
        rows,
    )  # fmt: skip
    notes = (
        f"Each page: {SLICES} runs of {SECONDS} s per side, taking turns (stock, admin2, admin2 "
        "with ADMIN2_METRICS_ENABLED=false), "
        f"after a {WARM_UP} s unmeasured warm-up of each; req/s are the medians of the runs, "
        "admin2 / stock the median of the ratios of each two neighbouring runs (the middle "
        "half of those ratios beside it). CPU ms/req: the Gunicorn worker's CPU time during "
        "the runs over the requests it answered (medians), the cost of a page whatever share "
        "of the CPU the machine left; its ratio reads like req/s (higher is better for admin2). "
        "metrics on / off: the same, for admin2 with and without its metrics middleware "
        "(issue 21's budget: at least 0.97). "
        "wrk: 2 threads, "
        f"{CONNECTIONS} connections. Gunicorn with `containers/gunicorn.conf.py`, 1 sync "
        "worker, recycling off, on both sides. Stock: a `django-admin startproject` project "
        "generated at run time, only its database (PostgreSQL, `CONN_MAX_AGE=60` with health "
        "checks as admin2), host names, secret and `DEBUG=False` changed. admin2: the "
        "production settings, Redis cache. Both on the same PostgreSQL server (a database "
        f"each) with the same {USERS:,} users, logged in as the same superuser; the change form "
        "edits `user0001`, the changelist is the first page (100 rows, counted). Load "
        f"average at start {load:.1f} on this shared 2-core machine: read the ratios, not the "
        "absolute figures."
    )
    publish("web", runs, table, notes)


if __name__ == "__main__":
    main()
