"""Every analytics model's admin pages open for a superuser, with data in them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from admin2_analytics import history, tasks
from admin2_analytics.models import Dashboard, Export, ScheduledReport
from tests.support.analytics_pages import make_query

pytestmark = pytest.mark.django_db


def test_changelists_and_change_pages_open(client, superuser, analytics_engine):
    query = make_query(superuser)
    board = Dashboard.objects.create(name="Board", owner=superuser)
    board.pins.create(saved_query=query)
    done = Export.objects.create(saved_query=query, requested_by=superuser,
                                 params=query.parameter_defaults)  # fmt: skip
    tasks.run_export(export_id=done.pk)
    Export.objects.create(saved_query=query, requested_by=superuser, state="failed", error="boom")
    report = ScheduledReport.objects.create(
        name="R", saved_query=query, every="daily", recipients="a@example.com", owner=superuser
    )
    run = history.record(sql="SELECT 1", source="cli", user=superuser, row_count=1)
    client.force_login(superuser)
    objects = {
        "savedquery": query, "dashboard": board, "export": done,
        "scheduledreport": report, "queryrun": run,
    }  # fmt: skip
    for model, obj in objects.items():
        listing = client.get(reverse(f"admin:analytics_{model}_changelist"))
        assert listing.status_code == 200, model
        change = client.get(reverse(f"admin:analytics_{model}_change", args=[obj.pk]))
        assert change.status_code == 200, model
    for model in ("savedquery", "dashboard", "scheduledreport"):
        assert client.get(reverse(f"admin:analytics_{model}_add")).status_code == 200
    exports_page = client.get(reverse("admin:analytics_export_changelist")).content.decode()
    assert "Download" in exports_page and "boom" in exports_page
    form = client.get(reverse("admin:analytics_savedquery_change", args=[query.pk]))
    assert "start=2025-01-01\nend=2025-01-31</textarea>" in form.content.decode()


def test_deleting_an_export_in_the_admin_deletes_its_file(client, superuser, settings,
                                                          analytics_engine):  # fmt: skip
    from pathlib import Path

    query = make_query(superuser)
    export = Export.objects.create(saved_query=query, requested_by=superuser,
                                   params=query.parameter_defaults)  # fmt: skip
    tasks.run_export(export_id=export.pk)
    export.refresh_from_db()
    path = Path(settings.MEDIA_ROOT) / export.file.name
    assert path.exists()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:analytics_export_delete", args=[export.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not path.exists() and not Export.objects.exists()
