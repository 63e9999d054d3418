"""Debian's ``docker-registry`` (Distribution 2.x) with a config of our own, for the tests.

The package's own config enables htpasswd and listens on every interface: never used here.
``netns`` starts it inside a network namespace (``nsenter --net``), e.g. a swarm's hub.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

BINARY = "/usr/bin/docker-registry"


class Registry:
    def __init__(self, root: Path, address: str, netns: str | None = None,
                 storage: Path | None = None):  # fmt: skip
        self.root, self.address, self.netns = root, address, netns
        self.storage = storage or root / "data"  # another directory to share or keep it
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if not Path(BINARY).exists():
            pytest.fail("docker-registry is missing (apt-get install docker-registry)")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "registry.yml"
        config.write_text(
            "version: 0.1\nlog: {level: warn}\n"
            f"storage: {{filesystem: {{rootdirectory: {self.storage}}}, "
            "delete: {enabled: true}}\n"
            f"http: {{addr: {self.address}}}\n"
        )
        prefix = ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []
        with open(self.root / "registry.log", "ab") as log:
            self.process = subprocess.Popen(
                [*prefix, BINARY, "serve", str(config)], stdout=log, stderr=log,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
