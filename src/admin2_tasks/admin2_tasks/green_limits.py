"""Soft and hard time limits for the eventlet pool, which ignores Celery's own.

An ``eventlet.Timeout`` fires in the task's green thread at its next I/O wait; a task stuck
in pure computation is not interrupted and belongs on a prefork worker (docs/tasks.md).
"""

from __future__ import annotations

from celery import signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from admin2_tasks import green

_timers: dict[str, list] = {}


def _limits(task) -> tuple[float | None, float | None]:
    hard, soft = task.request.timelimit or (None, None)
    conf = task.app.conf
    hard = hard or task.time_limit or conf.task_time_limit
    soft = soft or task.soft_time_limit or conf.task_soft_time_limit
    return soft, hard


@signals.task_prerun.connect(weak=False)
def start_limits(sender=None, task_id=None, task=None, **_):
    if not green.patched() or task is None or task.request.is_eager:
        return
    import eventlet

    soft, hard = _limits(task)
    timers = []
    if soft:
        timers.append(eventlet.Timeout(soft, SoftTimeLimitExceeded(f"soft time limit ({soft:g}s)")))
    if hard:
        timers.append(eventlet.Timeout(hard, TimeLimitExceeded(f"hard time limit ({hard:g}s)")))
    _timers[task_id] = timers


@signals.task_postrun.connect(weak=False)
def cancel_limits(sender=None, task_id=None, **_):
    for timer in _timers.pop(task_id, []):
        timer.cancel()
