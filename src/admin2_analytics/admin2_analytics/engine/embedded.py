"""The embedded engine: chDB on a data directory, shared by processes one at a time.

chDB runs ClickHouse inside the process and admits one process per data directory: a second
process that opens it while the first holds it fails at once ("Cannot lock file .../status").
Measured on chdb-core-lite 26.5: the first open in a process costs ~0.5 s (loading the
engine), closing every connection shuts the engine down and frees the directory, and a
reopen costs ~30 ms.

So no process keeps the engine open. Each query (or stream) takes a *lease*:

* within a process, threads share one lease (a reference count): concurrent page views run
  side by side on one engine;
* across processes, the first user takes an exclusive ``flock`` on ``<path>.lock`` and the
  last one closes the engine and releases it. Others wait for it at most
  ``CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT`` seconds, then get ``EngineUnavailable`` naming the
  holder (pid and command from the lock file);
* the kernel drops a ``flock`` when its holder dies, so a crashed process never wedges it.

Because the lock is the engine's own rule made explicit, the web process, a Celery worker
and the ``admin2`` commands take turns instead of failing on each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect

from admin2_analytics.errors import EngineUnavailable

# chDB's messages when another process has the directory (or is still letting it go).
_LOCKED_MARKERS = (
    "Cannot lock file",
    "Another server instance",
    "Error initializing EmbeddedServer",
)


class _ProcessLease:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._path: Path | None = None
        self._file = None

    def acquire(self, path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._users and self._path != path:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise EngineUnavailable(
                        f"embedded engine busy: this process has {self._path} open; "
                        "chDB allows one data directory per process"
                    )
                self._cond.wait(remaining)
            if not self._users:
                self._file = _lock_file(path, deadline, timeout)
                self._path = path
            self._users += 1

    def release(self) -> None:
        with self._cond:
            self._users -= 1
            if self._users == 0:
                lock_file, self._file, self._path = self._file, None, None
                with contextlib.suppress(OSError):
                    lock_file.truncate(0)
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
                lock_file.close()
                self._cond.notify_all()

    @property
    def held(self) -> bool:
        return self._users > 0


_lease = _ProcessLease()


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _lock_file(path: Path, deadline: float, timeout: float):
    target = lock_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = open(target, "a+")  # noqa: SIM115 (kept open while the lease lives)
    except OSError as exc:
        raise EngineUnavailable(
            f"cannot use the embedded engine directory {path} (CLICKHOUSE_EMBEDDED_PATH): "
            f"{exc.strerror or exc}"
        ) from None
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = holder_of(path)
                handle.close()
                raise EngineUnavailable(
                    f"embedded engine busy: {holder or 'another process'} is using {path}; "
                    f"waited {timeout:g}s (CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT), try again shortly"
                ) from None
            time.sleep(0.05)
    handle.seek(0)
    handle.truncate(0)
    handle.write(f"{os.getpid()} {time.time():.0f} {_command_line()}\n")
    handle.flush()
    return handle


def _command_line() -> str:
    return " ".join(Path(arg).name if i == 0 else arg for i, arg in enumerate(sys.argv[:3]))


def holder_of(path: Path) -> str:
    """Who holds the directory, as written in the lock file ("pid 123 (admin2 ...), 4 s")."""
    try:
        text = lock_path(path).read_text().strip()
    except OSError:
        return ""
    pid, _, rest = text.partition(" ")
    started, _, command = rest.partition(" ")
    if not pid.isdigit():
        return ""
    try:
        held = f", for {time.time() - float(started):.0f}s"
    except ValueError:
        held = ""
    return f"pid {pid} ({command or 'unknown'}){held}"


@contextlib.contextmanager
def lease(path: Path, timeout: float) -> Iterator[None]:
    """Hold the data directory (shared within this process, exclusive across processes)."""
    _lease.acquire(path, timeout)
    try:
        yield
    finally:
        _lease.release()


def open_client(path: Path, database: str, settings: dict, timeout: float):
    """A chDB-backed clickhouse-connect client; call inside :func:`lease`.

    Retries while chDB still reports the directory locked (a process that does not take our
    lock, or one that is just shutting its engine down), until the lease timeout.
    """
    deadline = time.monotonic() + max(timeout, 1.0)
    while True:
        try:
            return clickhouse_connect.get_client(
                interface="chdb",
                path=str(path),
                database=database if database != "default" else None,
                settings=settings,
                show_clickhouse_errors=True,
            )
        except Exception as exc:
            message = str(exc)
            if not any(marker in message for marker in _LOCKED_MARKERS):
                raise
            if time.monotonic() >= deadline:
                raise EngineUnavailable(
                    f"embedded engine busy: chDB reports {path} in use by another process"
                ) from None
            time.sleep(0.1)
