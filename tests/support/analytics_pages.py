"""Builders for the analytics page tests: users with exactly the permissions a test names,
and saved queries over the demo ``events`` table (see tests/analytics/conftest.py)."""

from __future__ import annotations

import csv
import io

from tests.support.users import make_user

ALL_ANALYTICS = (
    "analytics.view_schema",
    "analytics.run_savedquery",
    "analytics.run_adhoc_sql",
    "analytics.export_savedquery",
)

DAILY_SQL = (
    "SELECT toDate(event_time) AS day, sum(revenue) AS revenue, count() AS events\n"
    "FROM events\n"
    "WHERE event_time >= {start:Date} AND event_time < {end:Date} + 1\n"
    "GROUP BY day ORDER BY day"
)
COUNTRY_SQL = (
    "SELECT country, count() AS events FROM events\n"
    "WHERE event_type = {event_type:String}\n"
    "GROUP BY country ORDER BY events DESC, country"
)


def make_query(owner, **fields):
    from admin2_analytics.models import SavedQuery

    values = {
        "name": "Daily revenue (test)",
        "sql": DAILY_SQL,
        "parameter_defaults": {"start": "2025-01-01", "end": "2025-01-31"},
        "shared": True,
        "chart_kind": "line",
        "chart_x": "day",
        "chart_y": ["revenue"],
        "cache_ttl_seconds": 300,
    }
    values.update(fields)
    if "name" not in fields:  # several default queries in one test get numbered names
        taken = SavedQuery.objects.filter(name__startswith="Daily revenue (test").count()
        values["name"] = f"Daily revenue (test {taken + 1})" if taken else values["name"]
    return SavedQuery.objects.create(owner=owner, **values)


def direct_count(sql: str, params: dict | None = None) -> int:
    """Rows the engine returns for ``sql``, asked directly through the seam."""
    from admin2_analytics import engine

    wrapped = f"SELECT count() FROM (\n{sql}\n)"  # noqa: S608 (test SQL; the guard checks it)
    result = engine.execute(wrapped, params, tag=engine.QueryTag(user="test", source="cli"))
    return int(result.rows[0][0])


def demo_analyst(django_user_model, password: str):
    """The demo content (owned by a superuser, shared) and "analyst", holding every analytics
    permission, who logs in with ``password``."""
    from admin2_analytics.demo_content import create_demo_objects

    django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password-1")
    create_demo_objects()
    user = make_user("analyst", *ALL_ANALYTICS)
    user.set_password(password)
    user.save()
    return user


def csp_reports(page) -> list[str]:
    """A list that fills with the Content Security Policy violations the browser console of
    ``page`` (Playwright) reports from now on."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return found


def read_csv(data: bytes | str) -> list[list[str]]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return list(csv.reader(io.StringIO(text)))


def due_report(owner, **fields):
    """A scheduled report of a daily-revenue query, due now (``fields`` override)."""
    import datetime as dt

    from django.utils import timezone

    from admin2_analytics.models import ScheduledReport

    values = {
        "name": "Weekly revenue",
        "saved_query": make_query(owner),
        "params": {"end": "2025-01-07"},
        "every": ScheduledReport.Every.HOURS,
        "interval": 6,
        "recipients": "boss@example.com",
        "owner": owner,
    }
    values.update(fields)
    report = ScheduledReport.objects.create(**values)
    ScheduledReport.objects.filter(pk=report.pk).update(
        next_run=timezone.now() - dt.timedelta(seconds=1)
    )
    report.refresh_from_db()
    return report
