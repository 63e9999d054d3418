"""The production stack file deployed on a test swarm, as an operator deploys it.

``deploy_production`` labels the nodes, pushes the images by digest, writes the env file,
secrets and a certificate for the node addresses, then runs deploy/swarm/deploy.sh.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest

from harness import engine
from harness.engine_stack import CLOSED_PORT, parse_env
from harness.processes import REPO
from harness.swarm import CLI, Swarm

STACK = "admin2"
IMAGES = {"app": f"admin2:{engine.TEST_TAG}", "nginx": "nginx:1.28-bookworm",
          "postgres": "postgres:15-bookworm", "redis": "redis:7.4-bookworm"}  # fmt: skip
HEARTBEAT_SECONDS = 5
SECRETS = ("django_secret_key", "postgres_password", "clickhouse_password", "redis_password")


class SwarmStack:
    def __init__(self, bed: Swarm, workdir: Path, *, env: dict | None = None,
                 s3_secret: str | None = None):  # fmt: skip
        """``env``: more env file lines; ``s3_secret``: the bucket's secret key (absent, the
        deploy script gives the swarm secret a placeholder)."""
        self.bed, self.workdir = bed, workdir
        self.env, self.s3_secret = env or {}, s3_secret
        self.s3 = None  # the bed's bucket (harness/swarm_s3.py), when media is in one
        self.env_file = workdir / ".env.production"
        self.cert = workdir / "certs" / "fullchain.pem"
        self.digests: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    def prepare(self, label_nodes: bool = True) -> None:
        """After ``bed.up(IMAGES)``; ``label_nodes=False`` when `just swarm-init` formed the
        swarm (it labels the nodes)."""
        first = self.bed.nodes[0]
        # Node roles by label: PostgreSQL and Redis on the first node, Nginx on every node.
        for node in self.bed.nodes if label_nodes else ():
            labels = ["--label-add", "admin2.edge=true"]
            if node is first:
                labels += ["--label-add", "admin2.db=true", "--label-add", "admin2.redis=true"]
            first.docker("node", "update", *labels, node.name)
        self.digests = self.bed.digests
        # Present from the seed already: pulling by digest only checks them against the
        # registry (and would fetch what is missing).
        self.bed.pull(list(self.digests.values()))
        self._write_files()

    def _write_files(self) -> None:
        env = parse_env((REPO / "containers" / ".env.production.example").read_text())
        addresses = [node.address for node in self.bed.nodes]
        env.update(
            ADMIN2_SECRETS_DIR=str(self.workdir / "secrets"),
            NGINX_CERTS_DIR=str(self.workdir / "certs"),
            NGINX_SERVER_NAME="_",
            DJANGO_ALLOWED_HOSTS=",".join(addresses),
            NGINX_LOGIN_RATE="600r/m",  # the request loops log in many times a minute
            # Beat's heartbeat often enough to count its fires across an update or a node
            # loss; a lost worker's reserved tasks back in the queue within the test.
            ADMIN2_TASKS_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            CELERY_VISIBILITY_TIMEOUT="30",  # must exceed the time limits (settings)
            CELERY_TASK_SOFT_TIME_LIMIT="10", CELERY_TASK_TIME_LIMIT="20",
            # Nothing outside the bed: ClickHouse and SMTP at a closed port on loopback.
            CLICKHOUSE_HOST="127.0.0.1", CLICKHOUSE_PORT=CLOSED_PORT,
            CLICKHOUSE_SECURE="false", CLICKHOUSE_CONNECT_TIMEOUT="1",
            EMAIL_HOST="127.0.0.1", EMAIL_PORT=CLOSED_PORT,
            ADMIN2_NGINX_IMAGE=self.digests["nginx"],
            ADMIN2_POSTGRES_IMAGE=self.digests["postgres"],
            ADMIN2_REDIS_IMAGE=self.digests["redis"],
        )  # fmt: skip
        env.update(self.env)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        (self.workdir / "secrets").mkdir(exist_ok=True)
        for name in SECRETS:
            (self.workdir / "secrets" / name).write_text(secrets.token_urlsafe(48))
        if self.s3_secret:
            (self.workdir / "secrets" / "s3_secret_access_key").write_text(self.s3_secret)
        self.cert.parent.mkdir(exist_ok=True)
        san = ",".join(f"IP:{a}" for a in addresses)
        made = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=admin2-swarm-test", "-addext", f"subjectAltName={san}",
             "-keyout", str(self.cert.parent / "privkey.pem"), "-out", str(self.cert)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            pytest.fail(f"openssl: {made.stderr}")

    def deploy(self, image: str | None = None, timeout: float = 900) -> float:
        """deploy/swarm/deploy.sh as `just deploy-swarm` runs it; the seconds it took."""
        started = time.monotonic()
        result = subprocess.run(
            [str(REPO / "deploy" / "swarm" / "deploy.sh"), image or self.digests["app"],
             str(self.env_file)],
            capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO,
            env={**os.environ, "DOCKER": CLI, "DOCKER_HOST": f"unix://{self.bed.manager.socket}"},
        )  # fmt: skip
        if result.returncode != 0:
            pytest.fail(f"deploy-swarm failed:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
                        f"\n{self.diagnostics()}")  # fmt: skip
        return time.monotonic() - started

    def docker(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.bed.manager.docker(*args, **kwargs)

    def diagnostics(self) -> str:
        manager = self.bed.manager
        ps = manager.docker("stack", "ps", "--no-trunc", "--format",
                            "{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}", STACK,
                            check=False).stdout  # fmt: skip
        return f"--- stack ps\n{ps[-6000:]}"

    def container(self, service: str) -> tuple:
        """(node, container id) of a running task of ``service``."""
        for node in self.bed.nodes:
            found = node.docker("ps", "-q", "--filter",
                                f"label=com.docker.swarm.service.name={STACK}_{service}",
                                timeout=30, check=False).stdout.split()  # fmt: skip
            if found:
                return node, found[0]
        pytest.fail(f"no running task of {service}\n{self.diagnostics()}")

    def exec(self, service: str, *argv: str, env: dict | None = None):
        node, container = self.container(service)
        flags = [arg for k, v in (env or {}).items() for arg in ("-e", f"{k}={v}")]
        return node.docker("exec", *flags, container, *argv, timeout=300)

    def client(self, *args: str, timeout: float = 300) -> str:
        """harness/swarm_client.py in the hub namespace, where every node is reachable."""
        result = self.bed.in_hub(
            "env", f"PYTHONPATH={REPO}", sys.executable, "-m", "harness.swarm_client",
            "--cafile", str(self.cert), *args, timeout=timeout,
        )  # fmt: skip
        return result.stdout


def app_with_embedded_engine() -> str:
    """The production image plus the `embedded` extra's chDB, copied from this checkout's
    venv (the production image leaves it out), so a worker on the bed runs real exports with
    no ClickHouse server; the name built (rebuilt only when the inputs change)."""
    tag = f"admin2:{engine.TEST_TAG}-embedded"
    packages = Path(sysconfig.get_paths()["purelib"])
    dockerfile = Path(tempfile.mkdtemp(prefix="admin2-embedded-")) / "Dockerfile"
    copies = "".join(f"COPY {name} /opt/venv/lib/python3.11/site-packages/{name}\n"
                     for name in _embedded_packages(packages))  # fmt: skip
    dockerfile.write_text(f"FROM {IMAGES['app']}\n{copies}")
    engine.build_image(dockerfile, packages, tag)
    return tag


def _embedded_packages(packages: Path) -> list[str]:
    """chDB and what it imports (the extra's dependencies), as this checkout locked them."""
    names = ("chdb", "chdb_core", "pyarrow", "pandas", "numpy", "dateutil",
             "python_dateutil", "pytz", "tzdata", "six")  # fmt: skip
    return sorted({path.name for name in names
                   for pattern in (name, f"{name}-*.dist-info", f"{name}.libs", f"{name}.py")
                   for path in packages.glob(pattern)})  # fmt: skip


class RequestLoop:
    """harness/swarm_client.py ``loop`` in the hub, through every edge node, until stopped."""

    def __init__(self, stack: SwarmStack, user: str, password: str, nodes=None):
        self.stack = stack
        self.stop_file = stack.workdir / f"stop-{time.monotonic_ns()}"
        bases = [f"https://{node.address}:8443" for node in nodes or stack.bed.nodes]
        self.process = stack.bed.hub_popen(
            "env", f"PYTHONPATH={REPO}", sys.executable, "-m", "harness.swarm_client",
            "--cafile", str(stack.cert), "loop", str(self.stop_file), user, password, *bases,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def finish(self) -> dict:
        self.stop_file.touch()
        out, err = self.process.communicate(timeout=120)
        if self.process.returncode != 0:
            pytest.fail(f"request loop failed:\n{err[-3000:]}")
        return json.loads(out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.stop_file.touch()
            self.process.wait(120)


def new_release(stack: SwarmStack, release: str) -> str:
    """The app image with one more label, pushed: a new digest with the same code (what a
    rebuild after an unrelated change gives), so a deploy updates every app service."""
    first = stack.bed.nodes[0]
    base = stack.digests["app"]
    tag = f"{base.split('@')[0]}:release-{release}"
    dockerfile = f"FROM {base}\nLABEL admin2.test.release={release}\n"
    first.docker("build", "-q", "-t", tag, "-", stdin_text=dockerfile)
    first.docker("push", "-q", tag)
    inspected = first.docker("image", "inspect", "--format", "{{json .RepoDigests}}", tag)
    return next(d for d in json.loads(inspected.stdout) if d.startswith(base.split("@")[0] + "@"))


def web_nodes(stack: SwarmStack) -> list[str]:
    """The node of every running web task."""
    listed = stack.docker("service", "ps", "--filter", "desired-state=running", "--format",
                          "{{.Node}} {{.CurrentState}}", f"{STACK}_web", timeout=30)  # fmt: skip
    return [line.split()[0] for line in listed.stdout.splitlines() if " Running " in f"{line} "]


def converge(stack: SwarmStack, seconds: int = 300) -> None:
    result = subprocess.run(
        [str(REPO / "deploy" / "swarm" / "converge.sh"), STACK, str(seconds)],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
        env={**os.environ, "DOCKER": CLI, "DOCKER_HOST": f"unix://{stack.bed.manager.socket}"},
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"no convergence:\n{result.stderr[-2000:]}\n{stack.diagnostics()}")
