"""Benchmark ``swarm``: the production stack on a 3-node test swarm (harness/swarm.py).

Requests per second through one edge's Nginx with 1, 2 and 3 web replicas (a signed-in
changelist, wrk from the hub) and PostgreSQL's connections after each, the rolling update's
time, and failover when a node with a web task crashes. docs/scaling.md reads the figures."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from pathlib import Path

from bench.common import markdown_table, publish
from bench.loadgen import wrk
from harness import engine
from harness.swarm import Swarm
from harness.swarm_stack import (
    IMAGES,
    RequestLoop,
    SwarmStack,
    converge,
    new_release,
    web_nodes,
)

SECONDS = 10
CONNECTIONS = 8
PASSWORD = secrets.token_urlsafe(16)  # an account of a swarm that lives for one run
TARGET = "/admin/auth/user/"


def scale_web(stack: SwarmStack, replicas: int) -> None:
    stack.docker("service", "scale", "--detach", f"admin2_web={replicas}")
    converge(stack)


def throughput(stack: SwarmStack, replicas: int, cookie: str) -> dict:
    scale_web(stack, replicas)
    edge = stack.bed.nodes[0].address
    url = f"https://{edge}:8443{TARGET}"
    # wrk runs in the hub (the only namespace that reaches the edges); warm-up unmeasured.
    stack.bed.in_hub("wrk", "-t2", f"-c{CONNECTIONS}", "-d2s", "-H", cookie, url, timeout=60)
    result = wrk(url, seconds=SECONDS, connections=CONNECTIONS, headers=[cookie],
                 prefix=["nsenter", f"--net=/run/netns/{stack.bed.hub}"])  # fmt: skip
    tasks = len(web_nodes(stack))
    return {"measure": f"req/s, {replicas} web replica(s)", "replicas": replicas,
            "running": tasks, "connections": postgres_connections(stack), **result}  # fmt: skip


def postgres_connections(stack: SwarmStack) -> int:
    """Client connections PostgreSQL holds right after the load (web, workers and beat)."""
    counted = stack.exec("db", "psql", "-U", "admin2", "-d", "admin2", "-At", "-c",
                         "SELECT count(*) FROM pg_stat_activity WHERE "
                         "backend_type = 'client backend'")  # fmt: skip
    return int(counted.stdout.strip()) - 1  # not psql's own


def rolling_update(stack: SwarmStack) -> dict:
    release = new_release(stack, "bench")
    with RequestLoop(stack, "boss", PASSWORD) as loop:
        seconds = stack.deploy(release)
        summary = loop.finish()
    return {"measure": "rolling update (deploy.sh, new digest)", "seconds": round(seconds, 1),
            "requests": summary["total"], "failed": summary["failed"]}  # fmt: skip


def failover(stack: SwarmStack) -> dict:
    node = next(n for n in stack.bed.nodes[1:] if n.name in web_nodes(stack))
    survivors = [n for n in stack.bed.nodes if n is not node]
    with RequestLoop(stack, "boss", PASSWORD, nodes=survivors) as loop:
        time.sleep(3)
        started = time.monotonic()
        node.crash()
        while node.name in web_nodes(stack) or len(web_nodes(stack)) < 2:
            if time.monotonic() - started > 300:
                raise SystemExit("swarm: web tasks not rescheduled in 300 s")
            time.sleep(0.5)
        moved = time.monotonic() - started
        summary = loop.finish()
    return {"measure": "node loss: web task running elsewhere", "seconds": round(moved, 1),
            "requests": summary["total"], "failed": summary["failed"],
            "slowest_request_s": summary["slowest"]}  # fmt: skip


def main() -> None:
    engine.ensure_images()
    engine.build_app("production", f"admin2:{engine.TEST_TAG}")
    load = os.getloadavg()[0]
    bed = Swarm(3)
    runs = []
    try:
        bed.up(IMAGES)
        stack = SwarmStack(bed, Path(tempfile.mkdtemp(prefix="admin2-swarm-bench-")))
        stack.prepare()
        stack.deploy()
        stack.exec("web", "admin2", "createsuperuser", "--noinput", "--username", "boss",
                   "--email", "boss@example.com",
                   env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD})  # fmt: skip
        edge = f"https://{bed.nodes[0].address}:8443"
        signed_in = json.loads(stack.client("login", edge, "boss", PASSWORD))
        cookie = f"Cookie: sessionid={signed_in['sessionid']}"
        runs += [throughput(stack, replicas, cookie) for replicas in (1, 2, 3)]
        scale_web(stack, 2)
        runs.append(rolling_update(stack))
        runs.append(failover(stack))
    finally:
        bed.down()
    publish("swarm", runs, table(runs), notes(runs, load))


def table(runs: list[dict]) -> str:
    rows = []
    for run in runs:
        if "rps" in run:
            value = (f"{run['rps']} req/s (p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms); "
                     f"{run['connections']} PostgreSQL connections")  # fmt: skip
        else:
            value = f"{run['seconds']} s, {run['failed']} of {run['requests']} requests failed"
        rows.append([run["measure"], value])
    return markdown_table(["measure", "value"], rows)


def notes(runs: list[dict], load: float) -> str:
    rps = {run["replicas"]: run["rps"] for run in runs if "rps" in run}
    return " ".join([
        f"wrk, {CONNECTIONS} connections for {SECONDS} s to `{TARGET}` (signed in) over TLS",
        "through the first node's Nginx, which balances over `tasks.web`. Three replicas give",
        f"{rps[3] / rps[1]:.2f}x one replica's throughput here: the three nodes, wrk,",
        "PostgreSQL and Redis all share this machine's 2 cores, so more replicas add",
        "processes, not CPU (here they cost more than they add). Other sessions' load changes",
        "how much of the machine the bed gets: compare rows of one run only. Connections: client",
        "backends in `pg_stat_activity` right after each load (`DJANGO_CONN_MAX_AGE` keeps",
        "them 60 s), minus psql's own. The figures show that requests spread over the",
        "replicas and what an update or a node loss costs; they cannot show how throughput",
        "grows with hosts, which needs hosts with cores of their own (docs/scaling.md).",
        f"Load average at the start: {load:.1f}. Failover counts from the crash (link down,",
        "processes killed) to the replacement web task running; requests go on through the",
        "surviving edges.",
    ])  # fmt: skip


if __name__ == "__main__":
    main()
