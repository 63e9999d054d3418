"""admin2_tasks: the Celery application, task runs in the admin, worker and beat health."""

from admin2_tasks.celery import app

__all__ = ["app"]
