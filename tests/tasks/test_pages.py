"""The admin side: task runs filterable and retryable, status page, run-on-demand page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from admin2_tasks.models import TaskRun
from harness.processes import free_port
from tests.tasks.conftest import app_on_broker

pytestmark = pytest.mark.django_db

STATUS, RUN = "/admin/tasks/status/", "/admin/tasks/run/"
CHANGELIST = "/admin/tasks/taskrun/"


def make_run(state, name="admin2_tasks.round_trip", **fields):
    return TaskRun.objects.create(
        task_id=f"{state}-{TaskRun.objects.count()}", name=name, state=state, **fields
    )


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


def test_status_page_shows_queues_and_says_when_no_worker_answers(client, superuser):
    client.force_login(superuser)
    response = client.get(STATUS)
    assert response.status_code == 200
    page = response.content.decode()
    for queue in ("default", "exports", "reports"):
        assert f"<td>{queue}</td>" in page
    assert "No worker answered" in page


def test_status_page_says_when_the_broker_is_down(client, superuser):
    client.force_login(superuser)
    with app_on_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get(STATUS)
    assert response.status_code == 200
    assert "Broker unavailable: OperationalError" in response.content.decode()


def test_status_and_run_pages_need_their_permissions(client, staff_user):
    client.force_login(staff_user)
    assert client.get(STATUS).status_code == 403
    assert client.get(RUN).status_code == 403
    client.force_login(grant(staff_user, "view_taskrun"))
    assert client.get(STATUS).status_code == 200
    assert client.get(RUN).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(STATUS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_run_page_offers_the_tracked_jobs_of_every_plugin(client, superuser):
    client.force_login(superuser)
    page = client.get(RUN).content.decode()
    assert "admin2_analytics.cleanup_expired_exports" in page
    assert "admin2_tasks.round_trip" in page
    assert "admin2_tasks.heartbeat" not in page  # untracked noise, not worth a button


def test_run_page_queues_a_periodic_job_and_leads_to_its_run(client, superuser):
    client.force_login(superuser)
    response = client.post(RUN, {"key": "tasks: prune old task runs"})
    run = TaskRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{run.pk}/change/"
    assert (run.name, run.state, run.submitted_by) == (
        "admin2_tasks.prune_task_runs",
        TaskRun.State.QUEUED,
        superuser,
    )


def test_run_page_refuses_anything_not_offered(client, superuser):
    client.force_login(superuser)
    response = client.post(RUN, {"key": "os.system"}, follow=True)
    assert "No such task can be run on demand." in response.content.decode()
    assert not TaskRun.objects.exists()


def test_run_page_with_the_broker_down_says_so_and_records_it(client, superuser):
    client.force_login(superuser)
    with app_on_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.post(RUN, {"key": "tasks: round trip"}, follow=True)
    page = response.content.decode()
    assert "Not queued: admin2_tasks.round_trip was not queued: the broker redis://" in page
    assert "Nothing ran; try again when it is up." in page
    assert TaskRun.objects.get().state == TaskRun.State.NOT_QUEUED


def test_changelist_filters_by_state(client, superuser):
    failed = make_run(TaskRun.State.FAILURE, name="admin2_analytics.run_export", error="boom")
    make_run(TaskRun.State.SUCCESS)
    client.force_login(superuser)
    response = client.get(CHANGELIST, {"state__exact": "FAILURE"})
    assert list(response.context["cl"].result_list) == [failed]
    assert "admin2_analytics.run_export" in response.content.decode()


def test_retrying_a_failed_run_queues_a_new_run_linked_to_it(client, superuser):
    failed = make_run(TaskRun.State.FAILURE, kwargs={"note": "again"}, queue="reports")
    succeeded = make_run(TaskRun.State.SUCCESS)
    client.force_login(superuser)
    response = client.post(
        CHANGELIST,
        {"action": "retry_runs", "_selected_action": [failed.pk, succeeded.pk]},
        follow=True,
    )
    assert "1 retried as new runs; 1 skipped" in response.content.decode()
    retry = TaskRun.objects.get(retry_of=failed)
    assert (retry.state, retry.kwargs, retry.queue) == ("QUEUED", {"note": "again"}, "reports")
    assert retry.submitted_by == superuser


def test_retry_with_the_broker_down_tells_the_user_and_changes_nothing(client, superuser):
    failed = make_run(TaskRun.State.FAILURE)
    client.force_login(superuser)
    with app_on_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.post(
            CHANGELIST, {"action": "retry_runs", "_selected_action": [failed.pk]}, follow=True
        )
    assert "Retry not queued:" in response.content.decode()
    failed.refresh_from_db()
    assert failed.state == TaskRun.State.FAILURE
    assert TaskRun.objects.get(retry_of=failed).state == TaskRun.State.NOT_QUEUED


def test_retry_needs_the_run_permission(client, staff_user):
    make_run(TaskRun.State.FAILURE)
    client.force_login(grant(staff_user, "view_taskrun"))
    page = client.get(CHANGELIST).content.decode()
    assert "retry_runs" not in page
