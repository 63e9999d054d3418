"""A background export asked for on the saved query page and run by a real Celery worker."""

from __future__ import annotations

from django.urls import reverse

from harness.processes import wait_until
from tests.tasks.conftest import app_on_broker

# The tasks suite's 2 s limits are for its short probe tasks; an export of the test table
# (an engine open, an upload) can take longer than that on a loaded machine.
EXPORT_TIME_LIMITS = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "100",
    "CELERY_TASK_TIME_LIMIT": "110",
    "CELERY_VISIBILITY_TIMEOUT": "300",
}


def export_on_worker(client, user, query, worker, broker_url: str, *, timeout: float = 90):
    """Queue a CSV export of ``query`` as ``user``, let the started ``worker`` run it, stop
    the worker and return the finished (done or failed) Export row."""
    from admin2_analytics.models import Export

    try:
        client.force_login(user)
        with app_on_broker(broker_url):
            response = client.post(reverse("analytics:export", args=[query.pk]), {"format": "csv"})
        assert response.status_code == 302
        export = Export.objects.get()

        def finished():
            export.refresh_from_db()
            return export.state in (Export.State.DONE, Export.State.FAILED)

        wait_until(finished, timeout, f"the export to finish (log: {worker.process.log_path})")
    finally:
        worker.stop()
    assert export.state == Export.State.DONE, (export.error, worker.process.log_path.read_text())
    return export
