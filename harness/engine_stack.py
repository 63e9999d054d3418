"""A Compose stack on the real Docker Engine, as an operator runs it, for the tests.

``ComposeStack`` runs ``docker compose -p <unique> -f containers/docker-compose.<stack>.yml
--env-file <generated>`` with the images pre-built (``up --no-build --wait``); the env file is
the stack's example with only what a test machine must change. ``down -v`` always runs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from harness import compose, engine
from harness.native import self_signed_certificate
from harness.processes import REPO, free_port

CLOSED_PORT = "9"  # discard: nothing listens on it inside any of our containers


def parse_env(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def free_subnet() -> str:
    """A /24 in 10.213.0.0/16 for a stack's frontend network: stacks run side by side, and the
    engine's own address pools (172.17-31.0.0/16, 192.168.0.0/16) hand out whole /16s, so a
    fixed 172.30.x.0/24 can collide with a network made by any other test."""
    return engine.reserve_subnet("10.213", range(10, 250))


class ComposeStack:
    def __init__(self, stack: str, workdir: Path, image_tag: str,
                 extra_files: tuple[Path, ...] = (), **overrides: str):  # fmt: skip
        self.stack = stack
        self.file = compose.compose_file(stack)
        self.extra_files = extra_files
        self.workdir = workdir
        self.project = f"admin2e2e{stack[:4]}{uuid.uuid4().hex[:8]}"
        self.ports = {"nginx": free_port(), "tls": free_port(), "redis": free_port()}
        self.secrets_dir = workdir / "secrets"
        self.certs_dir = workdir / "certs"
        self.env_file = workdir / f".env.{stack}"
        self.log_file = workdir / "compose.log"
        env = parse_env(compose.example_env_file(stack).read_text())
        # Only what a test machine must change: free ports published on 127.0.0.1 only, and
        # ClickHouse and SMTP at a closed port on 127.0.0.1 *inside the container*: never an
        # outside address (the example's *.example.com are public hosts).
        env.update(
            ADMIN2_IMAGE_TAG=image_tag,
            ADMIN2_ENV_FILE=str(self.env_file),
            ADMIN2_SECRETS_DIR=str(self.secrets_dir),
            ADMIN2_PUBLISH_ADDRESS="127.0.0.1",
            ADMIN2_REDIS_HOST_PORT=str(self.ports["redis"]),
            PORT_NGINX=str(self.ports["nginx"]),
            NGINX_TLS_PORT=str(self.ports["tls"]),
            NGINX_CERTS_DIR=str(self.certs_dir),
            NGINX_SERVER_NAME="localhost",
            DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
            CLICKHOUSE_HOST="127.0.0.1",
            CLICKHOUSE_PORT=CLOSED_PORT,
            CLICKHOUSE_SECURE="false",
            CLICKHOUSE_CONNECT_TIMEOUT="1",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=CLOSED_PORT,
        )
        if stack == "production":
            env["ADMIN2_FRONTEND_SUBNET"] = free_subnet()
        if "monitoring" in env.get("COMPOSE_PROFILES", "").split(","):
            env.update(self._monitoring_env(stack))
        if engine.image_labels("nginx:1.28-bookworm").get(engine.LABEL):
            env["NGINX_UPSTREAM_RESOLVE"] = ""  # Debian's Nginx 1.22 stand-in (docs/containers.md)
        env.update(overrides)
        self.env = env
        self._write_files()

    def _monitoring_env(self, stack: str) -> dict[str, str]:
        """The monitoring profile's host side: free loopback ports, the alert spool (written
        by the hook container's own user) and node-exporter's textfile directory."""
        self.ports.update(prometheus=free_port(), alertmanager=free_port())
        env = {"ADMIN2_PROMETHEUS_HOST_PORT": str(self.ports["prometheus"])}
        if stack == "production":
            self.spool_dir = self.workdir / "alert-spool"
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            self.spool_dir.chmod(0o777)
            textfile = self.workdir / "textfile"
            textfile.mkdir(exist_ok=True)
            env.update(
                ADMIN2_ALERTMANAGER_HOST_PORT=str(self.ports["alertmanager"]),
                ADMIN2_ALERT_SPOOL_DIR=str(self.spool_dir),
                BACKUP_TEXTFILE_DIR=str(textfile),
            )
        return env

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.ports['prometheus']}"

    def _write_files(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.secrets_dir.mkdir(exist_ok=True)
        declared = compose.raw(self.stack).get("secrets") or {}
        for name in declared:
            path = self.secrets_dir / name
            if not path.exists():
                path.write_text(secrets.token_urlsafe(48))
                path.chmod(0o444)  # read by the containers' own users, as the example says
        if self.env.get("NGINX_TLS") == "on":
            self_signed_certificate(
                self.certs_dir, self.env["NGINX_TLS_CERT"], self.env["NGINX_TLS_KEY"]
            )
            for path in self.certs_dir.iterdir():
                path.chmod(0o644)
        self.certs_dir.mkdir(exist_ok=True)

    # ---- compose --------------------------------------------------------------------------
    def argv(self, *args: str) -> list[str]:
        files = [arg for f in (self.file, *self.extra_files) for arg in ("-f", str(f))]
        return [*engine.compose_cli(), "-p", self.project, *files,
                "--env-file", str(self.env_file), *args]  # fmt: skip

    def compose(self, *args: str, timeout: float = 300, check: bool = True,
                env: dict | None = None) -> subprocess.CompletedProcess:  # fmt: skip
        result = subprocess.run(
            self.argv(*args), cwd=REPO, capture_output=True, text=True, timeout=timeout,
            check=False, env={**os.environ, "ADMIN2_ENV_FILE": str(self.env_file), **(env or {})},
        )  # fmt: skip
        with self.log_file.open("a") as log:
            log.write(f"$ compose {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            pytest.fail(
                f"compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}\n{self.diagnostics()}"
            )
        return result

    def up(self, timeout: float = 420) -> float:
        started = time.monotonic()
        if self.stack == "production":  # the db image, built like `just release` builds it
            self.env["ADMIN2_DB_IMAGE_TAG"] = engine.ensure_db_image()
            self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.compose("up", "--detach", "--no-build", "--wait", "--wait-timeout", str(int(timeout)),
                     timeout=timeout + 60)  # fmt: skip
        return time.monotonic() - started

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10",
                     timeout=300, check=False)  # fmt: skip

    def down_unless_kept(self) -> bool:
        """Take the stack down unless ADMIN2_E2E_KEEP keeps it for a look; True when down."""
        if os.environ.get("ADMIN2_E2E_KEEP"):
            engine.log(f"kept: {' '.join(self.argv())}")
            return False
        self.down()
        return True

    def exec(self, service: str, *argv: str, env: dict | None = None, user: str | None = None,
             timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:  # fmt: skip
        args = ["exec", "-T"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        if user:
            args += ["--user", user]
        return self.compose(*args, service, *argv, timeout=timeout, check=check)

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-q", "--all", service).stdout.split()
        assert ids, f"no {service} container"
        return ids[0]

    def inspect(self, service: str) -> dict:
        return json.loads(engine.docker("inspect", self.container(service)).stdout)[0]

    def health(self, service: str) -> str:
        state = self.inspect(service)["State"]
        return (state.get("Health") or {}).get("Status") or state["Status"]

    def wait_healthy(self, service: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.health(service) == "healthy":
                return
            time.sleep(1)
        pytest.fail(f"{service} not healthy after {seconds} s: {self.health(service)}\n"
                    f"{self.diagnostics()}")  # fmt: skip

    def logs(self, service: str | None = None, tail: int = 200) -> str:
        args = ["logs", "--no-color", "--tail", str(tail)]
        result = self.compose(*args, *([service] if service else []), check=False)
        return result.stdout + result.stderr

    def diagnostics(self) -> str:
        ps = subprocess.run(self.argv("ps", "--all"), capture_output=True, text=True,
                            timeout=60, check=False, cwd=REPO)  # fmt: skip
        logs = subprocess.run(
            self.argv("logs", "--no-color", "--tail", "40"),
            capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        )  # fmt: skip
        return f"--- ps\n{ps.stdout}\n--- logs (tail)\n{logs.stdout[-8000:]}"

    # ---- HTTP through Nginx -----------------------------------------------------------------
    @property
    def https(self) -> str:
        return f"https://localhost:{self.ports['tls']}"

    @property
    def http(self) -> str:
        return f"http://localhost:{self.ports['nginx']}"

    @property
    def cert(self) -> str:
        return str(self.certs_dir / self.env["NGINX_TLS_CERT"])

    def get(self, path: str, session: requests.Session | None = None, **kwargs):
        kwargs.setdefault("timeout", 20)
        kwargs.setdefault("verify", self.cert)
        return (session or requests).get(f"{self.https}{path}", **kwargs)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)
