"""Export and report files in Django's default storage, local or S3 (ADMIN2_MEDIA_STORAGE):
written to a local spool, published whole, so a failed write leaves nothing stored. Spools
live under VAR_DIR, not the containers' tmpfs /tmp. docs/scaling.md, "Media on S3".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

SPOOL_PREFIX = "admin2-spool-"


def spool_dir() -> Path:
    """Where files wait before they go to the storage (a disk of this host)."""
    directory = Path(settings.VAR_DIR) / "spool"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def sweep_spool(older_than_seconds: float) -> int:
    """Remove spools a killed process left behind; return how many."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for leftover in spool_dir().iterdir():
        if leftover.stat().st_mtime >= cutoff:
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def local_path(name: str) -> Path | None:
    """Where ``name`` lies on this machine's disk, or None when the storage is remote."""
    if isinstance(default_storage, FileSystemStorage):  # the lazy proxy passes isinstance on
        return Path(default_storage.path(name))
    return None


@contextlib.contextmanager
def spooled(name: str) -> Iterator[Path]:
    """A local path for the caller to write ``name`` at atomically (``exports.write_file``);
    on a clean exit the file is in the storage under ``name``, replacing any earlier one."""
    final = local_path(name)
    if final is not None:
        final.parent.mkdir(parents=True, exist_ok=True)
        yield final
        return
    with tempfile.TemporaryDirectory(prefix=SPOOL_PREFIX, dir=spool_dir()) as scratch:
        spool = Path(scratch) / PurePosixPath(name).name
        yield spool
        publish(spool, name)


def publish(local: Path, name: str) -> str:
    """Copy the finished local file ``local`` into the storage as ``name``, whole."""
    final = local_path(name)
    if final is None:
        with local.open("rb") as handle:
            saved = default_storage.save(name, File(handle, name=local.name))
        if saved != name:  # a storage that renames instead of replacing would orphan files
            default_storage.delete(saved)
            raise RuntimeError(f"the media storage stored {name!r} as {saved!r}")
        return name
    if final != local:
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.part"
        try:
            shutil.copyfile(local, partial)
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
    return name


def exists(name: str) -> bool:
    return default_storage.exists(name)


def delete(name: str) -> None:
    """Remove ``name`` from the storage; a file already gone is no error."""
    default_storage.delete(name)


def open_for_download(name: str):
    """The stored file as a readable stream and its size (None: unknown); the caller closes
    it. Raises FileNotFoundError when it is gone."""
    handle = default_storage.open(name, "rb")  # both storages raise FileNotFoundError
    remote = getattr(handle, "obj", None)
    if remote is None:
        return handle, None
    # django-storages' S3 file would first copy the whole object into a spool of its own
    # (memory, then /tmp); the object's body streams it instead, chunk by chunk.
    got = remote.get()
    return got["Body"], got.get("ContentLength")
