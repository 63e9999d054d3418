"""Soak: minutes of mixed staff traffic through the production topology, run natively.

Counts every answer a browser should not get as an error and samples each process group's
memory; exits 1 on an error, a failed task or memory that is not flat. What runs, and why:
docs/reliability.md, "Soak". ``just bench soak`` runs 5 minutes at 20 requests/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run directly (python bench/soak.py) or through bench/run.py

import psutil  # noqa: E402
import requests  # noqa: E402

from bench.common import markdown_table, publish  # noqa: E402
from bench.production_app import BIN, gunicorn, production_app  # noqa: E402
from harness.edge import production_edge  # noqa: E402
from harness.redis import RedisServer  # noqa: E402

CONFIG = REPO / "containers" / "gunicorn.conf.py"
WORKER = ["celery", "-A", "admin2_tasks", "worker", "-P", "eventlet", "-c", "100"]
BEAT = ["celery", "-A", "admin2_tasks", "beat"]
EVENT_ROWS = 200_000
SAMPLE_SECONDS = 5
PROBE_SECONDS = 5  # /readyz, as a load balancer or a health check would
TASK_SECONDS = 5  # a task from the "Run now" page
CLIENT_THREADS = 16
# "Flat": the last minute's mean RSS within 15 % of the first minute's. Warm-up (caches,
# first pages) fits in that; a leak of 1 MB per analytics query (3 a second) would not.
FLAT_RATIO = 1.15
# Requests per second of each kind, as shares of --rate.
MIX = {
    "login form": 0.20,
    "user changelist": 0.12,
    "user change page": 0.05,
    "admin index": 0.08,
    "static file": 0.30,
    "saved query (chDB)": 0.15,
    "healthz": 0.10,
}
COUNTRIES = ["US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "NL", "ES"]

SETUP = """
from django.contrib.auth import get_user_model
from django.core.management import call_command
from admin2_analytics.models import SavedQuery
call_command("analytics_demo_data", rows={rows})
query = SavedQuery.objects.create(
    owner=get_user_model().objects.get(username="bench-admin"), name="Revenue by event type",
    sql=("SELECT event_type, count() AS events, sum(revenue) AS revenue FROM events "
         "WHERE event_time >= {{start:Date}} AND event_time < {{end:Date}} "
         "AND country = {{country:String}} GROUP BY event_type ORDER BY event_type"),
    parameter_defaults={{"start": "2025-01-01", "end": "2025-02-01", "country": "DE"}},
    shared=True, cache_ttl_seconds=60, chart_kind="bar", chart_x="event_type",
    chart_y=["revenue"],
)
print("QUERY", query.pk)
"""


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error:
                self.errors[kind].append(error)


class Site:
    """What one staff member's browser does; every check says what a wrong answer is."""

    def __init__(self, base: str, certificate: Path, session_key: str, query_id: int, users):
        self.base, self.query_id, self.users = base, query_id, users
        # Passed with every request: a session's own `verify` loses to REQUESTS_CA_BUNDLE.
        self.verify = str(certificate)
        self.staff = requests.Session()
        self.staff.cookies.set("sessionid", session_key)
        self.anonymous = requests.Session()
        self.rng = random.Random()

    def get(self, session, path: str, expect: int = 200, must_contain: str = "") -> str | None:
        response = session.get(
            self.base + path, timeout=30, allow_redirects=False, verify=self.verify
        )
        self.last_page = response.text
        if response.status_code != expect:
            return f"{path}: {response.status_code}"
        if must_contain and must_contain not in response.text:
            return f"{path}: no {must_contain!r} in the page"
        return None

    def run(self, kind: str) -> str | None:
        rng = self.rng
        if kind == "login form":
            return self.get(self.anonymous, "/admin/login/", must_contain="csrfmiddlewaretoken")
        if kind == "user changelist":
            query = rng.choice(["", "?p=3", "?q=user00", "?o=-1", "?is_staff__exact=0"])
            return self.get(self.staff, f"/admin/auth/user/{query}", must_contain="result_list")
        if kind == "user change page":
            user = rng.choice(self.users)
            return self.get(self.staff, f"/admin/auth/user/{user}/change/", must_contain="Save")
        if kind == "admin index":
            return self.get(self.staff, "/admin/", must_contain="Administration")
        if kind == "static file":
            return self.get(self.anonymous, "/static/admin/css/base.css")
        if kind == "healthz":
            return self.get(self.anonymous, "/healthz")
        if kind == "saved query (chDB)":
            day = rng.randrange(0, 60)
            start = f"2025-{1 + day // 30:02d}-{1 + day % 28:02d}"
            end = f"2025-{3 + rng.randrange(0, 2):02d}-01"
            path = (
                f"/admin/analytics/queries/{self.query_id}/?run=1&start={start}&end={end}"
                f"&country={rng.choice(COUNTRIES)}"
            )
            error = self.get(self.staff, path, must_contain='id="row-count"')
            if error is None and "analytics-error" in self.last_page:
                return f"{path}: the page reports an analytics error"
            return error
        if kind == "readyz":
            return self.get(self.anonymous, "/readyz", must_contain='"status": "ok"')
        if kind == "run a task":
            return self.submit_task()
        raise ValueError(kind)

    def submit_task(self) -> str | None:
        page = self.staff.get(self.base + "/admin/tasks/run/", timeout=30, verify=self.verify)
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[-1].split('"', 1)[0]
        response = self.staff.post(
            self.base + "/admin/tasks/run/",
            data={"csrfmiddlewaretoken": token, "key": "tasks: round trip"},
            headers={"Origin": self.base, "Referer": self.base + "/admin/tasks/run/"},
            timeout=30,
            allow_redirects=False,
            verify=self.verify,
        )
        location = response.headers.get("Location", "")
        if response.status_code != 302 or "/admin/tasks/taskrun/" not in location:
            return f"run a task: {response.status_code} -> {location or response.text[:200]}"
        return None


def drive(site_factory, rate: float, seconds: float, tally: Tally) -> float:
    """Issue requests at ``rate`` per second for ``seconds``; return the achieved rate."""
    tickets: queue.Queue = queue.Queue()
    stop = threading.Event()

    def client():
        site = site_factory()
        while True:
            kind = tickets.get()
            if kind is None:
                return
            started = time.perf_counter()
            try:
                error = site.run(kind)
            except requests.RequestException as exc:
                error = f"{kind}: {type(exc).__name__}: {exc}"
            tally.add(kind, time.perf_counter() - started, error)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    kinds, weights = list(MIX), list(MIX.values())
    rng = random.Random(1)
    started = time.monotonic()
    issued, next_probe, next_task = 0, started, started + 1
    while (now := time.monotonic()) - started < seconds and not stop.is_set():
        due = int((now - started) * rate)
        while issued < due:
            tickets.put(rng.choices(kinds, weights)[0])
            issued += 1
        if now >= next_probe:
            tickets.put("readyz")
            next_probe += PROBE_SECONDS
        if now >= next_task:
            tickets.put("run a task")
            next_task += TASK_SECONDS
        time.sleep(0.005)
    for _ in threads:
        tickets.put(None)
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    return sum(len(v) for v in tally.latencies.values()) / elapsed


class MemorySampler(threading.Thread):
    """Resident memory of each process group every few seconds."""

    def __init__(self, groups: dict[str, callable]):
        super().__init__(daemon=True)
        self.groups = groups
        self.samples: list[dict] = []
        self.started = time.monotonic()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0 if not self.samples else SAMPLE_SECONDS):
            sample = {"t": round(time.monotonic() - self.started, 1)}
            for name, processes in self.groups.items():
                total = 0
                for process in processes():
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += process.memory_info().rss
                sample[name] = round(total / 2**20, 1)
            self.samples.append(sample)

    def window(self, name: str, first: bool) -> float:
        end = self.samples[-1]["t"]
        chosen = [s[name] for s in self.samples if (s["t"] <= 60 if first else s["t"] >= end - 60)]
        return round(statistics.fmean(chosen), 1)


def children(pid: int):
    def listed():
        try:
            return psutil.Process(pid).children()
        except psutil.NoSuchProcess:
            return []

    return listed


def tree(pid: int):
    def listed():
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    return listed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def task_states(env: dict) -> dict[str, int]:
    import psycopg

    dsn = f"host=127.0.0.1 user=postgres dbname={env['POSTGRES_DB']}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT state, count(*) FROM tasks_taskrun WHERE name = 'admin2_tasks.round_trip' "
            "GROUP BY state"
        ).fetchall()
    return dict(rows)


def background(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / argv[0]), *argv[1:], "--loglevel", "WARNING"],
        env=env, cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def soak(minutes: float, rate: float, web_workers: int | None = None) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="admin2-soak-") as tmp,
        production_app(users=1000) as (env, session_key),
    ):
        redis = RedisServer(Path(tmp))
        redis.start()
        try:
            env = {
                **env,
                "REDIS_URL": redis.url(0),
                "CELERY_BROKER_URL": redis.url(1),
                "CELERY_RESULT_BACKEND": redis.url(1),
                "GUNICORN_MAX_REQUESTS": "0",  # no recycling: a leak must show
                "GUNICORN_ACCESS_LOG": "false",
            }
            # One by default: the soak's analytics run on the embedded engine (docs/containers.md).
            env["GUNICORN_WORKERS"] = str(web_workers or 1)
            setup = subprocess.run(
                [str(BIN / "admin2"), "shell", "-c", SETUP.format(rows=EVENT_ROWS)],
                env=env, cwd=REPO, capture_output=True, text=True, check=True,
            )  # fmt: skip
            query_id = int(setup.stdout.split("QUERY ")[1].split()[0])
            users = list(range(2, 1000))
            log = Path(tmp) / "services.log"
            worker = background(WORKER, env, log)
            beat = background(BEAT, env, log)
            port = _free_port()
            try:
                with (
                    gunicorn("admin2.wsgi:application", port, env, CONFIG) as web,
                    production_edge(port, Path(env["DJANGO_STATIC_ROOT"])) as edge,
                ):
                    return _measure(
                        minutes, rate, env, edge, session_key, query_id, users, web, worker
                    )
            finally:
                stop(beat)
                stop(worker)
        finally:
            redis.stop()


def _measure(minutes, rate, env, edge, session_key, query_id, users, web, worker) -> dict:
    def site():
        return Site(edge.url, edge.certificate, session_key, query_id, users)

    warm = site()
    for kind in [*MIX, "readyz", "run a task"]:  # first engine open, first task, caches
        error = warm.run(kind)
        if error and kind != "readyz":
            raise SystemExit(f"warm-up failed: {error}")
    deadline = time.monotonic() + 60
    while task_states(env).get("SUCCESS", 0) < 1 or warm.run("readyz"):
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker did not become ready: {task_states(env)}")
        time.sleep(1)
    before = task_states(env)

    sampler = MemorySampler(
        {
            "gunicorn workers": children(web.pid),
            "celery worker": tree(worker.pid),
            "nginx workers": children(edge.nginx.process.pid),
        }
    )
    sampler.start()
    load_before = os.getloadavg()[0]
    tally = Tally()
    achieved = drive(site, rate, minutes * 60, tally)
    load_after = os.getloadavg()[0]
    time.sleep(SAMPLE_SECONDS)
    sampler.stopping.set()
    sampler.join()

    deadline = time.monotonic() + 60
    while (states := task_states(env)).get("QUEUED") or states.get("STARTED"):
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    submitted = sum(len(v) for k, v in tally.latencies.items() if k == "run a task")
    succeeded = states.get("SUCCESS", 0) - before.get("SUCCESS", 0)
    kinds = {}
    for kind, latencies in sorted(tally.latencies.items()):
        kinds[kind] = {
            "requests": len(latencies),
            "errors": len(tally.errors.get(kind, [])),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1),
        }
    memory = {
        name: {
            "first_minute_mb": sampler.window(name, first=True),
            "last_minute_mb": sampler.window(name, first=False),
        }
        for name in sampler.groups
    }
    return {
        "minutes": minutes,
        "target_rps": rate,
        "achieved_rps": round(achieved, 1),
        # The machine is shared: its 1-minute load average when the traffic began and ended.
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "requests": sum(k["requests"] for k in kinds.values()),
        "errors": sum(k["errors"] for k in kinds.values()),
        "error_examples": [e for errors in tally.errors.values() for e in errors][:20],
        "tasks_submitted": submitted,
        "tasks_succeeded": succeeded,
        "task_states_after": states,
        "kinds": kinds,
        "memory": memory,
        "web_workers": len(children(web.pid)()),
        "samples": sampler.samples,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument(
        "--web-workers", type=int, help="Gunicorn workers (default 1: the embedded engine)"
    )
    args, _ = parser.parse_known_args(argv)
    run = soak(args.minutes, args.rate, args.web_workers)
    rows = [
        [kind, k["requests"], k["errors"], k["p50_ms"], k["p95_ms"], k["max_ms"]]
        for kind, k in run["kinds"].items()
    ]
    rows.append(["**all**", run["requests"], run["errors"], "", "", ""])
    table = markdown_table(["request", "count", "errors", "p50 ms", "p95 ms", "max ms"], rows)
    memory_rows = [
        [name, m["first_minute_mb"], m["last_minute_mb"],
         f"{m['last_minute_mb'] / m['first_minute_mb']:.2f}" if m["first_minute_mb"] else "-"]
        for name, m in run["memory"].items()
    ]  # fmt: skip
    table += "\n\n" + markdown_table(
        ["process group", "RSS first minute (MB)", "RSS last minute (MB)", "last / first"],
        memory_rows,
    )
    notes = (
        f"{run['minutes']:g} minutes at {run['target_rps']:g} requests/s (achieved "
        f"{run['achieved_rps']:g}; load average {run['load_average'][0]:g} → "
        f"{run['load_average'][1]:g} on this shared machine) through Nginx (production site, "
        "TLS) → Gunicorn "
        f"(`containers/gunicorn.conf.py`, {run['web_workers']} worker(s) of 4 threads, recycling "
        "off) → PostgreSQL; "
        f"saved query on the embedded chDB engine ({EVENT_ROWS:,} events, 60 s result cache "
        "in Redis); `/readyz` every "
        f"{PROBE_SECONDS} s; a task from the *Run now* page every {TASK_SECONDS} s, run by the "
        f"production eventlet worker: {run['tasks_succeeded']} of {run['tasks_submitted']} "
        "succeeded. Memory: mean RSS of each process group over the first and the last minute, "
        f"sampled every {SAMPLE_SECONDS} s."
    )
    publish("soak", [run], table, notes)
    failed = False
    if run["errors"] or run["tasks_succeeded"] != run["tasks_submitted"]:
        print("soak: errors seen:", *run["error_examples"], sep="\n  ")
        failed = True
    grown = {
        name: m["last_minute_mb"] / m["first_minute_mb"]
        for name, m in run["memory"].items()
        if m["first_minute_mb"] and m["last_minute_mb"] / m["first_minute_mb"] > FLAT_RATIO
    }
    for name, ratio in grown.items():
        print(f"soak: memory not flat: {name} grew {ratio:.2f}x (limit {FLAT_RATIO}x)")
        failed = True
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
