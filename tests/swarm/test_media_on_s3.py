"""Media on S3 across the swarm: a background export that a worker task wrote on one node
downloads byte for byte through the edge from a web task on another node. Which task ran
the export and which served each download is read from the services' own logs (celery's
task line, Gunicorn's access line). The bucket's secret key is a swarm secret only."""

from __future__ import annotations

import json
import re
import secrets
import time

import pytest

from harness.processes import wait_until
from harness.swarm_stack import STACK, web_nodes
from tests.swarm.conftest import PASSWORD, record

ROWS = 20_000
KEY_FILE = "ADMIN2_S3_SECRET_ACCESS_KEY_FILE"
SQL = "SELECT number, toString(number * 7) AS seven FROM numbers(20000) ORDER BY number"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.own_engines,
    pytest.mark.timeout(1800),
]

QUERY = """
import json
from django.contrib.auth import get_user_model
from django.urls import reverse
from admin2_analytics.models import SavedQuery
boss = get_user_model().objects.get(username="boss")
query, _ = SavedQuery.objects.get_or_create(
    name="swarm export", defaults={"owner": boss, "sql": %r})
print(json.dumps({"pk": query.pk, "export": reverse("analytics:export", args=[query.pk])}))
"""
EXPORT = """
import json
from django.urls import reverse
from admin2_analytics.models import Export
found = Export.objects.filter(saved_query_id=%d).order_by("-pk").first()
print(json.dumps(found and {"pk": found.pk, "state": found.state, "task_id": found.task_id,
    "file": found.file.name, "size": found.size_bytes, "rows": found.row_count,
    "error": found.error, "url": reverse("analytics:download", args=[found.pk])}))
"""


def shell(stack, code: str):
    result = stack.exec("web", "admin2", "shell", "-c", code)
    return json.loads(result.stdout.strip().splitlines()[-1])


def log_node(stack, service: str, marker: str) -> str | None:
    """The node of the task of ``service`` whose log has a line containing ``marker``:
    `docker service logs` prefixes each line with ``name.slot.task@node``."""
    logs = stack.docker("service", "logs", "--no-trunc", f"{STACK}_{service}", timeout=120)
    for line in (logs.stdout + logs.stderr).splitlines():
        if marker in line:
            found = re.match(rf"{STACK}_{service}\.\d+\.\w+@(\S+)", line)
            if found:
                return found[1]
    return None


def celery_log_tail(stack) -> str:
    logs = stack.docker("service", "logs", "--tail", "60", f"{STACK}_celery", check=False)
    return (logs.stdout + logs.stderr)[-6000:]


def test_the_s3_secret_key_is_a_swarm_secret_and_not_in_any_service_spec(swarm_stack):
    secret = swarm_stack.s3.bucket.secret
    for service in ("web", "celery", "celery-beat", "migrate"):
        spec = swarm_stack.docker("service", "inspect", "--format",
                                  "{{json .Spec.TaskTemplate.ContainerSpec}}",
                                  f"{STACK}_{service}").stdout  # fmt: skip
        assert secret not in spec, service
        container = json.loads(spec)
        assert f"{KEY_FILE}=/run/secrets/s3_secret_access_key" in container["Env"]
        names = {s["File"]["Name"]: s["SecretName"] for s in container["Secrets"]}
        assert names["s3_secret_access_key"].startswith("admin2_s3_secret_access_key_")
    # In a task it is the bucket's key (moto checks every request's signature with it).
    seen = swarm_stack.exec("celery", "cat", "/run/secrets/s3_secret_access_key").stdout
    assert seen == secret


def test_an_export_written_on_one_node_downloads_through_a_web_task_on_another(swarm_stack):
    started = time.monotonic()
    query = shell(swarm_stack, QUERY % SQL)
    edge = f"https://{swarm_stack.bed.nodes[1].address}:8443"
    asked = json.loads(swarm_stack.client("export", edge, "boss", PASSWORD, query["export"]))
    assert asked["ok"], asked

    def finished():
        found = shell(swarm_stack, EXPORT % query["pk"])
        return found if found and found["state"] in ("done", "failed") else None

    export = wait_until(finished, 300, "the background export", interval=3)
    assert export["state"] == "done", (export["error"], celery_log_tail(swarm_stack))
    assert export["rows"] == ROWS
    worker_node = wait_until(lambda: log_node(swarm_stack, "celery", export["task_id"]), 60,
                             "the worker's log line for the export", interval=2)  # fmt: skip
    stored = swarm_stack.s3.read(export["file"])
    assert swarm_stack.s3.keys() == [export["file"]]  # the bucket, not a node's volume
    assert len(stored) == export["size"]
    assert stored.count(b"\n") == ROWS + 1

    # The edge balances over every web task: download until one outside the worker's node
    # served it (web spreads over the nodes, so one of its two tasks is elsewhere).
    others = [n for n in web_nodes(swarm_stack) if n != worker_node]
    assert others, (worker_node, web_nodes(swarm_stack))
    served_by: list[str] = []
    for _ in range(12):
        marker = secrets.token_hex(8)
        target = swarm_stack.workdir / f"download-{marker}"
        path = f"{export['url']}?try={marker}"
        got = json.loads(swarm_stack.client("download", edge, asked["sessionid"], path,
                                            str(target)))  # fmt: skip
        assert got["status"] == 200, got
        assert target.read_bytes() == stored  # byte for byte, from any web task
        node = wait_until(lambda m=marker: log_node(swarm_stack, "web", m), 60,
                          "the web task's access line", interval=2)  # fmt: skip
        served_by.append(node)
        if node != worker_node:
            break
    record("export_across_nodes", time.monotonic() - started)
    assert served_by[-1] != worker_node, (worker_node, served_by)
