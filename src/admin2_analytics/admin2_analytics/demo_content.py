"""Demo saved queries and a dashboard over the demo ``events`` table.

``analytics_demo_data`` calls :func:`create_demo_objects` after filling the table. It is
idempotent: existing objects (matched by name) are left as they are, edits included.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from admin2_analytics.models import Dashboard, DashboardPin, SavedQuery

DAILY_REVENUE = "Daily revenue"
EVENTS_BY_COUNTRY = "Events by country"
TOP_USERS = "Top users by revenue"
HOURLY_ACTIVITY = "Activity by hour of day"
DASHBOARD = "Business overview"

QUERIES = [
    {
        "name": DAILY_REVENUE,
        "description": "Purchases and revenue per day in a date range (both days included).",
        "sql": (
            "SELECT toDate(event_time) AS day,\n"
            "       sum(revenue) AS revenue,\n"
            "       countIf(event_type = 'purchase') AS purchases\n"
            "FROM events\n"
            "WHERE event_time >= {start:Date} AND event_time < {end:Date} + 1\n"
            "GROUP BY day\n"
            "ORDER BY day"
        ),
        "parameter_defaults": {"start": "2025-01-01", "end": "2025-03-31"},
        "chart_kind": "line",
        "chart_x": "day",
        "chart_y": ["revenue"],
        "cache_ttl_seconds": 600,
    },
    {
        "name": EVENTS_BY_COUNTRY,
        "description": "How many events of one type each country produced.",
        "sql": (
            "SELECT country, count() AS events, uniqExact(user_id) AS users\n"
            "FROM events\n"
            "WHERE event_type = {event_type:String}\n"
            "GROUP BY country\n"
            "ORDER BY events DESC"
        ),
        "parameter_defaults": {"event_type": "purchase"},
        "chart_kind": "bar",
        "chart_x": "country",
        "chart_y": ["events", "users"],
        "cache_ttl_seconds": 600,
    },
    {
        "name": TOP_USERS,
        "description": "The users who spent the most, with their number of purchases.",
        "sql": (
            "SELECT user_id, sum(revenue) AS revenue,\n"
            "       countIf(event_type = 'purchase') AS purchases\n"
            "FROM events\n"
            "GROUP BY user_id\n"
            "ORDER BY revenue DESC, user_id\n"
            "LIMIT {limit:UInt32}"
        ),
        "parameter_defaults": {"limit": "20"},
        "chart_kind": "bar",
        "chart_x": "user_id",
        "chart_y": ["revenue"],
        "cache_ttl_seconds": 300,
    },
    {
        "name": HOURLY_ACTIVITY,
        "description": "Events per hour of the day (UTC) by device, all time.",
        "sql": (
            "SELECT toHour(event_time) AS hour,\n"
            "       countIf(device = 'desktop') AS desktop,\n"
            "       countIf(device = 'mobile') AS mobile,\n"
            "       countIf(device = 'tablet') AS tablet\n"
            "FROM events\n"
            "GROUP BY hour\n"
            "ORDER BY hour"
        ),
        "parameter_defaults": {},
        "chart_kind": "line",
        "chart_x": "hour",
        "chart_y": ["desktop", "mobile", "tablet"],
        "cache_ttl_seconds": 600,
    },
]


def demo_owner():
    """The demo login if it is a superuser, else the first superuser, else None."""
    users = get_user_model().objects.filter(is_superuser=True, is_active=True)
    return users.filter(username=settings.ADMIN2_DEMO_USER).first() or users.order_by("pk").first()


@transaction.atomic
def create_demo_objects(stdout=None) -> list[SavedQuery]:
    """Create the demo saved queries and dashboard if missing; return the saved queries."""
    owner = demo_owner()
    if owner is None:
        _say(
            stdout,
            "analytics demo: no superuser yet, saved queries skipped "
            "(run `admin2 demo` or `admin2 createsuperuser`, then this command again)",
        )
        return []
    queries, created = [], 0
    for spec in QUERIES:
        query, new = SavedQuery.objects.get_or_create(
            name=spec["name"], defaults={**spec, "owner": owner, "shared": True}
        )
        queries.append(query)
        created += new
    board, _ = Dashboard.objects.get_or_create(
        name=DASHBOARD,
        defaults={
            "owner": owner,
            "shared": True,
            "description": "Revenue, purchases by country and the best customers at a glance.",
        },
    )
    for position, query in enumerate(queries[:3]):
        DashboardPin.objects.get_or_create(
            dashboard=board, saved_query=query, defaults={"position": position}
        )
    _say(
        stdout,
        f"analytics demo: {created} saved queries created, {len(queries) - created} kept; "
        f"dashboard {DASHBOARD!r}",
    )
    return queries


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text + "\n")
