"""A private OCI registry on 127.0.0.1 for the deploy tests: Debian's `docker-registry`.

Plain HTTP on loopback, which the Docker Engine allows without TLS (127.0.0.0/8 is an
insecure registry by default); storage in a temporary directory; no authentication.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from harness.processes import (
    ManagedProcess,
    free_port,
    port_open,
    require_binary,
    wait_until,
)


class LocalRegistry:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = 0
        self.process: ManagedProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalRegistry:
        if self.process and self.process.alive():
            return self  # running already: a second one could not bind the port
        binary = require_binary("docker-registry", "Debian package docker-registry")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.workdir / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
        )
        self.process = ManagedProcess(
            [binary, "serve", str(config)], log=self.workdir / "registry.log"
        )
        wait_until(self._answers, 30, f"docker-registry on {self.address}")
        return self

    def _answers(self) -> bool:
        if not port_open(self.port):
            return False
        with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=5) as response:
            return response.status == 200

    def stop(self) -> None:
        """Gone, as a registry the server cannot reach; start() brings the same one back."""
        if self.process:
            self.process.stop()
            self.process = None
