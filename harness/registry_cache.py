"""The swarm beds' registry storage and seed, kept across runs and keyed by image content.

Every bed's registry serves the same storage; the index maps a host image ID to the digest
it was pushed as, so the same content is not pushed again. Layers are content-addressed, the
index is written under a lock, and the cache empties itself past ``MAX_IMAGES`` images."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

from harness import engine

ROOT = Path(os.environ.get("ADMIN2_SWARM_CACHE", "/var/tmp/admin2-swarm-cache"))
MAX_IMAGES = 40


class RegistryCache:
    def __init__(self, root: Path = ROOT):
        self.root = root
        self.storage = root / "storage"
        self.index_file = root / "index.json"

    @contextlib.contextmanager
    def locked(self):
        """One writer of the index at a time (a bench and a test run may push at once)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def index(self) -> dict[str, str]:
        try:
            return json.loads(self.index_file.read_text())
        except (OSError, ValueError):
            return {}

    def pushed(self, image_id: str, registry: str) -> str | None:
        """``registry/repository@sha256:...`` of a host image pushed before, if its
        manifest is still in the storage."""
        known = self.index().get(image_id)
        if known is None:
            return None
        repository, digest = known.split("@", 1)
        revisions = self.storage / "docker/registry/v2/repositories" / repository / "_manifests"
        revision = revisions / "revisions/sha256" / digest.removeprefix("sha256:") / "link"
        return f"{registry}/{known}" if revision.exists() else None

    def remember(self, pushed: dict[str, str], registry: str) -> None:
        """{image ID: registry/repository@digest} into the index (call under ``locked``)."""
        if not pushed:
            return
        index = self.index()
        index.update({image_id: name.removeprefix(f"{registry}/")
                      for image_id, name in pushed.items()})  # fmt: skip
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.index_file.with_suffix(".partial")
        partial.write_text(json.dumps(index, indent=1, sort_keys=True))
        partial.replace(self.index_file)

    def make_room(self, incoming: int) -> None:
        """Start over when the new images would pass ``MAX_IMAGES`` (call under ``locked``,
        before the registry starts): old builds' layers would otherwise pile up forever."""
        if len(self.index()) + incoming <= MAX_IMAGES:
            return
        engine.log(f"swarm registry cache: over {MAX_IMAGES} images, emptied")
        shutil.rmtree(self.storage, ignore_errors=True)
        self.index_file.unlink(missing_ok=True)


def image_id(name: str) -> str:
    """The host engine's ID of ``name``: the digest of its config, so of its content."""
    result = subprocess.run(
        [engine.docker_cli(), "image", "inspect", "--format", "{{.Id}}", name],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout.strip()
