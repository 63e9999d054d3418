"""The Celery backend behind ``admin2.background.submit``: one publish attempt, no retry loop.

A task the broker does not take leaves a NOT_QUEUED TaskRun row with the reason, and the
caller gets BackgroundUnavailable: the job is neither lost silently nor run inline.
"""

from __future__ import annotations

import logging

from celery import Celery
from kombu.exceptions import KombuError
from kombu.utils.uuid import uuid

from admin2.background import BackgroundUnavailable
from admin2_tasks.models import TaskRun
from admin2_tasks.tracking import RETRY_OF_HEADER, USER_HEADER, create_or_update, summarize

logger = logging.getLogger(__name__)


class CeleryBackend:
    def __init__(self, app: Celery):
        self.app = app

    def broker_label(self) -> str:
        return self.app.connection_for_write().as_uri()  # password masked

    def submit(
        self, task_name: str, *, kwargs: dict, queue: str | None, user_id: int | None
    ) -> str:
        return self.send(task_name, kwargs=kwargs, queue=queue, user_id=user_id)

    def send(
        self,
        task_name: str,
        *,
        args: list | tuple = (),
        kwargs: dict | None = None,
        queue: str | None = None,
        user_id: int | None = None,
        retry_of: int | None = None,
    ) -> str:
        task_id = uuid()
        headers = {USER_HEADER: user_id, RETRY_OF_HEADER: retry_of}
        try:
            self.app.send_task(
                task_name,
                args=list(args),
                kwargs=kwargs or {},
                queue=queue or None,
                task_id=task_id,
                headers={key: value for key, value in headers.items() if value is not None},
                retry=False,
                # The outcome is kept in TaskRun. Asking for a result would also subscribe
                # this (web) process to a result channel per task, retried for ~20 s when
                # Redis is down.
                ignore_result=True,
            )
        except (KombuError, OSError) as exc:
            reason = (
                f"the broker {self.broker_label()} did not take it ({type(exc).__name__}: {exc})"
            )
            logger.error("task %s not queued: %s", task_name, reason)
            self._record_not_queued(
                task_id, task_name, args, kwargs, queue, user_id, retry_of, reason
            )
            raise BackgroundUnavailable(f"{task_name} was not queued: {reason}") from exc
        return task_id

    @staticmethod
    def _record_not_queued(task_id, task_name, args, kwargs, queue, user_id, retry_of, reason):
        from django.utils import timezone

        try:
            create_or_update(
                task_id,
                {
                    "name": task_name,
                    "queue": queue or "",
                    "args": list(args),
                    "kwargs": kwargs or {},
                    "args_summary": summarize(args, kwargs),
                    "submitted_by_id": user_id,
                    "retry_of_id": retry_of,
                    "queued_at": timezone.now(),
                },
                {"state": TaskRun.State.NOT_QUEUED, "error": reason},
            )
        except Exception:  # the user still gets the error; the log keeps the rest
            logger.warning("could not record the task that was not queued", exc_info=True)
