"""deploy/backup.sh → deploy/restore.sh on a real PostgreSQL (native mode: local pg_dump and
pg_restore against throwaway databases; on the server the same scripts run them in the `db`
container)."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.processes import wait_until
from tests.ops.conftest import connect, run_script, script_env, throwaway_databases

pytestmark = pytest.mark.slow

SCHEMA = """
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text UNIQUE,
    profile jsonb,
    created timestamptz NOT NULL
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    amount numeric(12, 2) NOT NULL,
    note text,
    payload bytea,
    placed_at timestamptz
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE TABLE order_lines (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    sku text NOT NULL,
    qty integer NOT NULL CHECK (qty >= 0)
);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
INSERT INTO customers (name, email, profile, created)
    SELECT 'customer ' || g || ' Ünïcødé ✓', 'c' || g || '@example.com',
           jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7)),
           timestamptz '2026-01-01 00:00+00' + g * interval '1 second'
    FROM generate_series(1, 20000) g;
INSERT INTO orders (customer_id, amount, note, payload, placed_at)
    SELECT 1 + g % 20000, (g % 100000) / 7.0, repeat('x', g % 50) || E'\\n\\t''quoted''',
           decode(md5(g::text), 'hex'), timestamptz '2026-01-01 00:00+00' + g * interval '1 minute'
    FROM generate_series(1, 50000) g;
INSERT INTO order_lines (order_id, sku, qty)
    SELECT 1 + g % 50000, 'SKU-' || g % 997, g % 9 FROM generate_series(1, 30000) g;
"""
TABLES = ("customers", "orders", "order_lines")


def fingerprint(dbname: str) -> dict:
    """Row count and an ordered content checksum per table, plus the sequences' positions."""
    with connect(dbname) as conn:
        result = {}
        for table in TABLES:
            result[table] = conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t.id)) FROM {table} t"  # noqa: S608
            ).fetchone()
        result["sequences"] = conn.execute(
            "SELECT string_agg(sequencename || '=' || last_value, ',' ORDER BY sequencename) "
            "FROM pg_sequences"
        ).fetchone()[0]
        result["view"] = conn.execute("SELECT count(*) FROM big_orders").fetchone()[0]
    return result


def media_fingerprint(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def make_media(root: Path) -> None:
    (root / "avatars" / "2026").mkdir(parents=True)
    (root / "avatars" / "2026" / "staff one.png").write_bytes(random.randbytes(50_000))
    (root / "exports").mkdir()
    (root / "exports" / "report.csv").write_text("id,name\n1,Ünïcødé\n")
    (root / "README").write_text("media root\n")


def only_backup(tmp_path: Path) -> Path:
    backups = [p for p in (tmp_path / "backups").iterdir() if p.name.startswith("admin2-")]
    assert len(backups) == 1, backups
    return backups[0]


@dataclass
class RoundTrip:
    """One backup of a database and media tree, restored into a fresh database and tree."""

    directory: Path
    stdout: str
    database_before: dict
    database_after: dict
    media_before: dict[str, str]
    media_after: dict[str, str]


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory) -> Iterator[RoundTrip]:
    tmp = tmp_path_factory.mktemp("round-trip")
    with throwaway_databases() as new_database:
        source, fresh = new_database(), new_database()
        with connect(source) as conn:
            conn.execute(SCHEMA)
        media, restored_media = tmp / "media", tmp / "restored-media"
        make_media(media)
        database_before = fingerprint(source)
        backup = run_script("backup.sh", env=script_env(tmp, source, MEDIA_DIR=str(media)))
        assert backup.returncode == 0, backup.stderr
        directory = only_backup(tmp)
        restore = run_script(
            "restore.sh",
            "--yes",
            str(directory),
            env=script_env(tmp, fresh, MEDIA_DIR=str(restored_media)),
        )
        assert restore.returncode == 0, restore.stderr
        yield RoundTrip(
            directory=directory,
            stdout=backup.stdout,
            database_before=database_before,
            database_after=fingerprint(fresh),
            media_before=media_fingerprint(media),
            media_after=media_fingerprint(restored_media),
        )


def test_a_backup_is_a_directory_of_dump_media_info_and_checksums(round_trip):
    assert round_trip.stdout.strip() == str(round_trip.directory)
    assert sorted(p.name for p in round_trip.directory.iterdir()) == [
        "INFO",
        "SHA256SUMS",
        "db.dump",
        "media.tar.gz",
    ]
    assert round_trip.directory.joinpath("db.dump").read_bytes()[:5] == b"PGDMP"


def test_a_restored_database_is_identical_to_the_one_backed_up(round_trip):
    assert sum(round_trip.database_before[t][0] for t in TABLES) == 100_000
    assert round_trip.database_after == round_trip.database_before


def test_restored_media_is_identical_except_the_temporary_exports(round_trip):
    # temporary exports are left out of backups (re-creatable, and they bloat every archive)
    assert "exports/report.csv" in round_trip.media_before
    expected = {k: v for k, v in round_trip.media_before.items() if not k.startswith("exports/")}
    assert round_trip.media_after == expected


@dataclass
class BackupDuringWrites:
    """A backup taken while a writer moves money between accounts, restored elsewhere."""

    accounts: int
    opening: int
    committed_before: int = 0
    committed_during: int = 0
    committed_in_all: int = 0
    writer_errors: list[BaseException] = field(default_factory=list)
    restored: dict[str, int] = field(default_factory=dict)


def move_money(source: str, accounts: int, stop: threading.Event, record: BackupDuringWrites):
    """Each transaction moves money and writes one transfer with two legs."""
    rng = random.Random(7)
    try:
        with connect(source, autocommit=False) as conn:
            while not stop.is_set():
                src, dst = rng.sample(range(1, accounts + 1), 2)
                amount = rng.randint(1, 50)
                with conn.transaction():
                    conn.execute(
                        "UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, src)
                    )
                    transfer = conn.execute(
                        "INSERT INTO transfers (src, dst, amount) VALUES (%s, %s, %s) RETURNING id",
                        (src, dst, amount),
                    ).fetchone()[0]
                    conn.execute(
                        "INSERT INTO transfer_legs (transfer_id, account, delta)"
                        " VALUES (%s, %s, %s), (%s, %s, %s)",
                        (transfer, src, -amount, transfer, dst, amount),
                    )
                    conn.execute(
                        "UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, dst)
                    )
                record.committed_in_all += 1
    except BaseException as error:  # surfaced in the tests
        record.writer_errors.append(error)


@pytest.fixture(scope="module")
def during_writes(tmp_path_factory) -> Iterator[BackupDuringWrites]:
    tmp = tmp_path_factory.mktemp("during-writes")
    record = BackupDuringWrites(accounts=500, opening=1_000)
    with throwaway_databases() as new_database:
        source, fresh = new_database(), new_database()
        with connect(source) as conn:
            conn.execute(
                "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);"
                "CREATE TABLE transfers (id bigserial PRIMARY KEY, src int, dst int, amount int);"
                "CREATE TABLE transfer_legs (id bigserial PRIMARY KEY,"
                " transfer_id bigint REFERENCES transfers (id), account int, delta int);"
                # bulk, so that the dump takes long enough for many transactions to commit
                "CREATE TABLE filler (id bigserial PRIMARY KEY, body text);"
                "INSERT INTO filler (body) SELECT repeat(md5(g::text), 8)"
                " FROM generate_series(1, 150000) g;"
            )
            conn.execute(
                "INSERT INTO accounts SELECT g, %s FROM generate_series(1, %s) g",
                (record.opening, record.accounts),
            )
        stop = threading.Event()
        thread = threading.Thread(
            target=move_money, args=(source, record.accounts, stop, record), daemon=True
        )
        thread.start()
        try:
            wait_until(
                lambda: record.committed_in_all >= 50 or record.writer_errors, 30, "50 transfers"
            )
            record.committed_before = record.committed_in_all
            backup = run_script("backup.sh", "--no-media", env=script_env(tmp, source))
            record.committed_during = record.committed_in_all - record.committed_before
        finally:
            stop.set()
            thread.join(30)
        assert backup.returncode == 0, backup.stderr
        restore = run_script(
            "restore.sh", "--yes", str(only_backup(tmp)), env=script_env(tmp, fresh)
        )
        assert restore.returncode == 0, restore.stderr
        with connect(fresh) as conn:
            record.restored = {
                "total": conn.execute("SELECT sum(balance) FROM accounts").fetchone()[0],
                "transfers": conn.execute("SELECT count(*) FROM transfers").fetchone()[0],
                "legs": conn.execute("SELECT count(*) FROM transfer_legs").fetchone()[0],
                "drifted": conn.execute(
                    "SELECT count(*) FROM accounts a WHERE a.balance <> %s + coalesce("
                    " (SELECT sum(delta) FROM transfer_legs l WHERE l.account = a.id), 0)",
                    (record.opening,),
                ).fetchone()[0],
            }
        print(
            f"writes: {record.committed_before} committed before the backup, "
            f"{record.committed_during} during it; restored {record.restored['transfers']}"
        )
        yield record


def test_the_writer_commits_while_the_backup_runs(during_writes):
    assert not during_writes.writer_errors, during_writes.writer_errors
    assert during_writes.committed_during > 0


def test_money_restored_from_a_backup_during_writes_is_neither_created_nor_lost(during_writes):
    assert during_writes.restored["total"] == during_writes.accounts * during_writes.opening


def test_every_restored_transfer_has_both_its_legs(during_writes):
    assert during_writes.restored["legs"] == 2 * during_writes.restored["transfers"]


def test_every_restored_balance_matches_its_ledger(during_writes):
    assert during_writes.restored["drifted"] == 0


def test_a_backup_is_one_snapshot_without_the_commits_after_it_began(during_writes):
    restored = during_writes.restored["transfers"]
    assert during_writes.committed_before <= restored < during_writes.committed_in_all


def test_restore_refuses_without_confirmation_and_changes_nothing(tmp_path, new_database):
    source, target = new_database(), new_database()
    with connect(source) as conn:
        conn.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    with connect(target) as conn:
        conn.execute("CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (42)")
    assert run_script("backup.sh", "--no-media", env=script_env(tmp_path, source)).returncode == 0
    directory = only_backup(tmp_path)

    for answer in ("", "yes\n", "admin2-wrong\n"):
        refused = run_script(
            "restore.sh", str(directory), env=script_env(tmp_path, target), stdin=answer
        )
        assert refused.returncode != 0
        assert "not confirmed: nothing was restored" in refused.stderr
        assert f"Type the backup's name ({directory.name})" in refused.stderr
    with connect(target) as conn:
        assert conn.execute("SELECT id FROM keep_me").fetchone() == (42,)
    assert [p.name for p in (tmp_path / "backups").iterdir() if "pre-restore" in p.name] == []

    confirmed = run_script(
        "restore.sh", directory.name, env=script_env(tmp_path, target), stdin=directory.name + "\n"
    )
    assert confirmed.returncode == 0, confirmed.stderr
    with connect(target) as conn:
        assert conn.execute("SELECT id FROM t").fetchone() == (1,)


def test_restore_keeps_a_safety_backup_of_what_it_replaces(tmp_path, new_database):
    source, target = new_database(), new_database()
    with connect(source) as conn:
        conn.execute("CREATE TABLE t (id int)")
    with connect(target) as conn:
        conn.execute("CREATE TABLE precious (note text); INSERT INTO precious VALUES ('only copy')")
    assert run_script("backup.sh", "--no-media", env=script_env(tmp_path, source)).returncode == 0
    directory = only_backup(tmp_path)

    restore = run_script("restore.sh", "--yes", str(directory), env=script_env(tmp_path, target))

    assert restore.returncode == 0, restore.stderr
    safety = [p for p in (tmp_path / "backups").iterdir() if p.name.endswith("-pre-restore")]
    assert len(safety) == 1
    listing = run_script(
        "restore.sh",
        "--yes",
        "--no-safety-backup",
        str(safety[0]),
        env=script_env(tmp_path, target),
    )
    assert listing.returncode == 0, listing.stderr
    with connect(target) as conn:
        assert conn.execute("SELECT note FROM precious").fetchone() == ("only copy",)


def test_a_damaged_backup_is_refused_before_anything_happens(tmp_path, new_database):
    source, target = new_database(), new_database()
    with connect(source) as conn:
        conn.execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)")
    with connect(target) as conn:
        conn.execute("CREATE TABLE keep_me (id int)")
    assert run_script("backup.sh", "--no-media", env=script_env(tmp_path, source)).returncode == 0
    dump = only_backup(tmp_path) / "db.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    result = run_script("restore.sh", "--yes", str(dump), env=script_env(tmp_path, target))

    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    with connect(target) as conn:
        assert conn.execute("SELECT to_regclass('keep_me')").fetchone() == ("keep_me",)
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)


def test_a_restore_that_fails_midway_leaves_the_database_as_it_was(tmp_path, new_database):
    source, target = new_database(), new_database()
    with connect(source) as conn:
        conn.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)")
    with connect(target) as conn:
        conn.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (99)")
    assert run_script("backup.sh", "--no-media", env=script_env(tmp_path, source)).returncode == 0
    # a session that still holds a lock on the target's table: emptying the schema times out
    holder = connect(target)
    holder.execute("LOCK TABLE t IN ACCESS SHARE MODE")
    try:
        result = run_script(
            "restore.sh",
            "--yes",
            "--no-safety-backup",
            str(only_backup(tmp_path)),
            env=script_env(tmp_path, target, PGOPTIONS="-c lock_timeout=1500"),
        )
    finally:
        holder.rollback()
        holder.close()

    assert result.returncode != 0
    assert "the database is unchanged" in result.stderr
    with connect(target) as conn:
        assert conn.execute("SELECT array_agg(id) FROM t").fetchone() == ([99],)


def test_a_restore_leaves_nothing_newer_than_the_backup_beside_it(tmp_path, new_database):
    """An older dump restored with pg_restore --clean kept a later migration's table while
    django_migrations went back: the next migrate failed with "relation already exists"."""
    database = new_database()
    with connect(database) as conn:
        conn.execute(
            "CREATE TABLE django_migrations (id serial PRIMARY KEY, app text, name text);"
            "INSERT INTO django_migrations (app, name) VALUES ('shop', '0001_initial');"
            "CREATE TABLE shop_order (id int)"
        )
    assert run_script("backup.sh", "--no-media", env=script_env(tmp_path, database)).returncode == 0
    with connect(database) as conn:  # release B migrates after the backup
        conn.execute(
            "INSERT INTO django_migrations (app, name) VALUES ('shop', '0002_invoice');"
            "CREATE TABLE shop_invoice (id int)"
        )

    result = run_script(
        "restore.sh",
        "--yes",
        "--no-safety-backup",
        str(only_backup(tmp_path)),
        env=script_env(tmp_path, database),
    )

    assert result.returncode == 0, result.stderr
    with connect(database) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        migrations = conn.execute(
            "SELECT array_agg(name ORDER BY id) FROM django_migrations"
        ).fetchone()[0]
    assert tables == {"django_migrations", "shop_order"}, "release B's table is gone with its row"
    assert migrations == ["0001_initial"]


def test_a_failed_dump_leaves_no_backup_behind(tmp_path):
    result = run_script("backup.sh", env=script_env(tmp_path, "admin2_ops_does_not_exist"))

    assert result.returncode != 0
    assert "pg_dump failed" in result.stderr
    assert [
        p.name for p in (tmp_path / "backups").iterdir() if not p.name.startswith(".lock")
    ] == []


def test_unknown_options_and_backups_are_rejected_clearly(tmp_path):
    env = script_env(tmp_path, "postgres")
    assert "unknown option --frobnicate" in run_script("backup.sh", "--frobnicate", env=env).stderr
    assert (
        "--label takes lowercase" in run_script("backup.sh", "--label", "Bad Label", env=env).stderr
    )
    missing = run_script("restore.sh", "--yes", "admin2-20260101T000000Z", env=env)
    assert missing.returncode != 0 and "no backup 'admin2-20260101T000000Z'" in missing.stderr


def test_list_shows_the_backups_newest_first(tmp_path, new_database):
    source = new_database()
    for stamp in ("20261101T031500Z", "20261102T031500Z"):
        env = script_env(tmp_path, source, BACKUP_STAMP=stamp)
        assert run_script("backup.sh", "--no-media", env=env).returncode == 0

    listing = run_script("backup.sh", "list", env=script_env(tmp_path, source))

    assert listing.returncode == 0
    names = [line.split()[0] for line in listing.stdout.splitlines()[1:]]
    assert names == ["admin2-20261102T031500Z", "admin2-20261101T031500Z"]
