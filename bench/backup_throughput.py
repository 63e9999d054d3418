"""Backup throughput: pgBackRest's encrypted full backup and the nightly pg_dump + age + upload,
into one S3 bucket (moto behind a TLS Nginx), on the demo data set and on it grown, in one run.

``python bench/run.py backup_throughput`` (a few minutes; no provider network in the figures).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import markdown_table, publish
from harness.pitr import archiving_cluster, pitr
from harness.processes import REPO, venv_tool, wait_until
from harness.s3 import LocalS3

BUCKET = "admin2-bench"
# ~200 MB of rows like an audit log
GROW = (
    "CREATE TABLE bench_audit AS SELECT g AS id, now() - g * interval '1 second' AS at, "
    "md5(g::text) || md5((g * 7)::text) AS detail, g % 1000 AS actor "
    "FROM generate_series(1, 1500000) g; CHECKPOINT"
)


def database_mb(cluster) -> float:
    size = cluster.fetch_value("SELECT sum(pg_database_size(datname)) FROM pg_database")
    return int(size) / 1e6


def load_demo(cluster, work: Path) -> None:
    """`admin2 demo --no-serve` against the cluster: migrations, demo user, demo content."""
    env = {
        **os.environ,
        "DJANGO_ENVIRONMENT": "development",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{cluster.port}/postgres",
        "ADMIN2_VAR_DIR": str(work / "var"),
    }
    subprocess.run(
        [venv_tool("admin2"), "demo", "--no-serve"],
        env=env, cwd=REPO, check=True, capture_output=True, timeout=900,
    )  # fmt: skip


def grow(cluster) -> tuple[float, float]:
    """GROW, then wait until its WAL is in the bucket: the WAL's MB and the seconds the archive
    lagged behind the writes (one archive-push per segment, as configured)."""
    start_lsn = cluster.fetch_value("SELECT pg_current_wal_lsn()::text")
    cluster.psql(GROW)
    written = time.monotonic()
    wal = cluster.fetch_value(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (start_lsn,)
    )
    segment = cluster.fetch_value("SELECT pg_walfile_name(pg_switch_wal())")
    wait_until(
        lambda: (
            (cluster.fetch_value("SELECT last_archived_wal FROM pg_stat_archiver") or "") >= segment
        ),
        1800,
        "the grown database's WAL in the bucket",
    )
    return float(wal) / 1e6, round(time.monotonic() - written, 1)


def logical_copy(cluster, env: dict[str, str], work: Path) -> tuple[float, float]:
    """deploy/backup.sh --no-media with the bucket upload: seconds and the dump's MB."""
    key = work / "age-key.txt"
    if not key.exists():
        subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(
        ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
    ).stdout.strip()
    backups = work / f"backups-{time.monotonic_ns()}"
    script_env = {
        **os.environ,
        **env,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.port),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
        "PG_DUMP_CMD": "pg_dump",
        "PG_RESTORE_CMD": "pg_restore",
        "PSQL_CMD": "psql",
        "BACKUP_DIR": str(backups),
        "BACKUP_S3_PREFIX": "dumps",
        "BACKUP_AGE_RECIPIENTS": public,
        "PGBACKREST_REPO1_STORAGE_CA_FILE": env["PGBACKREST_REPO1_STORAGE_CA_FILE"],
    }
    started = time.monotonic()
    subprocess.run(
        [str(REPO / "deploy" / "backup.sh"), "--no-media"],
        env=script_env, check=True, capture_output=True, timeout=1800,
    )  # fmt: skip
    seconds = time.monotonic() - started
    dump = next(backups.glob("admin2-*")) / "db.dump"
    return seconds, dump.stat().st_size / 1e6


def measure(label: str, cluster, env: dict[str, str], work: Path) -> dict:
    size = database_mb(cluster)
    started = time.monotonic()
    pitr(env, "backup", "full")
    full_s = time.monotonic() - started
    dump_s, dump_mb = logical_copy(cluster, env, work)
    return {
        "data_set": label,
        "database_mb": round(size, 1),
        "pgbackrest_full_s": round(full_s, 1),
        "pgbackrest_full_mb_per_s": round(size / full_s, 1),
        "dump_age_upload_s": round(dump_s, 1),
        "dump_mb": round(dump_mb, 1),
        "dump_database_mb_per_s": round(size / dump_s, 1),
    }


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="admin2-bench-backup-"))
    s3 = LocalS3(work / "s3").start()
    cluster = None
    try:
        s3.make_protected_bucket(BUCKET)
        cluster, env = archiving_cluster(s3, BUCKET)
        load_demo(cluster, work)
        pitr(env, "setup")
        runs = [measure("demo", cluster, env, work)]
        wal_mb, catch_up_s = grow(cluster)
        grown = measure("demo + 1.5 M generated rows", cluster, env, work)
        runs.append({**grown, "grow_wal_mb": round(wal_mb, 1), "wal_catch_up_s": catch_up_s})
    finally:
        if cluster:
            cluster.destroy()
        s3.stop()
    headers = ["data set", "database MB", "pgBackRest full, s", "MB/s",
               "pg_dump + age + upload, s", "dump MB", "MB/s (database)"]  # fmt: skip
    keys = ["data_set", "database_mb", "pgbackrest_full_s", "pgbackrest_full_mb_per_s",
            "dump_age_upload_s", "dump_mb", "dump_database_mb_per_s"]  # fmt: skip
    table = markdown_table(headers, [[run[k] for k in keys] for run in runs])
    grown = runs[-1]
    table += (
        f"\n\nGrowing it wrote {grown['grow_wal_mb']} MB of WAL; the archive was complete "
        f"{grown['wal_catch_up_s']} s after the writes ended."
    )
    notes = (
        "Both write into moto's S3 behind a TLS Nginx on loopback (harness/s3.py), so the figures "
        "are the server's side: reading, compressing (pgBackRest gz, pg_dump custom), "
        "encrypting (aes-256-cbc / age) and signing; a provider's uplink divides them further. "
        "MB/s is the database's size over the wall time. pgBackRest's full backup also waits "
        "for the WAL of the backup to be archived. pgBackRest stores one object per data file "
        "(about a thousand for the demo database), and moto, a Python server checking the "
        "signature and the IAM policy of every request, sets its pace here: these MB/s are the "
        "stand-in's, a floor, not a provider's. Archiving pushes one segment per "
        "`archive-push` (synchronous, as configured): a burst of writes is archived behind them; "
        "`PGBACKREST_ARCHIVE_ASYNC=y` with a spool path pushes in parallel."
    )
    publish("backup_throughput", runs, table, notes)


if __name__ == "__main__":
    main()
