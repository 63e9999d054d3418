"""What staff keep in the admin database: saved queries, dashboards, run history, exports and
scheduled reports. The rows themselves live in ClickHouse and are only ever read."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

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


class SavedQuery(models.Model):
    class ChartKind(models.TextChoices):
        NONE = "none", "No chart"
        LINE = "line", "Line"
        BAR = "bar", "Bar"

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
    chart_kind = models.CharField(max_length=8, choices=ChartKind.choices, default=ChartKind.NONE)
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_visible_to(self, user) -> bool:
        return user.is_superuser or self.shared or self.owner_id == user.pk


class DashboardPin(models.Model):
    class Chart(models.TextChoices):
        QUERY = "query", "As the saved query says"
        NONE = "none", "Table only"
        LINE = "line", "Line"
        BAR = "bar", "Bar"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="pins")
    saved_query = models.ForeignKey(SavedQuery, on_delete=models.CASCADE, related_name="pins")
    position = models.PositiveIntegerField(default=0)
    chart = models.CharField(max_length=8, choices=Chart.choices, default=Chart.QUERY)

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
        return self.saved_query.chart_kind if self.chart == self.Chart.QUERY else self.chart


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
