"""S3-compatible storage on loopback: moto's server mode behind a TLS Nginx.

Stand-in for the provider's bucket (AWS S3, Backblaze B2, Wasabi...), which cannot exist here.
pgBackRest speaks S3 over HTTPS only and its uploads to moto's own TLS listener break off
(MACHINE-FACTS.md), so Nginx terminates TLS for ``localhost`` and streams to moto's plain port.
Stopping the proxy is the network outage an upload must survive; moto keeps its objects in
memory, so moto itself keeps running.

The bucket is made the way docs/operations.md tells an operator to: versioning and object lock
on, and two IAM users: ``server`` may read, list and write, and never delete an object's
version; ``admin`` (kept off the server) applies the retention.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.native import self_signed_certificate
from harness.nginx import Nginx
from harness.processes import (
    ManagedProcess,
    free_port,
    port_open,
    require_binary,
    venv_tool,
    wait_until,
)

REGION = "us-east-1"

# Versioning keeps every object's old versions; the server may write and may "delete" (pgBackRest
# removes a few pointer files), which in a versioned bucket only adds a delete marker. What
# destroys data — deleting a version, changing the lock, versioning or the bucket — is denied.
SERVER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            # The provider's s3:GetObject, s3:ListBucket, s3:PutObject, s3:DeleteObject,
            # s3:AbortMultipartUpload (docs/operations.md), spelled so that moto's own
            # action names (ListObjectsV2, HeadObject, the multipart steps) match too.
            "Action": ["s3:Get*", "s3:List*", "s3:Head*", "s3:PutObject", "s3:DeleteObject",
                       "s3:AbortMultipartUpload", "s3:CreateMultipartUpload", "s3:UploadPart",
                       "s3:CompleteMultipartUpload"],
            "Resource": ["arn:aws:s3:::*"],
        },
        {
            "Effect": "Deny",
            "Action": ["s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:PutBucketPolicy",
                       "s3:PutBucketVersioning", "s3:PutObjectRetention",
                       "s3:BypassGovernanceRetention", "s3:PutLifecycleConfiguration",
                       "s3:PutBucketObjectLockConfiguration"],
            "Resource": ["arn:aws:s3:::*"],
        },
    ],
}  # fmt: skip
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}],
}

PROXY_CONFIG = """
events {{ worker_connections 64; }}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{port} ssl;{also_listen}
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        location / {{
            proxy_pass http://127.0.0.1:{moto_port};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class Credentials:
    key: str
    secret: str


class LocalS3:
    def __init__(self, workdir: Path, *, also_on: str | None = None):
        # also_on: a host-local address containers reach (the engine's bridge gateway), for a
        # db container on a Compose network; the certificate does not name it
        self.workdir = workdir
        self.also_on = also_on
        self.moto_port = self.port = 0
        self.moto: ManagedProcess | None = None
        self.proxy: Nginx | None = None
        self.users: dict[str, Credentials] = {}

    @property
    def ca_file(self) -> Path:
        return self.workdir / "tls" / "cert.pem"

    @property
    def endpoint(self) -> str:
        """What a client on this machine uses: TLS through the proxy."""
        return f"https://localhost:{self.port}"

    def start(self) -> LocalS3:
        # the project's own moto (a dev dependency), not whichever one PATH finds first
        binary = venv_tool("moto_server")
        if not Path(binary).exists():
            binary = require_binary("moto_server", "uv sync (moto[server] is a dev dependency)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.moto_port, self.port = free_port(), free_port()
        self.moto = ManagedProcess(
            [binary, "-H", "127.0.0.1", "-p", str(self.moto_port)],
            log=self.workdir / "moto.log",
        )
        wait_until(lambda: port_open(self.moto_port), 60, "moto_server")
        self_signed_certificate(self.workdir / "tls", "cert.pem", "key.pem")
        self.start_proxy()
        return self

    def start_proxy(self) -> None:
        config = PROXY_CONFIG.format(
            port=self.port,
            moto_port=self.moto_port,
            cert=self.ca_file,
            key=self.workdir / "tls" / "key.pem",
            also_listen=f"\n        listen {self.also_on}:{self.port} ssl;" if self.also_on else "",
        )
        self.proxy = Nginx(self.workdir / "proxy", config)
        self.proxy.start(self.port)

    def stop_proxy(self) -> None:
        """The storage drops off the network (moto and its objects stay)."""
        if self.proxy:
            self.proxy.stop()
            self.proxy = None

    def client(self, who: Credentials | None = None):
        import boto3

        who = who or Credentials("moto-root", "moto-root")
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.moto_port}",
            region_name=REGION,
            aws_access_key_id=who.key,
            aws_secret_access_key=who.secret,
        )

    def make_protected_bucket(self, bucket: str, *, lock_days: int = 1) -> None:
        """Versioning, object lock (GOVERNANCE: the admin may shorten it, the server may not),
        a server and an admin user; then IAM is switched on."""
        s3 = self.client()
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": lock_days}},
            },
        )
        for name, policy in (("server", SERVER_POLICY), ("admin", ADMIN_POLICY)):
            self.users[name] = self._user(name, policy)
        # From here on moto checks signatures and IAM policies like the provider does.
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.moto_port}/moto-api/reset-auth",
            data=b"0",  # requests allowed without authentication from now on
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (loopback)

    def _user(self, name: str, policy: dict) -> Credentials:
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=f"http://127.0.0.1:{self.moto_port}",
            region_name=REGION,
            aws_access_key_id="moto-root",
            aws_secret_access_key="moto-root",
        )
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName=f"{name}-backups", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    def stop(self) -> None:
        self.stop_proxy()
        if self.moto:
            self.moto.stop()
            self.moto = None


@contextlib.contextmanager
def serving_protected_bucket(
    workdir: Path, bucket: str, *, also_on: str | None = None
) -> Iterator[LocalS3]:
    """A started LocalS3 with ``bucket`` made as a server would find it (versioned, locked,
    the server's key unable to delete versions), stopped afterwards."""
    s3 = LocalS3(workdir, also_on=also_on).start()
    try:
        s3.make_protected_bucket(bucket)
        yield s3
    finally:
        s3.stop()
