"""The seed: a dockerd whose image store outlives the test swarms and seeds their nodes.

In the hub namespace, data-root in the registry cache: images go host -> seed -> registry,
only what it lacks (by ID, then by layer); stopped, its store is hard-linked into each node's
empty data-root, so nodes start with every image. Why this is safe: docs/scaling.md."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from harness import engine
from harness.swarm import REGISTRY, Node

STORE = ("image", "overlay2")  # the image store of the overlay2 driver in a data-root


class Seed(Node):
    def __init__(self, bed, root: Path):
        super().__init__(bed, 0)
        self.name = f"{bed.prefix}-seed"
        self.netns = bed.hub
        self.root = root
        self.run = bed.run / "seed"
        self.socket = bed.run / "seed.sock"
        self.cgroup = f"{bed.prefix}-seed"
        # Never runs a container: no bridge or firewall rules of its own in the hub.
        self.extra_config = {"bridge": "none", "iptables": False, "ip-masq": False}

    def holds(self, local: str, image_id: str) -> bool:
        """Whether the seed has ``local`` (as pushed) with this content."""
        found = self.docker("image", "inspect", "--format", "{{.Id}}", f"{REGISTRY}/{local}",
                            check=False, timeout=30)  # fmt: skip
        return found.returncode == 0 and found.stdout.strip() == image_id

    def bring(self, images: dict[str, str], ids: dict[str, str], pushed: dict) -> list[str]:
        """Load and push each image the registry (``pushed[key]`` None) or the seed lacks;
        ``pushed`` gets their names by digest. The keys of the images moved."""
        missing = [key for key, local in images.items()
                   if pushed[key] is None or not self.holds(local, ids[key])]  # fmt: skip
        if missing:
            self.load([images[key] for key in missing])
            pushed.update({key: self.push(images[key]) for key in missing})
        return missing

    def load(self, images: list[str]) -> None:
        saved = subprocess.Popen([engine.docker_cli(), "save", *images], stdout=subprocess.PIPE)
        self.docker("load", "-q", stdin=saved.stdout, timeout=900)
        if saved.wait() != 0:
            pytest.fail(f"docker save {images} failed")

    def push(self, local: str) -> str:
        """``local`` into the registry; its name by digest."""
        remote = f"{REGISTRY}/{local}"
        self.docker("tag", local, remote)
        self.docker("push", "-q", remote, timeout=900)
        digests = json.loads(self.docker("image", "inspect", "--format",
                                         "{{json .RepoDigests}}", remote).stdout)  # fmt: skip
        repository = remote.rsplit(":", 1)[0]
        return next(d for d in digests if d.startswith(repository + "@"))

    def stop(self) -> None:
        """A clean stop, so that the image store on disk is complete before it is linked."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill_everything()

    def kill_everything(self) -> None:
        # Not Node's: the seed shares the hub namespace with the registry.
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def link_into(self, data_root: Path) -> None:
        data_root.mkdir(parents=True, exist_ok=True)
        for part in STORE:
            if (self.root / "data" / part).exists():
                subprocess.run(["cp", "-al", str(self.root / "data" / part), str(data_root)],
                               check=True, capture_output=True, timeout=300)  # fmt: skip
