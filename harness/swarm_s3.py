"""S3-compatible storage for the test swarm: moto's server in the bed's hub namespace.

Stand-in for the provider's bucket, as in harness/s3.py, but on the hub's bridge address, so
every node's tasks reach it and nothing leaves the bed. Plain HTTP: TLS to the bucket is
proven natively (tests/analytics/test_exports_on_s3.py). ``python -m`` runs the hub side.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from harness.processes import REPO, ManagedProcess, venv_tool, wait_until
from harness.s3 import REGION
from harness.swarm import SUBNET, Swarm

PORT = 9000  # in the hub namespace, which only this bed uses
BUCKET = "admin2-media"


@dataclass(frozen=True)
class MediaBucket:
    endpoint: str
    key: str
    secret: str

    @property
    def env(self) -> dict[str, str]:
        """The env file's lines for it; the secret key goes to the swarm secret instead."""
        return {"ADMIN2_MEDIA_STORAGE": "s3", "ADMIN2_S3_BUCKET": BUCKET,
                "ADMIN2_S3_ENDPOINT_URL": self.endpoint, "ADMIN2_S3_REGION": REGION,
                "ADMIN2_S3_ADDRESSING_STYLE": "path",
                "ADMIN2_S3_ACCESS_KEY_ID": self.key}  # fmt: skip


class HubS3:
    def __init__(self, bed: Swarm, workdir: Path):
        self.bed, self.workdir = bed, workdir
        self.endpoint = f"http://{SUBNET}.1:{PORT}"
        self.process: ManagedProcess | None = None
        self.bucket: MediaBucket | None = None

    def start(self) -> MediaBucket:
        """moto up, the bucket made and a user who may use only it; then moto checks every
        request's signature, so only that user's secret key opens the bucket."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            ["nsenter", f"--net=/run/netns/{self.bed.hub}", venv_tool("moto_server"),
             "-H", f"{SUBNET}.1", "-p", str(PORT)],
            log=self.workdir / "moto.log",
        )  # fmt: skip
        wait_until(lambda: self._hub("ping", check=False).returncode == 0, 60, "moto in the hub")
        made = json.loads(self._hub("setup").stdout)
        self.bucket = MediaBucket(self.endpoint, made["key"], made["secret"])
        return self.bucket

    def read(self, key: str) -> bytes:
        """An object's bytes, read in the hub with the media user's key."""
        target = self.workdir / "read.bin"
        self._hub("get", key, str(target), self.bucket.key, self.bucket.secret)
        return target.read_bytes()

    def keys(self) -> list[str]:
        return json.loads(self._hub("keys", self.bucket.key, self.bucket.secret).stdout)

    def _hub(self, *args: str, check: bool = True):
        return self.bed.in_hub("env", f"PYTHONPATH={REPO}", sys.executable, "-m",
                               "harness.swarm_s3", self.endpoint, *args, timeout=60,
                               check=check)  # fmt: skip

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None


def _client(service: str, endpoint: str, key: str = "moto-root",
            secret: str = "moto-root"):  # noqa: S107 (moto's root before IAM is on)  # fmt: skip
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret)  # fmt: skip


def _setup(endpoint: str) -> dict:
    _client("s3", endpoint).create_bucket(Bucket=BUCKET)
    iam = _client("iam", endpoint)
    iam.create_user(UserName="admin2-media")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:*"],
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}  # fmt: skip
    iam.put_user_policy(UserName="admin2-media", PolicyName="media",
                        PolicyDocument=json.dumps(policy))  # fmt: skip
    made = iam.create_access_key(UserName="admin2-media")["AccessKey"]
    request = urllib.request.Request(  # noqa: S310 (the bed's hub)
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (the bed's hub)
    return {"key": made["AccessKeyId"], "secret": made["SecretAccessKey"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("command", choices=["ping", "setup", "get", "keys"])
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    if args.command == "ping":
        urllib.request.urlopen(f"{args.endpoint}/moto-api/", timeout=2).close()  # noqa: S310
    elif args.command == "setup":
        print(json.dumps(_setup(args.endpoint)))
    elif args.command == "get":
        key, target, access, secret = args.rest
        body = _client("s3", args.endpoint, access, secret).get_object(Bucket=BUCKET, Key=key)
        Path(target).write_bytes(body["Body"].read())
    else:
        listing = _client("s3", args.endpoint, *args.rest).list_objects_v2(Bucket=BUCKET)
        print(json.dumps(sorted(item["Key"] for item in listing.get("Contents", []))))


if __name__ == "__main__":
    main()
