"""A throwaway "production server" on this machine for the deploy tests.

Real sshd on 127.0.0.1, git repositories, deploy/deploy.sh and its release script, curl
against a loopback server where Nginx would be. The one stand-in is the `docker` executable
(tests/deploy/standin_docker.py).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.git import git
from harness.processes import REPO, require_binary
from harness.sshd import SshServer

SERVER_NAME = "admin2.example.com"


class _NginxStandIn(BaseHTTPRequestHandler):
    """Where Nginx would be: answers /healthz and /readyz for the configured host name, and
    502 while the web replicas run the image tag written in `broken-behind-nginx` (a release
    whose containers look healthy but which fails behind the proxy)."""

    standin_state: Path | None = None

    def do_GET(self):
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        status = 200 if self.path in ("/healthz", "/readyz") and host == SERVER_NAME else 400
        if status == 200 and self._web_is_broken():
            status = 502
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"answered\n")

    def _web_is_broken(self) -> bool:
        state = type(self).standin_state
        if not state or not (state / "broken-behind-nginx").exists():
            return False
        broken = (state / "broken-behind-nginx").read_text().strip()
        containers = json.loads((state / "state.json").read_text())["containers"]
        return any(c["service"] == "web" and c["tag"] == broken for c in containers)

    def log_message(self, *args):
        pass


class _RedirectToHttps(BaseHTTPRequestHandler):
    """Nginx's plain-HTTP server when NGINX_TLS=on: redirects everything."""

    def do_GET(self):
        self.send_response(308)
        self.send_header("Location", f"https://{SERVER_NAME}{self.path}")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(handler, tls_context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls_context:
        httpd.socket = tls_context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@dataclass
class DeployWorld:
    root: Path
    sshd: SshServer
    laptop: Path
    server: Path
    standin_state: Path
    bin_dir: Path
    commits: list[str] = field(default_factory=list)

    def commit(self, message: str, *, push: bool = True) -> str:
        (self.laptop / "release.txt").write_text(message + "\n")
        git(self.laptop, "add", "release.txt")
        git(self.laptop, "commit", "-q", "-m", message)
        if push:
            git(self.laptop, "push", "-q", "origin", "HEAD:main")
        sha = git(self.laptop, "rev-parse", "HEAD")
        self.commits.append(sha)
        return sha

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
        env.update(
            {
                "DEPLOY_HOST": "127.0.0.1",
                "DEPLOY_PORT": str(self.sshd.port),
                "DEPLOY_USER": self.sshd.user,
                "DEPLOY_PATH": str(self.server),
                "DEPLOY_SSH_OPTS": " ".join(self.sshd.client_options()),
                # environment variables do not cross SSH: the stand-in docker is put first
                # on the server's PATH this way
                "DEPLOY_REMOTE_PATH_PREFIX": str(self.bin_dir),
                "DEPLOY_ENV_FILE": str(self.root / "no-deploy.env"),
                "DEPLOY_HEALTH_TIMEOUT": "20",
                "DEPLOY_LOCK_TIMEOUT": "5",
            }
        )
        env.update(overrides)
        return env

    def deploy(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(REPO / "deploy" / "deploy.sh"), *(args or ("deploy",))],
            cwd=self.laptop,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    def calls(self) -> list[dict]:
        log = self.standin_state / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def containers(self) -> list[dict]:
        state = json.loads((self.standin_state / "state.json").read_text())
        return state["containers"]

    def images(self) -> list[str]:
        return json.loads((self.standin_state / "state.json").read_text())["images"]

    def state(self, name: str) -> str:
        path = self.server / ".deploy" / name
        return path.read_text().strip() if path.exists() else ""

    def server_head(self) -> str:
        return git(self.server, "rev-parse", "HEAD")

    def set_server_env(self, **values: str) -> None:
        env_file = self.server / "containers" / ".env.production"
        lines = [
            line
            for line in env_file.read_text().splitlines()
            if line.split("=", 1)[0] not in values
        ]
        lines += [f"{name}={value}" for name, value in values.items()]
        env_file.write_text("\n".join(lines) + "\n")

    def mark_unhealthy(self, tag: str | None) -> None:
        flag = self.standin_state / "unhealthy-tag"
        if tag is None:
            flag.unlink(missing_ok=True)
        else:
            flag.write_text(tag)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    require_binary("git", "Debian package git")
    require_binary("curl", "Debian package curl")
    require_binary("flock", "Debian package util-linux")
    server = SshServer(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx_standin():
    httpd = serve(_NginxStandIn)
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def nginx_with_tls(tmp_path_factory):
    """(plain port that only redirects, HTTPS port) with a self-signed certificate."""
    openssl = require_binary("openssl", "Debian package openssl")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={SERVER_NAME}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    redirect, https = serve(_RedirectToHttps), serve(_NginxStandIn, context)
    yield redirect.server_address[1], https.server_address[1]
    for httpd in (redirect, https):
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def world(tmp_path, sshd, nginx_standin) -> DeployWorld:
    origin = tmp_path / "origin.git"
    laptop = tmp_path / "laptop"
    server = tmp_path / "srv-admin2"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(laptop))
    git(laptop, "checkout", "-q", "-b", "main")
    (laptop / "containers").mkdir()
    (laptop / "containers" / "docker-compose.production.yml").write_text("services: {}\n")
    (laptop / ".gitignore").write_text("containers/.env.*\n")
    git(laptop, "add", ".")
    git(laptop, "commit", "-q", "-m", "initial")
    git(laptop, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", str(origin), str(server))
    (server / "containers" / ".env.production").write_text(
        f"PORT_NGINX={nginx_standin}\nDJANGO_ALLOWED_HOSTS={SERVER_NAME},www.{SERVER_NAME}\n"
    )
    state = tmp_path / "standin-docker"
    state.mkdir()
    bin_dir = tmp_path / "server-bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        "# stand-in for the Docker CLI (no Docker engine on this machine)\n"
        f"STANDIN_DOCKER_STATE={state} exec {sys.executable} "
        f'{Path(__file__).parent / "standin_docker.py"} "$@"\n'
    )
    docker.chmod(0o755)
    _NginxStandIn.standin_state = state
    return DeployWorld(tmp_path, sshd, laptop, server, state, bin_dir)
