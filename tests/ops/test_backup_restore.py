"""deploy/backup.sh → deploy/restore.sh on a real PostgreSQL (native mode: local pg_dump and
pg_restore against throwaway databases; on the server the same scripts run them in the `db`
container)."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from pathlib import Path

import pytest

from tests.ops.conftest import connect, run_script, script_env

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


def test_backup_then_restore_into_a_fresh_database_is_identical(tmp_path, new_database):
    source = new_database()
    with connect(source) as conn:
        conn.execute(SCHEMA)
    media = tmp_path / "media"
    make_media(media)
    before = fingerprint(source)
    assert sum(before[t][0] for t in TABLES) == 100_000

    backup = run_script("backup.sh", env=script_env(tmp_path, source, MEDIA_DIR=str(media)))

    assert backup.returncode == 0, backup.stderr
    directory = only_backup(tmp_path)
    assert backup.stdout.strip() == str(directory)
    assert sorted(p.name for p in directory.iterdir()) == [
        "INFO",
        "SHA256SUMS",
        "db.dump",
        "media.tar.gz",
    ]
    assert directory.joinpath("db.dump").read_bytes()[:5] == b"PGDMP"

    fresh = new_database()
    restored_media = tmp_path / "restored-media"
    restore = run_script(
        "restore.sh",
        "--yes",
        str(directory),
        env=script_env(tmp_path, fresh, MEDIA_DIR=str(restored_media)),
    )

    assert restore.returncode == 0, restore.stderr
    assert fingerprint(fresh) == before
    # temporary exports are left out of backups (re-creatable, and they bloat every archive)
    expected = {k: v for k, v in media_fingerprint(media).items() if not k.startswith("exports/")}
    assert "exports/report.csv" in media_fingerprint(media)
    assert media_fingerprint(restored_media) == expected


def test_a_backup_taken_during_writes_restores_a_consistent_state(tmp_path, new_database):
    source = new_database()
    accounts, opening = 500, 1_000
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
            "INSERT INTO accounts SELECT g, %s FROM generate_series(1, %s) g", (opening, accounts)
        )

    committed = 0
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer():
        # each transaction moves money and writes one transfer with two legs
        nonlocal committed
        rng = random.Random(7)
        try:
            with connect(source, autocommit=False) as conn:
                while not stop.is_set():
                    src, dst = rng.sample(range(1, accounts + 1), 2)
                    amount = rng.randint(1, 50)
                    with conn.transaction():
                        conn.execute(
                            "UPDATE accounts SET balance = balance - %s WHERE id = %s",
                            (amount, src),
                        )
                        transfer = conn.execute(
                            "INSERT INTO transfers (src, dst, amount) VALUES (%s, %s, %s)"
                            " RETURNING id",
                            (src, dst, amount),
                        ).fetchone()[0]
                        conn.execute(
                            "INSERT INTO transfer_legs (transfer_id, account, delta)"
                            " VALUES (%s, %s, %s), (%s, %s, %s)",
                            (transfer, src, -amount, transfer, dst, amount),
                        )
                        conn.execute(
                            "UPDATE accounts SET balance = balance + %s WHERE id = %s",
                            (amount, dst),
                        )
                    committed += 1
        except BaseException as error:  # surfaced in the test thread
            errors.append(error)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while committed < 50 and time.monotonic() < deadline and not errors:
            time.sleep(0.05)
        before = committed
        backup = run_script("backup.sh", "--no-media", env=script_env(tmp_path, source))
        during = committed - before
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    assert backup.returncode == 0, backup.stderr
    assert during > 0, "the writer must have committed while the backup ran"

    fresh = new_database()
    restore = run_script(
        "restore.sh", "--yes", str(only_backup(tmp_path)), env=script_env(tmp_path, fresh)
    )
    assert restore.returncode == 0, restore.stderr

    with connect(fresh) as conn:
        (total,) = conn.execute("SELECT sum(balance) FROM accounts").fetchone()
        (transfers,) = conn.execute("SELECT count(*) FROM transfers").fetchone()
        (legs,) = conn.execute("SELECT count(*) FROM transfer_legs").fetchone()
        (drifted,) = conn.execute(
            "SELECT count(*) FROM accounts a WHERE a.balance <> %s + coalesce("
            " (SELECT sum(delta) FROM transfer_legs l WHERE l.account = a.id), 0)",
            (opening,),
        ).fetchone()
    assert total == accounts * opening, "money is neither created nor destroyed"
    assert legs == 2 * transfers, "no transfer without both legs"
    assert drifted == 0, "every balance matches its ledger"
    assert before <= transfers < committed, "one snapshot: later commits are not in the dump"
    print(f"writes: {before} committed before the backup, {during} during it; restored {transfers}")


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
