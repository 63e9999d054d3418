"""The production stack on a 3-node swarm: every service healthy, login over HTTPS through
the Nginx of each edge node (tasks.web behind it), and the nodes' roles as labelled."""

from __future__ import annotations

import json

import pytest

from tests.swarm.conftest import PASSWORD

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.own_engines,
    pytest.mark.timeout(1800),
]


def test_every_service_runs_its_tasks(swarm_stack):
    listed = swarm_stack.docker("service", "ls", "--format", "{{.Name}} {{.Replicas}}").stdout
    replicas = dict(line.split(" ", 1) for line in listed.splitlines())
    assert replicas == {
        "admin2_celery": "2/2", "admin2_celery-beat": "1/1", "admin2_db": "1/1",
        "admin2_migrate": "0/0", "admin2_nginx": "3/3", "admin2_redis": "1/1",
        "admin2_web": "2/2",
    }, swarm_stack.diagnostics()  # fmt: skip


def test_the_migration_job_migrated_and_waits_at_zero_replicas(swarm_stack):
    unapplied = swarm_stack.exec("web", "admin2", "migrate", "--check")  # fails when any is
    assert unapplied.returncode == 0
    image = "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
    replicas = "{{.Spec.Mode.Replicated.Replicas}} "
    job = swarm_stack.docker("service", "inspect", "--format", replicas + image, "admin2_migrate")
    web = swarm_stack.docker("service", "inspect", "--format", image, "admin2_web")
    assert job.stdout.split() == ["0", web.stdout.strip()]


def test_database_and_redis_stay_on_their_labelled_node(swarm_stack):
    first = swarm_stack.bed.nodes[0].name
    for service in ("db", "redis"):
        listed = swarm_stack.docker("service", "ps", "--filter", "desired-state=running",
                                    "--format", "{{.Node}}", f"admin2_{service}")  # fmt: skip
        nodes = listed.stdout.split()
        assert nodes == [first], (service, nodes)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_login_over_https_through_each_edge_node(swarm_stack, index):
    node = swarm_stack.bed.nodes[index]
    answer = json.loads(swarm_stack.client("login", f"https://{node.address}:8443", "boss",
                                           PASSWORD))  # fmt: skip
    assert answer["ok"], answer


def test_plain_http_redirects_to_https_on_the_edge(swarm_stack):
    node = swarm_stack.bed.nodes[1]
    head = swarm_stack.bed.in_hub("curl", "-sS", "-o", "/dev/null", "-w",
                                  "%{http_code} %{redirect_url}",
                                  f"http://{node.address}:8061/admin/").stdout  # fmt: skip
    assert head == f"308 https://{node.address}:8443/admin/", head
