"""A private redis-server on loopback, with the persistence settings a test asks for.

It requires a password, as the Compose stacks' Redis does (a random one unless given;
``password=""`` for none): ``url()`` carries it, so production settings accept the URL.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import redis

from harness.processes import ManagedProcess, free_port, require_binary, wait_until


class RedisServer:
    def __init__(
        self,
        workdir: Path,
        *,
        appendonly: bool = False,
        port: int | None = None,
        password: str | None = None,
    ):
        self.workdir = workdir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.password = secrets.token_urlsafe(24) if password is None else password
        self.process: ManagedProcess | None = None

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = require_binary("redis-server", "apt-get install redis-server")
        argv = [
            binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
            "--save", "", "--daemonize", "no",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always",
        ]  # fmt: skip
        if self.password:
            argv += ["--requirepass", self.password]
        self.process = ManagedProcess(argv, log=self.workdir / f"redis-{self.port}.log")
        client = redis.Redis(
            port=self.port, password=self.password or None, socket_connect_timeout=0.5
        )
        wait_until(lambda: _pings(client), 15, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
