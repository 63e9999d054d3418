"""BACKUP_REMOTE: each new backup is copied over SSH (a real sshd on 127.0.0.1) and its
checksums are verified on the other side."""

from __future__ import annotations

import pytest

from harness.sshd import SshServer
from tests.ops.conftest import connect, run_script, script_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = SshServer(tmp_path_factory.mktemp("sshd-offsite")).start()
    yield server
    server.stop()


def _offsite_env(tmp_path, dbname, sshd, remote_dir):
    return script_env(
        tmp_path,
        dbname,
        BACKUP_REMOTE=f"{sshd.user}@127.0.0.1:{remote_dir}",
        BACKUP_REMOTE_PORT=str(sshd.port),
        BACKUP_REMOTE_SSH_OPTS=" ".join(sshd.client_options()),
    )


def test_a_backup_is_copied_off_site_and_verified_there(tmp_path, new_database, sshd):
    source = new_database()
    with connect(source) as conn:
        conn.execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 5000)")
    remote_dir = tmp_path / "offsite host" / "admin2"

    result = run_script(
        "backup.sh", "--no-media", env=_offsite_env(tmp_path, source, sshd, remote_dir)
    )

    assert result.returncode == 0, result.stderr
    local = next((tmp_path / "backups").glob("admin2-*"))
    copy = remote_dir / local.name
    assert "off-site copy verified" in result.stderr
    for name in ("db.dump", "INFO", "SHA256SUMS"):
        assert (copy / name).read_bytes() == (local / name).read_bytes()


def test_a_failed_copy_fails_the_run_but_keeps_the_local_backup(tmp_path, new_database, sshd):
    source = new_database()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")

    result = run_script(
        "backup.sh", "--no-media", env=_offsite_env(tmp_path, source, sshd, blocker / "admin2")
    )

    assert result.returncode != 0
    assert "is complete, but the copy to" in result.stderr and "FAILED" in result.stderr
    local = list((tmp_path / "backups").glob("admin2-*"))
    assert len(local) == 1 and (local[0] / "db.dump").is_file()
