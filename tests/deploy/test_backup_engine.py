"""Backups and restores on the real engine, as an operator runs them on the server.

deploy/backup.sh and deploy/restore.sh in Compose mode, then the disaster-recovery runbook of
docs/operations.md, in order on one server (harness/deploy_world.py): a backup under writes,
restores across a migration, and a fresh host rebuilt from the bucket (just restore-to-new-host).
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import subprocess
import threading
import time

import pytest

from harness import engine
from harness.deploy_world import destroy, free_subnet, make_world
from harness.git import git
from harness.pitr import repository_env
from harness.processes import wait_until
from harness.s3 import serving_protected_bucket
from tests.deploy.test_deploy_engine import MIGRATION, MIGRATION_TEXT, figure, ok

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.timeout(2400)]

DRILL_BUCKET = "admin2-drill"
PSQL = ("psql", "-U", "admin2", "-d", "admin2", "-v", "ON_ERROR_STOP=1", "-Atc")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    built = make_world(tmp_path_factory.mktemp("backup-engine"))
    try:  # from here on, a failing setup still stops the world's sshd and stack
        key = built.root / "operator-age-key.txt"  # the operator's, off the server
        subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
        public = subprocess.run(
            ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
        ).stdout.strip()
        with (built.server / "deploy" / ".env").open("a") as env:
            env.write(f"BACKUP_AGE_RECIPIENTS={public}\n")
        built.age_key = key  # type: ignore[attr-defined]
        yield built
    finally:
        destroy(built)


def sql(world, query: str) -> str:
    return world.exec("db", *PSQL, query).strip()


def media_files(world) -> dict[str, str]:
    listing = world.exec(
        "web", "sh", "-c", "cd /app/media && find . -type f | sort | xargs -r sha256sum"
    )
    return {line.split()[1][2:]: line.split()[0] for line in listing.splitlines()}


class Writer:
    """Inserts pairs of groups (a-N, b-N) in one statement each, and media files, until
    stopped: a consistent snapshot has as many a- as b- rows."""

    def __init__(self, world):
        self.world, self.count = world, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            n = self.count
            self.world.exec(
                "db",
                *PSQL,
                f"INSERT INTO auth_group (name) VALUES ('a-{n}'), ('b-{n}')",  # noqa: S608 (an int)
            )
            self.world.exec("web", "sh", "-c", f"echo {n} > /app/media/uploads/during-{n}.txt")
            self.count += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)


def backup(world, *args: str) -> str:
    result = world.on_server(str(world.server / "deploy" / "backup.sh"), *args)
    ok(result)
    return result.stdout.strip().splitlines()[-1]


def restore(world, name: str, *args: str, server=None):
    server = server or world.server
    return world.on_server(str(server / "deploy" / "restore.sh"), "--yes", *args, name)


def test_a_backup_taken_while_writes_go_on_is_consistent_complete_and_encrypted(world):
    ok(world.deploy())
    world.exec(
        "web",
        "sh",
        "-c",
        "mkdir -p /app/media/uploads /app/media/exports && "
        "head -c 200000 /dev/urandom > /app/media/uploads/photo.bin && "
        "head -c 300000 /dev/urandom > /app/media/exports/big-export.csv",
    )
    sql(world, "INSERT INTO auth_group (name) VALUES ('before-backup')")

    started = time.monotonic()
    with Writer(world) as writer:
        time.sleep(2)
        name = backup(world)
        time.sleep(1)
    figure("backup_seconds_under_writes", round(time.monotonic() - started, 1))
    assert writer.count > 3, "writes went on during the backup"
    directory = world.backups / name.rsplit("/", 1)[-1]
    assert sorted(p.name for p in directory.iterdir()) == [
        "INFO",
        "SHA256SUMS",
        "config.tar.age",
        "db.dump",
        "media.tar.gz",
    ]
    info = (directory / "INFO").read_text()
    assert f"release={world.built[0]}" in info and "config=1" in info
    members = subprocess.run(
        ["tar", "-tzf", str(directory / "media.tar.gz")], capture_output=True, text=True, check=True
    ).stdout
    assert "./uploads/photo.bin" in members and "exports" not in members
    encrypted = (directory / "config.tar.age").read_bytes()
    assert encrypted.startswith(b"age-encryption.org/v1") and b"django_secret_key" not in encrypted
    world.a_backup = directory.name  # type: ignore[attr-defined]

    # the dump is one snapshot: both rows of every pair, or neither
    scratch = world.exec("db", "sh", "-c", "createdb -U admin2 scratch && echo made")
    assert "made" in scratch
    subprocess.run(
        [
            engine.docker_cli(),
            "exec",
            "-i",
            world.containers("db")[0],
            "pg_restore",
            "-U",
            "admin2",
            "-d",
            "scratch",
            "--no-owner",
        ],
        input=(directory / "db.dump").read_bytes(),
        check=True,
        capture_output=True,
    )
    pairs = world.exec(
        "db",
        "psql",
        "-U",
        "admin2",
        "-d",
        "scratch",
        "-Atc",
        "select count(*) filter (where name like 'a-%'), count(*) filter (where name like 'b-%'), "
        "count(*) filter (where name = 'before-backup') from auth_group",
    ).strip()
    a, b, before = pairs.split("|")
    assert a == b and int(a) >= 1 and before == "1", pairs
    world.exec("db", "dropdb", "-U", "admin2", "scratch")


C_TABLES = "select count(*) from pg_tables where tablename = 'e2e_release_c'"


@pytest.fixture(scope="module")
def rolled_back_from_b(world):
    """Release B adds a migration and is backed up, then the server rolls back to A's code."""
    second = world.release("release B: a migration", {MIGRATION: MIGRATION_TEXT})
    db_before = world.containers("db")
    ok(world.deploy())
    assert sql(world, C_TABLES) == "1"
    # the db image's inputs did not change: the same image by digest, the database not restarted
    assert world.db_digests[second] == world.db_digests[world.built[0]]
    assert world.releases_log()[-1][6] == world.db_digests[second].split("@")[1]
    assert world.containers("db") == db_before
    b_backup = backup(world, "--label", "with-b").rsplit("/", 1)[-1]
    ok(world.deploy("rollback"))
    assert world.state("current") == world.built[0]
    return second, b_backup


def test_a_backup_newer_than_the_code_is_refused_and_nothing_is_restored(world, rolled_back_from_b):
    second, b_backup = rolled_back_from_b

    refused = restore(world, b_backup)

    assert refused.returncode != 0
    assert "has migrations the running code does not know" in refused.stderr
    assert "tasks 0002_e2e_release_c" in refused.stderr
    assert f"It was taken with release {second}" in refused.stderr
    assert sql(world, C_TABLES) == "1", "nothing was restored"


def test_the_backup_of_release_a_restores_with_its_code_and_the_site_works(
    world, rolled_back_from_b
):
    result = restore(world, world.a_backup)

    ok(result)
    assert sql(world, C_TABLES) == "0"
    applied = "select count(*) from django_migrations where name = '0002_e2e_release_c'"
    assert sql(world, applied) == "0"
    assert world.get("/healthz").status_code == 200
    assert world.get("/readyz").status_code == 200
    assert world.get("/admin/login/").status_code == 200
    assert int(sql(world, "select count(*) from auth_group")) >= 3


def test_after_the_restore_release_b_deploys_and_migrates_again(world, rolled_back_from_b):
    second, _ = rolled_back_from_b
    assert sql(world, C_TABLES) == "0", "runs after A's backup was restored"

    # with --clean's leftovers this failed: "relation already exists"
    ok(world.deploy())

    assert world.state("current") == second
    assert sql(world, C_TABLES) == "1"


def bridge_gateway() -> str:
    """The engine's default bridge address: host-local, and reachable from a Compose network's
    container (the db's egress network), where the host's loopback is not."""
    result = engine.docker("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}")
    (config, *_) = json.loads(result.stdout)
    # the engine leaves Gateway out when it is the default: the subnet's first address
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


@pytest.fixture
def bucket(tmp_path):
    with serving_protected_bucket(tmp_path / "s3", DRILL_BUCKET, also_on=bridge_gateway()) as s3:
        yield s3


def continuous_backup_settings(s3) -> dict[str, str]:
    """The operator's PGBACKREST_* lines, the same in the db's env file and in deploy/.env.
    Stand-in: moto's self-signed certificate is not in the db image, so TLS is not verified."""
    settings = repository_env(s3, DRILL_BUCKET, "")
    del settings["PGBACKREST_REPO1_STORAGE_CA_FILE"]
    settings.update(
        PGBACKREST_REPO1_S3_ENDPOINT=bridge_gateway(), PGBACKREST_REPO1_STORAGE_VERIFY_TLS="n"
    )
    return settings


def append_env(path, values: dict[str, str]) -> None:
    with path.open("a") as env:
        env.writelines(f"{k}={v}\n" for k, v in values.items())


def replace_env(path, name: str, value: str) -> str:
    """Set NAME=value in an env file; the text before, to put back."""
    before = path.read_text()
    lines = [line for line in before.splitlines() if not line.startswith(f"{name}=")]
    path.write_text("\n".join([*lines, f"{name}={value}"]) + "\n")
    return before


def drill(world, *args: str):
    """`just restore-to-new-host` on the new server, as the operator runs it there."""
    return world.on_server(
        str(world.server / "deploy" / "restore-to-new-host.sh"), *args, timeout=1200,
        DEPLOY_WEB_REPLICAS="1", DEPLOY_HEALTH_TIMEOUT="150",
    )  # fmt: skip


def stack_volumes(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    listed = engine.docker("volume", "ls", "-q", "--filter", label)
    return listed.stdout.decode().split()


def test_disaster_recovery_on_a_fresh_host_restores_from_the_bucket_to_the_latest_row(
    world, bucket
):
    """docs/operations.md, "Disaster recovery", step by step on this machine: continuous
    backups on the old server, then a new one from the repository, the config and the bucket."""
    if not world.state("current"):  # run alone (-k): the first deploy of the module
        ok(world.deploy())
    world.exec(
        "web", "sh", "-c", "mkdir -p /app/media/uploads && echo kept > /app/media/uploads/drill.txt"
    )
    # Not configured yet: the db image's archive command archives nothing and succeeds, so
    # PostgreSQL recycles its WAL instead of keeping every segment.
    sql(world, "INSERT INTO auth_group (name) VALUES ('before-continuous-backups')")
    segment = sql(world, "SELECT pg_walfile_name(pg_switch_wal())")
    archived = lambda: sql(world, "SELECT last_archived_wal FROM pg_stat_archiver") >= segment  # noqa: E731
    wait_until(archived, 60, f"{segment} marked archived without a repository")
    assert sql(world, "SELECT failed_count FROM pg_stat_archiver") == "0"
    pitr = str(world.server / "deploy" / "pitr.sh")
    settings = continuous_backup_settings(bucket)
    append_env(world.server / "containers" / ".env.production", settings)
    append_env(world.server / "deploy" / ".env", {**settings, "BACKUP_S3_PREFIX": "dumps"})
    compose = str(world.server / "deploy" / "compose.sh")
    ok(world.on_server(compose, "production", "up", "-d", "--wait", "--no-deps", "db"))
    ok(world.on_server(pitr, "setup"))  # its check proves the db image's archive command
    ok(world.on_server(pitr, "backup", "full"))
    sql(world, "INSERT INTO auth_group (name) VALUES ('after-the-base-backup')")
    files = media_files(world)
    assert "uploads/drill.txt" in files
    backup_name = backup(world).rsplit("/", 1)[-1]  # the nightly: its tar goes to the bucket
    sql(world, "INSERT INTO auth_group (name) VALUES ('after-the-nightly-backup')")
    ok(world.on_server(pitr, "check"))  # the WAL up to here is in the bucket
    rows = sql(world, "select string_agg(name, ',' order by name) from auth_group")
    assert "after-the-nightly-backup" in rows
    # 1. the server is gone (its stack stops; its volumes are left for the cleanup)
    world.stack.compose("stop", "--timeout", "10", timeout=300)

    # 2. a new server: the repository at the current release
    fresh = world.root / "new-server"
    git(world.root, "clone", "-q", str(world.origin), str(fresh))
    # 3. the operator's files back from the backup, with the operator's age key
    config = world.on_server(
        str(fresh / "deploy" / "restore.sh"),
        "--config",
        str(world.age_key),
        str(world.backups / backup_name),
    )
    ok(config)
    for path in (
        "containers/.env.production",
        "deploy/.env",
        "containers/secrets/django_secret_key",
    ):
        assert (fresh / path).exists(), path
    # test-only: this machine still holds the old server's volumes under the old project name
    env_file = fresh / "containers" / ".env.production"
    env_file.write_text(
        env_file.read_text().replace(world.stack.project, world.stack.project + "dr")
    )
    # and the old network's subnet is still taken; the restored env file names the old
    # checkout's secrets and certs directories (absolute paths, as the harness writes them)
    text = env_file.read_text().replace(str(world.server), str(fresh))
    old_subnet = next(
        v
        for k, v in (line.split("=", 1) for line in text.splitlines() if "=" in line)
        if k == "ADMIN2_FRONTEND_SUBNET"
    )
    env_file.write_text(text.replace(old_subnet, free_subnet()))
    old_stack = copy.copy(world.stack)
    world.stack.project += "dr"
    world.server = fresh
    sha = world.built[-1]
    images = ("--image", world.digests[sha], "--db-image", world.db_digests[sha])
    try:
        # missing or wrong inputs: a clear error, and nothing left behind
        refused = drill(world, *images)
        assert refused.returncode != 0 and "--age-key FILE" in refused.stderr, refused.stderr
        for name, value, says in (
            ("PGBACKREST_REPO1_CIPHER_PASS", "not-the-pass", "pgBackRest cannot"),
            ("PGBACKREST_REPO1_S3_BUCKET", "admin2-no-such-bucket", "pgBackRest cannot"),
        ):
            before = replace_env(env_file, name, value)
            refused = drill(world, "--age-key", str(world.age_key), *images)
            env_file.write_text(before)
            assert refused.returncode != 0 and says in refused.stderr, refused.stderr[-3000:]
            assert stack_volumes(world.stack.project) == [], f"{name}: volumes left behind"

        # 4. the drill: database from pgBackRest, media from the nightly tar, the release
        started = time.monotonic()
        result = drill(world, "--age-key", str(world.age_key), *images)
        seconds = round(time.monotonic() - started, 1)
        assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        figure("disaster_recovery_seconds", seconds)
        recovered = re.search(r"database recovered in (\d+) s", result.stderr)
        figure("disaster_recovery_database_seconds", int(recovered[1]) if recovered else None)

        assert sql(world, "select string_agg(name, ',' order by name) from auth_group") == rows
        assert media_files(world) == {
            k: v for k, v in files.items() if not k.startswith("exports/")
        }
        assert world.get("/healthz").status_code == 200
        assert world.get("/readyz").status_code == 200
        assert world.state("current") == sha
        assert world.releases_log()[-1][6] == world.db_digests[sha].split("@")[1]
    finally:
        old_stack.compose(
            "down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=300, check=False
        )
