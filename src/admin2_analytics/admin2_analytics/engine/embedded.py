"""The embedded engine (chDB): one process per data directory, shared by turns.

A process keeps the engine open between queries and hands it over when another process asks
(an exclusive ``flock`` on ``<path>.lock``, waiters on ``<path>.wait``). Why, and the
measurements behind it: docs/clickhouse.md, "The embedded engine".
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

import clickhouse_connect

from admin2_analytics.errors import EngineUnavailable

# chDB's messages when another process has the directory (or is still letting it go).
_LOCKED_MARKERS = (
    "Cannot lock file",
    "Another server instance",
    "Error initializing EmbeddedServer",
)
_POLL = 0.05  # seconds between a holder's looks for waiters
_RETRY = 0.02  # seconds between a waiter's tries for the lock
# After handing over, this process lets waiters (polling every _RETRY) take the lock first.
_HANDOVER_GRACE = 0.1

T = TypeVar("T")


class _ProcessTurn:
    """This process's turn on one data directory: shared by its threads, kept open when idle."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._path: Path | None = None
        self._lock: IO[str] | None = None  # <path>.lock, flock'd exclusively during the turn
        self._wait: IO[str] | None = None  # <path>.wait, probed for processes waiting
        self._anchor = None  # a chDB connection that keeps the engine up between queries
        self._keep_open = 0.0
        self._idle_since = 0.0
        self._handing_over = False
        self._handed_over_at = -_HANDOVER_GRACE
        self._generation = 0  # which turn a watcher thread belongs to

    def acquire(self, path: Path, timeout: float, keep_open: float, announce: bool) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                while self._path is not None and (self._path != path or self._handing_over):
                    if self._path != path and self._users == 0:
                        self._end_turn()  # idle on another directory: switch at once
                        break
                    self._wait_until(deadline, path, timeout)
                if self._path is not None:
                    break  # join this process's turn
                grace = self._handed_over_at + _HANDOVER_GRACE - time.monotonic()
                if grace <= 0:
                    self._begin_turn(path, deadline, timeout, keep_open, announce)
                    break
                self._cond.wait(grace)  # then look again: another thread may have begun
            self._users += 1

    def _wait_until(self, deadline: float, path: Path, timeout: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self._cond.wait(remaining)
            return
        if self._path != path:
            raise EngineUnavailable(
                f"embedded engine busy: this process has {self._path} open; "
                "chDB allows one data directory per process"
            )
        raise EngineUnavailable(
            f"embedded engine busy: this process is handing {path} over to another one; "
            f"waited {timeout:g}s (CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT), try again shortly"
        )

    def release(self) -> None:
        with self._cond:
            self._users -= 1
            if self._users == 0:
                self._idle_since = time.monotonic()
                if self._keep_open <= 0 or self._handing_over:
                    self._end_turn()

    @property
    def held(self) -> bool:
        """A query or stream of this process is using the engine now."""
        return self._users > 0

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def is_open(self) -> bool:
        """This process has its turn (the engine is up here, perhaps idle)."""
        return self._path is not None

    def _begin_turn(self, path, deadline, timeout, keep_open, announce) -> None:
        lock = _lock_file(path, deadline, timeout, announce)
        try:
            self._wait = open(wait_path(path), "a+")  # noqa: SIM115 (kept for the turn)
            self._anchor = _while_locked(
                lambda: _connect(path), path, max(deadline, time.monotonic() + 1)
            )
        except BaseException:
            if self._wait is not None:
                self._wait.close()
                self._wait = None
            _unlock(lock)
            raise
        self._lock, self._path = lock, path
        self._keep_open, self._idle_since = keep_open, time.monotonic()
        self._handing_over = False
        self._generation += 1
        if keep_open > 0:
            threading.Thread(
                target=self._watch, args=(self._generation,), name="chdb-turn", daemon=True
            ).start()

    def _end_turn(self) -> None:
        anchor, self._anchor = self._anchor, None
        try:
            if anchor is not None:
                with contextlib.suppress(Exception):
                    anchor.close()  # the last connection: the engine shuts down
        finally:
            if self._wait is not None:
                self._wait.close()
                self._wait = None
            if self._lock is not None:
                _unlock(self._lock)
                self._lock = None
            self._path = None
            if self._handing_over:
                self._handed_over_at = time.monotonic()
            self._handing_over = False
            self._cond.notify_all()

    def _watch(self, generation: int) -> None:
        with self._cond:
            while self._path is not None and self._generation == generation:
                self._cond.wait(_POLL)
                if self._path is None or self._generation != generation:
                    break
                if not self._handing_over and _someone_waits(self._wait):
                    self._handing_over = True
                idle = time.monotonic() - self._idle_since >= self._keep_open
                if self._users == 0 and (self._handing_over or idle):
                    self._end_turn()

    def close(self) -> None:
        with self._cond:
            if self._path is not None and self._users == 0:
                self._end_turn()

    def forget_after_fork(self) -> None:
        # The child shares the parent's lock file description and engine memory: dropping
        # them here (without closing) leaves both to the parent, whose turn it is.
        self._cond = threading.Condition()
        self._users, self._path, self._handing_over = 0, None, False
        self._lock = self._wait = None
        _inherited.append(self._anchor)
        self._anchor = None


_turn = _ProcessTurn()
_inherited: list = []  # engine handles a forked child must neither use nor close
os.register_at_fork(after_in_child=_turn.forget_after_fork)
atexit.register(_turn.close)


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def wait_path(path: Path) -> Path:
    return path.with_name(path.name + ".wait")


def _connect(path: Path):
    # Imported here: a process reading a ClickHouse server never loads the engine library.
    import chdb

    # chDB compares engine paths literally; clickhouse-connect passes the real path.
    return chdb.connect(os.path.realpath(path))


def _open_lock_files(path: Path, announce: bool) -> tuple[IO[str], IO[str] | None]:
    try:
        lock_path(path).parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path(path), "a+")  # noqa: SIM115 (kept open while the turn lasts)
        waiting = open(wait_path(path), "a+") if announce else None  # noqa: SIM115
    except OSError as exc:
        raise EngineUnavailable(
            f"cannot use the embedded engine directory {path} (CLICKHOUSE_EMBEDDED_PATH): "
            f"{exc.strerror or exc}"
        ) from None
    return handle, waiting


def _announce(waiting: IO[str]) -> bool:
    """Say that this process waits for a turn; False if the holder is probing just now."""
    # Shared, so many waiters can say so; the holder only probes it for a moment.
    return _flock_now(waiting, fcntl.LOCK_SH)


def _try_lock(handle: IO[str]) -> bool:
    return _flock_now(handle, fcntl.LOCK_EX)


def _flock_now(handle: IO[str], mode: int) -> bool:
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_file(path: Path, deadline: float, timeout: float, announce: bool) -> IO[str]:
    handle, waiting = _open_lock_files(path, announce)
    announced = waiting is None
    try:
        while True:
            announced = announced or _announce(waiting)
            if _try_lock(handle):
                break
            if time.monotonic() >= deadline:
                holder = holder_of(path)
                handle.close()
                raise EngineUnavailable(
                    f"embedded engine busy: {holder or 'another process'} is using {path}; "
                    f"waited {timeout:g}s (CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT), try again shortly"
                ) from None
            time.sleep(_RETRY)
    finally:
        if waiting is not None:
            waiting.close()  # the turn is ours (or lost): stop asking for it
    handle.seek(0)
    handle.truncate(0)
    handle.write(f"{os.getpid()} {time.time():.0f} {_command_line()}\n")
    handle.flush()
    return handle


def _unlock(handle: IO[str]) -> None:
    with contextlib.suppress(OSError):
        handle.truncate(0)
        fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


def _someone_waits(handle: IO[str] | None) -> bool:
    if handle is None:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True  # a waiter holds it shared
    except OSError:
        return False
    fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _command_line() -> str:
    return " ".join(Path(arg).name if i == 0 else arg for i, arg in enumerate(sys.argv[:3]))


def in_use_here(path: Path) -> bool:
    """A query or stream of this process is using the engine on ``path`` now."""
    return _turn.held and _turn.path == path


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
def lease(
    path: Path, timeout: float, *, keep_open: float = 0.0, announce: bool = True
) -> Iterator[None]:
    """Use the data directory (shared within this process, exclusive across processes).

    ``keep_open``: seconds the engine stays up once idle (0: shut it at once). ``announce``:
    ask the holder to hand over; a readiness probe does not, it only looks.
    """
    _turn.acquire(path, timeout, keep_open, announce)
    try:
        yield
    finally:
        _turn.release()


def open_client(path: Path, database: str, settings: dict, timeout: float):
    """A chDB-backed clickhouse-connect client; call inside :func:`lease`."""
    return _while_locked(
        lambda: clickhouse_connect.get_client(
            interface="chdb",
            path=str(path),
            database=database if database != "default" else None,
            settings=settings,
            show_clickhouse_errors=True,
        ),
        path,
        time.monotonic() + max(timeout, 1.0),
    )


def _while_locked(open_engine: Callable[[], T], path: Path, deadline: float) -> T:
    """Retry while chDB still reports the directory locked, until ``deadline``.

    That is a process that does not take our lock, or one that is just shutting its engine
    down after handing over.
    """
    while True:
        try:
            return open_engine()
        except Exception as exc:
            message = str(exc)
            if not any(marker in message for marker in _LOCKED_MARKERS):
                raise
            if time.monotonic() >= deadline:
                raise EngineUnavailable(
                    f"embedded engine busy: chDB reports {path} in use by another process"
                ) from None
            time.sleep(0.1)
