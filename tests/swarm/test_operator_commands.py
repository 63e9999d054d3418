"""Operator commands on the swarm beyond deploying: `just swarm-backup` on the db node takes
the database out of the db task with deploy/backup.sh's checks and encrypted config, and on
another node it refuses, naming the db node."""

from __future__ import annotations

import os
import subprocess

import pytest

from harness.processes import REPO, venv_tool
from harness.swarm import CLI

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.own_engines,
    pytest.mark.timeout(1800),
]


def swarm_backup(stack, node, backups, *args: str) -> subprocess.CompletedProcess:
    recipient = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True)
    public = next(line.split(": ", 1)[1] for line in recipient.stderr.splitlines()
                  if line.startswith("Public key: "))  # fmt: skip
    env = {**os.environ, "DOCKER": CLI, "DOCKER_HOST": f"unix://{node.socket}",
           "BACKUP_DIR": str(backups), "BACKUP_AGE_RECIPIENTS": public,
           "ADMIN2_ENV_FILE": str(stack.env_file),
           "DEPLOY_ENV_FILE": str(backups / "no-deploy-env")}  # fmt: skip
    return subprocess.run([venv_tool("just"), "swarm-backup", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip


def test_swarm_backup_dumps_the_database_from_the_db_task(swarm_stack, tmp_path):
    db_node = swarm_stack.bed.nodes[0]  # labelled admin2.db by `just swarm-init`
    taken = swarm_backup(swarm_stack, db_node, tmp_path, "--label", "swarm-test")
    assert taken.returncode == 0, taken.stdout[-3000:] + taken.stderr[-3000:]
    (backup,) = [p for p in tmp_path.iterdir() if p.name.startswith("admin2-")]
    assert backup.name.endswith("-swarm-test")
    assert sorted(p.name for p in backup.iterdir()) == [
        "INFO", "SHA256SUMS", "config.tar.age", "db.dump", "media.tar.gz"]  # fmt: skip
    assert (backup / "db.dump").read_bytes()[:5] == b"PGDMP"
    users = subprocess.run(["pg_restore", "--data-only", "--table", "auth_user", "--file", "-",
                            str(backup / "db.dump")], capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    assert "boss" in users
    listed = swarm_backup(swarm_stack, db_node, tmp_path, "list")
    assert backup.name in listed.stdout, listed.stdout


def test_swarm_backup_elsewhere_names_the_db_node(swarm_stack, tmp_path):
    refused = swarm_backup(swarm_stack, swarm_stack.bed.nodes[2], tmp_path)
    assert refused.returncode != 0
    assert f"run it on the db node ({swarm_stack.bed.nodes[0].name})" in refused.stderr
    assert not list(tmp_path.glob("admin2-*"))
