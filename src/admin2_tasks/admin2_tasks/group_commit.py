"""Tracking writes: inline, or on an eventlet worker queued to one green thread that commits
together whatever its tasks queued meanwhile, on one connection, while each task waits for its
write. psycopg blocks every green thread; a connection and commits per task did not scale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from admin2_tasks import green

logger = logging.getLogger(__name__)

# An idle writer gives its connection back after this long.
IDLE_SECONDS = 5.0

_writer: _GreenWriter | None = None


def run(write: Callable[[], object]) -> None:
    """Run ``write`` and return once it is committed; an exception it raised is raised here."""
    global _writer
    if not green.patched():
        write()
        return
    if _writer is None:
        _writer = _GreenWriter()
    _writer.run(write)


class _GreenWriter:
    def __init__(self):
        from eventlet.queue import LightQueue

        self._queue = LightQueue()
        self._thread = None

    def run(self, write: Callable[[], object]) -> None:
        import eventlet
        from eventlet.event import Event

        done = Event()
        self._queue.put((write, done))
        if self._thread is None or self._thread.dead:
            self._thread = eventlet.spawn(self._loop)
        error = done.wait()
        if error is not None:
            raise error

    def _loop(self) -> None:
        import eventlet
        from eventlet.queue import Empty

        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_SECONDS)]
            except Empty:
                connections.close_all()
                continue
            eventlet.sleep(0)  # green threads ready to run queue their writes too
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a task waiting
                for _, done in batch:
                    if not done.ready():
                        done.send(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                raise

    @staticmethod
    def _commit(batch: list) -> None:
        try:
            with transaction.atomic():
                for write, _ in batch:
                    write()
        except Exception:
            # One write failed and rolled the others back: each again, on its own.
            connection = connections[DEFAULT_DB_ALIAS]
            connection.close_if_unusable_or_obsolete()
            for write, done in batch:
                try:
                    with transaction.atomic():
                        write()
                except Exception as exc:
                    done.send(exc)
                else:
                    done.send(None)
            connection.close_if_unusable_or_obsolete()
            return
        for _, done in batch:
            done.send(None)
