"""Keep TaskRun rows in step with Celery, from whichever process publishes or runs a task.

A tracking failure is logged and never breaks a task; each update carries the attempt number
and leaves a newer attempt's row alone.
"""

from __future__ import annotations

import functools
import json
import logging
import time

from celery import signals
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from admin2_tasks import green, group_commit, metrics  # noqa: F401  (metrics: its signals)
from admin2_tasks.models import TaskRun

logger = logging.getLogger(__name__)

# Sent every few seconds by beat; its trace is WorkerHeartbeat, not thousands of runs.
UNTRACKED_TASKS = frozenset({"admin2_tasks.heartbeat"})
USER_HEADER = "admin2_user_id"
RETRY_OF_HEADER = "admin2_retry_of"
SUMMARY_LENGTH = 300
RESULT_LENGTH = 4000

_started: dict[str, float] = {}


def summarize(args, kwargs) -> str:
    parts = [_short(value) for value in args or ()]
    parts += [f"{key}={_short(value)}" for key, value in (kwargs or {}).items()]
    text = ", ".join(parts)
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def _short(value) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


def describe(exc: BaseException) -> str:
    # Some Celery exceptions print as their repr; the message alone reads better.
    args = getattr(exc, "args", ())
    message = args[0] if len(args) == 1 and isinstance(args[0], str) else str(exc)
    return f"{type(exc).__name__}: {message}"


def _safely(handler):
    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            handler(*args, **kwargs)
        except Exception:
            logger.warning("task tracking failed in %s", handler.__name__, exc_info=True)

    return wrapper


def _attempt(task_id: str, retries: int):
    """The row of this task, unless a later attempt has already taken it over."""
    return TaskRun.objects.filter(task_id=task_id, retries__lte=retries)


def create_or_update(task_id: str, create: dict, update: dict) -> None:
    if TaskRun.objects.filter(task_id=task_id).update(**update):
        return
    try:
        with transaction.atomic():
            TaskRun.objects.create(task_id=task_id, **create, **update)
    except IntegrityError:  # another process created it meanwhile
        TaskRun.objects.filter(task_id=task_id).update(**update)


@signals.before_task_publish.connect(weak=False)
@_safely
def record_queued(sender=None, body=None, headers=None, routing_key=None, **_):
    headers = headers or {}
    task_id, name = headers.get("id"), headers.get("task") or sender
    if not task_id or name in UNTRACKED_TASKS or headers.get("retries"):
        return  # a retry's new message: task_retry already recorded it
    args, kwargs = (body[0], body[1]) if isinstance(body, list | tuple) else ((), {})
    row = {
        "name": name,
        "queue": routing_key or "",
        "args": list(args),
        "kwargs": dict(kwargs),
        "args_summary": summarize(args, kwargs),
        "submitted_by_id": headers.get(USER_HEADER),
        "retry_of_id": headers.get(RETRY_OF_HEADER),
    }
    update = {"state": TaskRun.State.QUEUED, "queued_at": timezone.now()}
    group_commit.run(lambda: create_or_update(task_id, row, update))


@signals.task_prerun.connect(weak=False)
@_safely
def record_started(sender=None, task_id=None, task=None, args=None, kwargs=None, **_):
    if task.name in UNTRACKED_TASKS:
        return
    request = task.request
    _started[task_id] = time.monotonic()
    now = timezone.now()
    update = {
        "state": TaskRun.State.STARTED,
        "started_at": now,
        "finished_at": None,
        "runtime": None,
        "worker": request.hostname or "",
        "retries": request.retries or 0,
    }
    delivery = request.delivery_info or {}
    create = {
        "name": task.name,
        "queue": delivery.get("routing_key") or "",
        "args": list(args or ()),
        "kwargs": dict(kwargs or {}),
        "args_summary": summarize(args, kwargs),
        "queued_at": now,
    }
    group_commit.run(lambda: _start(task_id, request.retries or 0, create, update))


def _start(task_id: str, retries: int, create: dict, update: dict) -> None:
    if _attempt(task_id, retries).update(**update):
        return
    try:
        with transaction.atomic():
            TaskRun.objects.create(task_id=task_id, **create, **update)
    except IntegrityError:  # created meanwhile, or a later attempt owns the row
        _attempt(task_id, retries).update(**update)


@signals.worker_init.connect(weak=False)
def _start_after_the_django_fixup(**_):
    # At worker_init Celery's Django fix-up connects a task_prerun handler that closes every
    # database connection; record_started was connected before it (at Django's setup), so
    # the connection it opened was closed unused and record_finished opened another. Moved
    # behind the fix-up, one connection serves a task's writes.
    signals.task_prerun.disconnect(record_started)
    signals.task_prerun.connect(record_started, weak=False)


def _finish_fields(task_id: str) -> dict:
    started = _started.get(task_id)
    runtime = round(time.monotonic() - started, 3) if started is not None else None
    return {"finished_at": timezone.now(), "runtime": runtime}


@signals.task_retry.connect(weak=False)
@_safely
def record_retry(sender=None, request=None, reason=None, einfo=None, **_):
    if sender is None or sender.name in UNTRACKED_TASKS:
        return
    retries = request.retries or 0
    update = {
        "state": TaskRun.State.RETRY,
        "retries": retries + 1,
        "error": str(reason)[:RESULT_LENGTH],
        "traceback": getattr(einfo, "traceback", "") or "",
    }
    _started.pop(request.id, None)
    group_commit.run(lambda: _attempt(request.id, retries).update(**update))


@signals.task_failure.connect(weak=False)
@_safely
def record_failure(sender=None, task_id=None, exception=None, einfo=None, **_):
    if sender is None or sender.name in UNTRACKED_TASKS:
        return
    retries = sender.request.retries or 0
    update = {
        "state": TaskRun.State.FAILURE,
        "error": describe(exception)[:RESULT_LENGTH],
        "traceback": getattr(einfo, "traceback", "") or "",
        **_finish_fields(task_id),
    }
    group_commit.run(lambda: _attempt(task_id, retries).update(**update))


@signals.task_success.connect(weak=False)
@_safely
def record_finished(sender=None, result=None, **_):
    # task_success comes before task_postrun, where Celery's Django fix-up closes the
    # connection record_started opened: writing here needs no second connection per task
    # (on the eventlet worker both go through group_commit's one connection).
    if sender is None or sender.name in UNTRACKED_TASKS:
        return
    task_id, retries = sender.request.id, sender.request.retries or 0
    update = {
        "state": TaskRun.State.SUCCESS,
        "result": json.dumps(result, default=str, ensure_ascii=False)[:RESULT_LENGTH],
        "error": "",
        "traceback": "",
        **_finish_fields(task_id),
    }
    group_commit.run(lambda: _attempt(task_id, retries).update(**update))


@signals.task_postrun.connect(weak=False)
@_safely
def forget_task(sender=None, task_id=None, **_):
    _started.pop(task_id, None)
    if green.patched():
        # Each green thread has its own connection: close it, or every finished task
        # leaves one open until garbage collection.
        connections.close_all()


@signals.task_revoked.connect(weak=False)
@_safely
def record_revoked(sender=None, request=None, terminated=None, expired=None, **_):
    if request is None or getattr(sender, "name", None) in UNTRACKED_TASKS:
        return
    update = {
        "state": TaskRun.State.REVOKED,
        "error": "expired before a worker took it" if expired else "revoked",
        "finished_at": timezone.now(),
    }
    group_commit.run(lambda: TaskRun.objects.filter(task_id=request.id).update(**update))
