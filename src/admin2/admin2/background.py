"""Background work, as the core sees it: a slot a task plugin fills.

Plugins that want work done later call :func:`submit` with a registered task name. The tasks
plugin installs the real backend (Celery) at start-up; with no backend installed,
:func:`is_available` is false and callers do the work in the request instead. Nothing here
runs a task inline on its own: a missing backend is an error, never a silent fallback.
"""

from __future__ import annotations

from typing import Protocol


class BackgroundUnavailable(RuntimeError):
    """No task backend, or the broker cannot take the job right now. The message says why."""


class Backend(Protocol):
    def submit(
        self, task_name: str, *, kwargs: dict, queue: str | None, user_id: int | None
    ) -> str:
        """Queue the task and return its id, or raise BackgroundUnavailable."""


_backend: Backend | None = None


def install(backend: Backend | None) -> None:
    global _backend
    _backend = backend


def is_available() -> bool:
    return _backend is not None


def submit(
    task_name: str, *, kwargs: dict | None = None, queue: str | None = None, user_id=None
) -> str:
    if _backend is None:
        raise BackgroundUnavailable("background tasks are switched off (ADMIN2_TASKS_ENABLED)")
    return _backend.submit(task_name, kwargs=kwargs or {}, queue=queue, user_id=user_id)
