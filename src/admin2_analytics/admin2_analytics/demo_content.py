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
REVENUE_KPI = "Revenue by month (KPI)"
WEEKLY_RHYTHM = "Events by weekday and hour"
DEVICE_DAYS = "Daily events by device in a country"
DEVICE_PURCHASES = "Purchases by country and device"
SPEND_SCATTER = "Purchase amount against time on the page"
COUNTRIES = "Countries"
EXPLORER = "Sales explorer"

_RANGE = "event_time >= {start:Date} AND event_time < {end:Date} + 1"
_RANGE_DEFAULTS = {"start": "2025-01-01", "end": "2025-03-31"}

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

# The chart kinds beyond line and bar, on a dashboard whose filters bind their placeholders.
EXPLORER_QUERIES = [
    {
        "name": REVENUE_KPI,
        "description": "Revenue of the last month in the range, against the month before.",
        "sql": (
            "SELECT toStartOfMonth(event_time) AS month, sum(revenue) AS revenue\n"
            f"FROM events\nWHERE {_RANGE}\nGROUP BY month\nORDER BY month"
        ),
        "parameter_defaults": _RANGE_DEFAULTS,
        "chart_kind": "kpi",
        "chart_x": "month",
        "chart_y": ["revenue"],
    },
    {
        "name": WEEKLY_RHYTHM,
        "description": "When people are active: events per weekday and hour (UTC).",
        "sql": (
            "SELECT toStartOfHour(event_time) AS hour, count() AS events\n"
            f"FROM events\nWHERE {_RANGE}\nGROUP BY hour\nORDER BY hour"
        ),
        "parameter_defaults": _RANGE_DEFAULTS,
        "chart_kind": "heatmap",
        "chart_x": "hour",
        "chart_y": ["events"],
    },
    {
        "name": DEVICE_DAYS,
        "description": "Events per day and device in one country.",
        "sql": (
            "SELECT toDate(event_time) AS day,\n"
            "       countIf(device = 'desktop') AS desktop,\n"
            "       countIf(device = 'mobile') AS mobile\n"
            f"FROM events\nWHERE {_RANGE} AND country = {{country:String}}\n"
            "GROUP BY day\nORDER BY day"
        ),
        "parameter_defaults": {**_RANGE_DEFAULTS, "country": "DE"},
        "chart_kind": "area",
        "chart_x": "day",
        "chart_y": ["desktop", "mobile"],
    },
    {
        "name": DEVICE_PURCHASES,
        "description": "Purchases per country, stacked by device (every country: no filter).",
        "sql": (
            "SELECT country,\n"
            "       countIf(device = 'desktop') AS desktop,\n"
            "       countIf(device = 'mobile') AS mobile,\n"
            "       countIf(device = 'tablet') AS tablet\n"
            f"FROM events\nWHERE event_type = 'purchase' AND {_RANGE}\n"
            "GROUP BY country\nORDER BY country"
        ),
        "parameter_defaults": _RANGE_DEFAULTS,
        "chart_kind": "stacked_bar",
        "chart_x": "country",
        "chart_y": ["desktop", "mobile", "tablet"],
    },
    {
        "name": SPEND_SCATTER,
        "description": "Each purchase in a country: seconds on the page against its amount.",
        "sql": (
            "SELECT event_time, duration_ms / 1000 AS seconds_on_page, revenue\n"
            "FROM events\n"
            f"WHERE event_type = 'purchase' AND country = {{country:String}} AND {_RANGE}\n"
            "ORDER BY event_time\nLIMIT 500"
        ),
        "parameter_defaults": {**_RANGE_DEFAULTS, "country": "DE"},
        "chart_kind": "scatter",
        "chart_x": "seconds_on_page",
        "chart_y": ["revenue"],
    },
    {
        "name": COUNTRIES,
        "description": "The countries in the data: the choices of the country filter.",
        "sql": "SELECT DISTINCT country FROM events ORDER BY country",
        "parameter_defaults": {},
        "chart_kind": "none",
    },
]
EXPLORER_FILTERS = [
    {"name": "start", "end_name": "end", "widget": "date_range", "type": "Date",
     "label": "Period", "default": "2025-01-01..2025-03-31"},
    {"name": "country", "widget": "dropdown", "type": "String", "label": "Country",
     "default": "DE"},
]  # fmt: skip


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
    for spec in QUERIES + EXPLORER_QUERIES:
        query, new = SavedQuery.objects.get_or_create(
            name=spec["name"], defaults={"cache_ttl_seconds": 600, **spec, "owner": owner,
                                         "shared": True}
        )  # fmt: skip
        queries.append(query)
        created += new
    board, _ = _shared_board(
        owner, DASHBOARD, "Revenue, purchases by country and the best customers at a glance."
    )
    for position, query in enumerate(queries[:3]):
        DashboardPin.objects.get_or_create(
            dashboard=board, saved_query=query, defaults={"position": position}
        )
    _explorer(owner, {query.name: query for query in queries})
    _say(
        stdout,
        f"analytics demo: {created} saved queries created, {len(queries) - created} kept; "
        f"dashboards {DASHBOARD!r} and {EXPLORER!r}",
    )
    return queries


def _shared_board(owner, name: str, description: str) -> tuple[Dashboard, bool]:
    return Dashboard.objects.get_or_create(
        name=name, defaults={"owner": owner, "shared": True, "description": description}
    )


def _explorer(owner, by_name: dict[str, SavedQuery]) -> None:
    """A dashboard with filters, showing the chart kinds beyond line and bar."""
    board, new = _shared_board(
        owner, EXPLORER, "Pick a period and a country: every panel that declares them follows."
    )
    if not new:
        return  # kept as it is, edits included
    for position, spec in enumerate(EXPLORER_FILTERS):
        options = by_name[COUNTRIES] if spec["widget"] == "dropdown" else None
        board.filters.create(position=position, options_query=options, **spec)
    pinned = [REVENUE_KPI, DAILY_REVENUE, WEEKLY_RHYTHM, DEVICE_DAYS, DEVICE_PURCHASES,
              SPEND_SCATTER, EVENTS_BY_COUNTRY]  # fmt: skip
    for position, name in enumerate(pinned):
        DashboardPin.objects.create(dashboard=board, saved_query=by_name[name], position=position)


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text + "\n")
