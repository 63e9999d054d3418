"""A private S3-compatible server on loopback: moto's, in a process of its own.

It stands in for the S3 service (AWS, MinIO, Ceph...) that cannot exist here; the client side
is real (django-storages over boto3, speaking S3's HTTP API). ``media_env()`` is the
environment that points admin2 at one of its buckets (settings/media_storage.py).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions

from harness.processes import ManagedProcess, free_port, venv_tool, wait_until

REGION = "us-east-1"


class S3Server:
    def __init__(self, workdir: Path, *, port: int | None = None):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        # moto takes any credentials; real ones are still sent and signed.
        self.access_key = f"AKIA{secrets.token_hex(8).upper()}"
        self.secret_key = secrets.token_urlsafe(30)
        self.process: ManagedProcess | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [venv_tool("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = ManagedProcess(argv, log=self.workdir / f"moto-{self.port}.log")
        wait_until(self._answers, 30, f"moto's S3 server on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self.process and not self.process.alive():
            raise AssertionError(f"moto_server exited:\n{self.process.output()[-2000:]}")
        try:
            self.client().list_buckets()
        except botocore.exceptions.EndpointConnectionError:
            return False
        return True

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=botocore.config.Config(
                s3={"addressing_style": "path"}, retries={"max_attempts": 1}
            ),
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def media_env(self, bucket: str) -> dict[str, str]:
        """The variables that make an admin2 process keep its media in ``bucket``."""
        return {
            "ADMIN2_MEDIA_STORAGE": "s3",
            "ADMIN2_S3_BUCKET": bucket,
            "ADMIN2_S3_ENDPOINT_URL": self.endpoint_url,
            "ADMIN2_S3_REGION": REGION,
            "ADMIN2_S3_ADDRESSING_STYLE": "path",
            "ADMIN2_S3_ACCESS_KEY_ID": self.access_key,
            "ADMIN2_S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None
