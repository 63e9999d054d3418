"""ADMIN2_MEDIA_STORAGE chooses where media lives; a bad or incomplete S3 configuration
stops start-up naming the variable. Checked in real child processes with production
settings (settings/media_storage.py)."""

import json

import pytest

from harness.processes import django_env, run_admin2
from tests.core.test_production_settings import production_env
from tests.support import start_up

pytestmark = pytest.mark.slow

S3 = {
    "ADMIN2_MEDIA_STORAGE": "s3",
    "ADMIN2_S3_BUCKET": "admin2-media",
    "ADMIN2_S3_ENDPOINT_URL": "https://s3.internal.example:9000",
    "ADMIN2_S3_REGION": "eu-west-1",
    "ADMIN2_S3_ACCESS_KEY_ID": "AKIAADMIN2EXAMPLE",
    "ADMIN2_S3_SECRET_ACCESS_KEY": "s3-secret-for-tests-only",
}
SHOW_STORAGE = (
    "import json; from django.conf import settings; print(json.dumps(settings.STORAGES['default']))"
)


def default_storage(env) -> dict:
    result = run_admin2("shell", "-c", SHOW_STORAGE, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_local_filesystem_is_the_default():
    storage = default_storage(production_env())
    assert storage == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_s3_makes_the_default_storage_the_bucket_with_the_secret_from_a_file(tmp_path):
    secret = tmp_path / "s3_secret"
    secret.write_text("from-the-secret-file\n")
    file_secret = {
        "ADMIN2_S3_SECRET_ACCESS_KEY": None,
        "ADMIN2_S3_SECRET_ACCESS_KEY_FILE": str(secret),
    }
    env = production_env(**{**S3, **file_secret})
    storage = default_storage(env)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "admin2-media", "https://s3.internal.example:9000", "eu-west-1",
    )  # fmt: skip
    assert (options["access_key"], options["secret_key"]) == (
        "AKIAADMIN2EXAMPLE", "from-the-secret-file",
    )  # fmt: skip
    assert options["default_acl"] is None and options["file_overwrite"] is True


def test_outside_production_boto3_may_find_the_credentials_itself(tmp_path):
    env = django_env(
        DJANGO_ENVIRONMENT="development", ADMIN2_VAR_DIR=str(tmp_path),
        ADMIN2_MEDIA_STORAGE="s3", ADMIN2_S3_BUCKET="admin2-dev",
    )  # fmt: skip
    options = default_storage(env)["OPTIONS"]
    assert options["bucket_name"] == "admin2-dev"
    assert "access_key" not in options and "secret_key" not in options


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ADMIN2_MEDIA_STORAGE": "ftp"}, "ADMIN2_MEDIA_STORAGE: expected one of filesystem, s3"),
        ({"ADMIN2_S3_BUCKET": None}, "ADMIN2_S3_BUCKET: required environment variable"),
        ({"ADMIN2_S3_BUCKET": " "}, "ADMIN2_S3_BUCKET: the bucket name is empty"),
        ({"ADMIN2_S3_ENDPOINT_URL": "s3.example:9000"}, "ADMIN2_S3_ENDPOINT_URL: expected"),
        ({"ADMIN2_S3_ENDPOINT_URL": "http://s3:port"}, "ADMIN2_S3_ENDPOINT_URL: the URL has"),
        ({"ADMIN2_S3_ADDRESSING_STYLE": "dns"}, "ADMIN2_S3_ADDRESSING_STYLE: expected one of"),
        ({"ADMIN2_S3_SECRET_ACCESS_KEY": None}, "ADMIN2_S3_SECRET_ACCESS_KEY: production needs"),
        ({"ADMIN2_S3_ACCESS_KEY_ID": None}, "ADMIN2_S3_ACCESS_KEY_ID: production needs"),
    ],
)
def test_a_bad_s3_configuration_stops_start_up_naming_the_variable(overrides, message):
    assert message in start_up.refusal(production_env(**{**S3, **overrides}))
