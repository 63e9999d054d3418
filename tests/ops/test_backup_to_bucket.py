"""BACKUP_S3_PREFIX: each nightly backup also goes, age-encrypted, into the continuous backups'
bucket (moto's S3 behind a TLS Nginx, harness/s3.py), signed with the server's key; a failed
upload is tried again."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from harness.processes import port_open, wait_until
from harness.s3 import LocalS3, serving_protected_bucket
from tests.ops.conftest import connect, run_script, script_env

pytestmark = pytest.mark.slow

BUCKET = "admin2-dumps"


@pytest.fixture(scope="module")
def bucket(tmp_path_factory):
    with serving_protected_bucket(tmp_path_factory.mktemp("dumps-s3"), BUCKET) as s3:
        yield s3


@pytest.fixture
def age_key(tmp_path):
    key = tmp_path / "operator-age-key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(
        ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
    )
    return key, public.stdout.strip()


def bucket_env(tmp_path, dbname, s3: LocalS3, recipient: str, **extra: str) -> dict[str, str]:
    server = s3.users["server"]
    return script_env(
        tmp_path,
        dbname,
        BACKUP_S3_PREFIX="dumps",
        BACKUP_AGE_RECIPIENTS=recipient,
        PGBACKREST_REPO1_S3_ENDPOINT="localhost",
        PGBACKREST_REPO1_STORAGE_PORT=str(s3.port),
        PGBACKREST_REPO1_STORAGE_CA_FILE=str(s3.ca_file),
        PGBACKREST_REPO1_S3_BUCKET=BUCKET,
        PGBACKREST_REPO1_S3_REGION="us-east-1",
        PGBACKREST_REPO1_S3_KEY=server.key,
        PGBACKREST_REPO1_S3_KEY_SECRET=server.secret,
        **extra,
    )


def test_a_backup_lands_in_the_bucket_encrypted_and_decrypts_with_the_operators_key(
    tmp_path, new_database, bucket, age_key
):
    source = new_database()
    with connect(source) as conn:
        conn.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (42)")
    key, public = age_key

    result = run_script("backup.sh", "--no-media", env=bucket_env(tmp_path, source, bucket, public))

    assert result.returncode == 0, result.stderr
    local = next((tmp_path / "backups").glob("admin2-*"))
    s3 = bucket.client(bucket.users["server"])
    sealed = s3.get_object(Bucket=BUCKET, Key=f"dumps/{local.name}.tar.age")["Body"].read()
    assert sealed.startswith(b"age-encryption.org/v1") and b"PGDMP" not in sealed
    opened = subprocess.run(
        ["age", "--decrypt", "-i", str(key)], input=sealed, capture_output=True, check=True
    ).stdout
    (tmp_path / "opened.tar").write_bytes(opened)
    (tmp_path / "opened").mkdir()
    subprocess.run(
        ["tar", "-C", str(tmp_path / "opened"), "-xf", str(tmp_path / "opened.tar")], check=True
    )
    assert (tmp_path / "opened" / local.name / "db.dump").read_bytes() == (
        local / "db.dump"
    ).read_bytes()
    assert not list((tmp_path / "backups").glob(".upload-*")), "no plaintext or sealed leftovers"


def test_an_upload_that_fails_is_tried_again(tmp_path, new_database, bucket, age_key):
    source = new_database()
    _, public = age_key
    bucket.stop_proxy()  # the bucket is unreachable for the first attempt

    def back_soon():
        time.sleep(1)
        bucket.start_proxy()

    restarter = threading.Thread(target=back_soon)
    restarter.start()
    try:
        env = bucket_env(tmp_path, source, bucket, public, BACKUP_REMOTE_RETRY_SECONDS="4")
        result = run_script("backup.sh", "--no-media", env=env)
    finally:
        restarter.join()
    wait_until(lambda: port_open(bucket.port), 15, "the bucket's proxy")

    assert result.returncode == 0, result.stderr
    assert "the copy to the bucket failed (attempt 1 of 3)" in result.stderr
    assert "encrypted copy in the bucket at dumps/" in result.stderr


def test_without_an_age_recipient_nothing_goes_to_the_bucket(tmp_path, new_database, bucket):
    env = bucket_env(tmp_path, new_database(), bucket, "")
    result = run_script("backup.sh", "--no-media", env=env)
    assert result.returncode != 0
    assert "nothing leaves this host unencrypted" in result.stderr
