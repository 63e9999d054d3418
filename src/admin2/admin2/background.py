"""Background work, as the core sees it: tasks plugins declare, a slot a backend fills.

A plugin declares work with :func:`task` and asks for it with :func:`submit`; the tasks plugin
installs the backend (Celery). With none, :func:`is_available` is false and callers do the
work in the request instead: never a silent inline fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from admin2.registry import BackgroundTask, registry

F = TypeVar("F", bound=Callable[..., object])


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
        raise BackgroundUnavailable(
            "no background task backend is installed (the tasks plugin is off)"
        )
    return _backend.submit(task_name, kwargs=kwargs or {}, queue=queue, user_id=user_id)


def task(
    name: str,
    *,
    queue: str | None = None,
    redo_if_worker_dies: bool = True,
    ignore_result: bool | None = None,
):
    """Declare ``func`` as the background task ``name``; the function itself is unchanged.

    The one way to declare a task: in a module the plugin lists in ``PluginConfig.tasks``.
    Tasks take ids, not objects, return quietly when the row is gone and, unless told
    otherwise, are safe to run twice (the backend acknowledges them late and requeues them
    when a worker dies mid-task). Declare ``queue`` in ``PluginConfig.queues``.
    """

    def declare(func: F) -> F:
        registry.add_background_task(
            BackgroundTask(name, func, queue, redo_if_worker_dies, ignore_result)
        )
        return func

    return declare
