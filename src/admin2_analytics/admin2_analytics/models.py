"""What staff keep in the admin database: saved queries, dashboards, run history, exports and
scheduled reports. The rows themselves live in ClickHouse and are only ever read."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from admin2 import charts
from admin2_analytics.kinds import ExportFormat, Source


def address_list(text: str) -> list[str]:
    """E-mail addresses written one per line, or separated by commas or semicolons."""
    raw = text.replace(",", "\n").replace(";", "\n")
    return [address.strip() for address in raw.splitlines() if address.strip()]


class VisibleQuerySet(models.QuerySet):
    """Visibility of owned things (saved queries, dashboards): shared ones and the user's own;
    superusers see everything."""

    def visible_to(self, user) -> VisibleQuerySet:
        if user.is_superuser:
            return self
        return self.filter(Q(shared=True) | Q(owner_id=user.pk))


def pin_chart_choices() -> list[tuple[str, str]]:
    """A pin draws as its saved query says, as a table only, or as any chart kind."""
    kinds = [choice for choice in charts.choices() if choice[0] != charts.NONE]
    return [(PIN_AS_QUERY, "As the saved query says"), (charts.NONE, "Table only"), *kinds]


PIN_AS_QUERY = "query"
CHART_KIND_LENGTH = 32  # registry names are at most this long
MIN_REFRESH = 10  # seconds: a faster reload would mostly load the engine


def validate_refresh_seconds(value: int) -> None:
    if 0 < value < MIN_REFRESH:
        raise ValidationError(f"Auto-refresh is 0 (off) or at least {MIN_REFRESH} seconds.")


def validate_parameter_name(value: str) -> None:
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValidationError(f"{value!r} is not a parameter name (letters, digits, _).")


class SavedQuery(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    sql = models.TextField(
        "SQL",
        help_text="One read statement; typed parameters like {start:Date}.",
    )
    parameter_defaults = models.JSONField(
        default=dict,
        blank=True,
        help_text="Default value (as text) for each placeholder, by name.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="saved_queries"
    )
    shared = models.BooleanField(
        default=False, help_text="Shared queries are visible to every analytics user."
    )
    cache_ttl_seconds = models.PositiveIntegerField(
        "result cache TTL (seconds)", default=300, help_text="0 turns the result cache off."
    )
    # Choices come from the chart registry (a callable): a new kind needs no migration.
    chart_kind = models.CharField(
        max_length=CHART_KIND_LENGTH, choices=charts.choices, default=charts.NONE
    )
    chart_x = models.CharField("chart x column", max_length=200, blank=True)
    chart_y = models.JSONField("chart y columns", default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "saved queries"
        permissions = [
            ("run_savedquery", "Can run saved queries and open dashboards"),
            ("run_adhoc_sql", "Can run ad-hoc SQL in the console"),
            ("export_savedquery", "Can export saved query results"),
            ("view_schema", "Can browse the warehouse schema"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, author=None, message: str = "", **kwargs):
        """Save, and keep a revision when the SQL, defaults or chart changed (``revisions``):
        ``author`` and ``message`` describe the change."""
        from admin2_analytics import revisions

        with transaction.atomic():
            super().save(*args, **kwargs)
            revisions.keep(self, author=author, message=message)

    def is_visible_to(self, user) -> bool:
        return user.is_superuser or self.shared or self.owner_id == user.pk

    def is_editable_by(self, user) -> bool:
        return user.is_superuser or self.owner_id == user.pk

    @property
    def sql_fingerprint(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


class QueryRevision(models.Model):
    """One saved state of a saved query's SQL, parameter defaults and chart (``revisions``)."""

    saved_query = models.ForeignKey(SavedQuery, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="analytics_revisions",
    )
    created_at = models.DateTimeField(default=timezone.now)
    message = models.CharField(max_length=300, blank=True)
    sql = models.TextField("SQL")
    parameter_defaults = models.JSONField(default=dict, blank=True)
    chart_kind = models.CharField(max_length=32, blank=True)
    chart_x = models.CharField(max_length=200, blank=True)
    chart_y = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["saved_query", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["saved_query", "number"], name="analytics_revision_number_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.saved_query} r{self.number}"


class Dashboard(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dashboards"
    )
    shared = models.BooleanField(default=False)
    refresh_seconds = models.PositiveIntegerField(
        "auto-refresh (seconds)",
        default=0,
        validators=[validate_refresh_seconds],
        help_text=f"Reload the page this often; 0 turns it off, else at least {MIN_REFRESH}.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_visible_to(self, user) -> bool:
        return user.is_superuser or self.shared or self.owner_id == user.pk


class DashboardFilter(models.Model):
    """A dashboard-level widget. Its value replaces the default of every panel's placeholder
    of the same name and type (``{name:Type}``); panels without it are untouched."""

    class Widget(models.TextChoices):
        DATE_RANGE = "date_range", "date range with presets (two parameters)"
        DROPDOWN = "dropdown", "dropdown filled by a saved query"
        VALUE = "value", "typed value"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="filters")
    position = models.PositiveIntegerField(
        default=0, help_text="Filters apply in this order: a dropdown may use earlier ones."
    )
    widget = models.CharField(max_length=16, choices=Widget.choices, default=Widget.VALUE)
    name = models.CharField(
        "parameter",
        max_length=100,
        validators=[validate_parameter_name],
        help_text="The placeholder name it sets; for a date range, the start.",
    )
    end_name = models.CharField(
        "end parameter",
        max_length=100,
        blank=True,
        validators=[validate_parameter_name],
        help_text="Date range only: the placeholder of the last day.",
    )
    type = models.CharField(
        max_length=100, default="String", help_text="The ClickHouse type, as the panels declare it."
    )
    label = models.CharField(max_length=200, blank=True)
    default = models.CharField(
        max_length=200,
        blank=True,
        help_text="The value without a choice in the URL; a date range takes a preset "
        "(last_7_days, this_month…) or start..end.",
    )
    options_query = models.ForeignKey(
        SavedQuery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Dropdown only: its first column lists the choices.",
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dashboard", "name"], name="analytics_filter_name_once_per_dashboard"
            )
        ]

    def __str__(self) -> str:
        return self.label or self.name

    @property
    def parameter_names(self) -> list[str]:
        return [self.name, self.end_name] if self.widget == self.Widget.DATE_RANGE else [self.name]

    def clean(self):
        from admin2_analytics.filter_rules import check_filter

        check_filter(self)


class DashboardPin(models.Model):
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="pins")
    saved_query = models.ForeignKey(SavedQuery, on_delete=models.CASCADE, related_name="pins")
    position = models.PositiveIntegerField(default=0)
    chart = models.CharField(
        max_length=CHART_KIND_LENGTH, choices=pin_chart_choices, default=PIN_AS_QUERY
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dashboard", "saved_query"], name="analytics_pin_once_per_dashboard"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.saved_query}"

    @property
    def chart_kind(self) -> str:
        return self.saved_query.chart_kind if self.chart == PIN_AS_QUERY else self.chart


class QueryRun(models.Model):
    """One execution against ClickHouse, successful or not (the query history)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="analytics_runs",
    )
    # A shell run has no admin user: the account that ran ``admin2 analytics_query`` instead.
    os_user = models.CharField("OS user", max_length=150, blank=True)
    saved_query = models.ForeignKey(
        SavedQuery, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    sql = models.TextField("SQL")
    params = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.WEB)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    row_count = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    cached = models.BooleanField(default=False, help_text="Answered from the result cache.")
    # The engine's id of the run (KILL QUERY, system.processes, the server's query_log).
    query_id = models.CharField("query id", max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = "query run"
        verbose_name_plural = "query history"

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.source} {self.sql[:60]}"

    @property
    def failed(self) -> bool:
        return bool(self.error)


class Export(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    saved_query = models.ForeignKey(
        SavedQuery, null=True, on_delete=models.SET_NULL, related_name="exports"
    )
    params = models.JSONField(default=dict, blank=True)
    format = models.CharField(max_length=8, choices=ExportFormat.choices, default="csv")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="analytics_exports",
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    file = models.FileField(upload_to="exports/", max_length=300, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    task_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        name = self.saved_query.name if self.saved_query else "deleted query"
        return f"{name} ({self.format}, {self.state})"

    def is_visible_to(self, user) -> bool:
        return user.is_superuser or self.requested_by_id == user.pk

    @property
    def downloadable(self) -> bool:
        return self.state == self.State.DONE and bool(self.file) and not self.expired

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class ScheduledReport(models.Model):
    class Every(models.TextChoices):
        MINUTES = "minutes", "every N minutes"
        HOURS = "hours", "every N hours"
        DAILY = "daily", "daily at a time"

    name = models.CharField(max_length=200, unique=True)
    saved_query = models.ForeignKey(SavedQuery, on_delete=models.CASCADE, related_name="reports")
    params = models.JSONField(
        default=dict, blank=True, help_text="Parameter values (as text); defaults fill the rest."
    )
    format = models.CharField(max_length=8, choices=ExportFormat.choices, default="csv")
    every = models.CharField(max_length=8, choices=Every.choices, default=Every.DAILY)
    interval = models.PositiveIntegerField(
        default=1, help_text="N for 'every N minutes/hours'; ignored for daily."
    )
    at_time = models.TimeField(
        null=True, blank=True, help_text="Time of day for daily reports (server time zone)."
    )
    recipients = models.TextField(blank=True, help_text="E-mail addresses, one per line or comma.")
    store_to_media = models.BooleanField(default=False, help_text="Keep each report file.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="analytics_reports"
    )
    enabled = models.BooleanField(default=True)
    last_run = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_file = models.CharField(max_length=300, blank=True)
    next_run = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if self.next_run is None:
            self.next_run = self.following_run(timezone.now())
        super().save(*args, **kwargs)

    @property
    def recipient_list(self) -> list[str]:
        return address_list(self.recipients)

    def following_run(self, after: dt.datetime) -> dt.datetime:
        """The first scheduled moment strictly after ``after``."""
        if self.every == self.Every.MINUTES:
            return after + dt.timedelta(minutes=max(1, self.interval))
        if self.every == self.Every.HOURS:
            return after + dt.timedelta(hours=max(1, self.interval))
        at = self.at_time or dt.time(0, 0)
        local = timezone.localtime(after)
        candidate = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate = timezone.make_aware(
                dt.datetime.combine(local.date() + dt.timedelta(days=1), at),
                local.tzinfo,
            )
        return candidate


class Alert(models.Model):
    """A condition on a saved query's result, checked on a schedule as its owner; a message
    goes out when it starts to hold, (optionally) as a reminder while it holds, and when it
    stops (``alerts``)."""

    class Condition(models.TextChoices):
        CELL = "cell", "a cell value (first row)"
        ROWS = "rows", "the row count"
        CHANGE = "change", "the change since the last run"

    class Operator(models.TextChoices):
        GT = ">", ">"
        GE = ">=", ">="
        LT = "<", "<"
        LE = "<=", "<="
        EQ = "=", "="
        NE = "!=", "!="

    class State(models.TextChoices):
        OK = "ok", "ok"
        TRIGGERED = "triggered", "triggered"

    name = models.CharField(max_length=200, unique=True)
    saved_query = models.ForeignKey(SavedQuery, on_delete=models.CASCADE, related_name="alerts")
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text="Fixed parameter values (as text); defaults fill the rest.",
    )
    condition = models.CharField(max_length=8, choices=Condition.choices, default=Condition.CELL)
    column = models.CharField(
        max_length=200,
        blank=True,
        help_text="Column of a cell value; for a change, empty: the row count.",
    )
    operator = models.CharField(max_length=2, choices=Operator.choices, default=Operator.GT)
    threshold = models.DecimalField(max_digits=40, decimal_places=10, default=0)
    every_minutes = models.PositiveIntegerField(default=5)
    remind_every_minutes = models.PositiveIntegerField(
        default=0, help_text="While it stays triggered, remind this often; 0: never."
    )
    muted_until = models.DateTimeField(
        null=True, blank=True, help_text="No messages before this time (state still changes)."
    )
    recipients = models.TextField(blank=True, help_text="E-mail addresses, one per line or comma.")
    webhook_url = models.URLField(
        "webhook URL", blank=True, help_text="POSTed a JSON message; its host must be allowed."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="analytics_alerts"
    )
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=9, choices=State.choices, default=State.OK)
    last_observed = models.CharField(max_length=100, blank=True, help_text="Value or row count.")
    last_value = models.CharField(max_length=100, blank=True, help_text="What was compared.")
    last_run = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    next_run = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def recipient_list(self) -> list[str]:
        return address_list(self.recipients)
