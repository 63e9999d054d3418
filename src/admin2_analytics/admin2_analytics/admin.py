"""The analytics models in the admin site: saved queries, dashboards, history, exports,
scheduled reports. Visibility follows the pages: shared or own, superusers see all."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from admin2_analytics import exports
from admin2_analytics.console_links import console_link
from admin2_analytics.forms import AlertForm, SavedQueryForm, ScheduledReportForm
from admin2_analytics.models import (
    Alert,
    Dashboard,
    DashboardFilter,
    DashboardPin,
    Export,
    QueryRun,
    SavedQuery,
    ScheduledReport,
)


class OwnedAdmin(admin.ModelAdmin):
    """Owner is whoever creates it; only the owner or a superuser may change or delete."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def _owns(self, request, obj) -> bool:
        return obj is None or request.user.is_superuser or obj.owner_id == request.user.pk

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)


@admin.register(SavedQuery)
class SavedQueryAdmin(OwnedAdmin):
    form = SavedQueryForm
    list_display = [
        "name",
        "owner",
        "shared",
        "chart_kind",
        "cache_ttl_seconds",
        "updated_at",
        "run",
    ]
    list_filter = ["shared", "chart_kind"]
    search_fields = ["name", "description", "sql"]
    readonly_fields = ["owner", "created_at", "updated_at", "revisions_link"]
    fieldsets = [
        (None, {"fields": ["name", "description", "sql", "parameter_defaults"]}),
        ("Sharing and caching", {"fields": ["shared", "cache_ttl_seconds", "owner"]}),
        ("Chart", {"fields": ["chart_kind", "chart_x", "chart_y"]}),
        ("Revision", {"fields": ["revision_message", "revisions_link"]}),
        ("Dates", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def save_model(self, request, obj, form, change):
        # Every save keeps a revision; the admin log's "Changed SQL." entry is written as before.
        if not change:
            obj.owner = request.user
        obj.save(author=request.user, message=form.cleaned_data.get("revision_message", ""))

    def construct_change_message(self, request, form, formsets, add=False):
        # The admin log names changed fields; the revision message is kept with the revision.
        message = super().construct_change_message(request, form, formsets, add)
        label = str(form.fields["revision_message"].label)
        for entry in message:
            fields = entry.get("changed", {}).get("fields")
            if fields and label in fields:
                fields.remove(label)
        return [entry for entry in message if entry.get("changed", {}).get("fields", True)]

    @admin.display(description="revisions")
    def revisions_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("analytics:revisions", args=[obj.pk])
        return format_html('<a href="{}" id="revisions-link">{} revision(s)</a>', url,
                           obj.revisions.count())  # fmt: skip

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)

        class FormForUser(base):
            def __init__(self, *args, **form_kwargs):
                form_kwargs.setdefault("user", request.user)
                super().__init__(*args, **form_kwargs)

        return FormForUser

    @admin.display(description="")
    def run(self, obj):
        return format_html('<a href="{}">Run</a>', reverse("analytics:run", args=[obj.pk]))


class DashboardPinInline(admin.TabularInline):
    model = DashboardPin
    extra = 1
    fields = ["position", "saved_query", "chart"]
    ordering = ["position"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "saved_query":
            kwargs["queryset"] = SavedQuery.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DashboardFilterInline(admin.StackedInline):
    model = DashboardFilter
    extra = 0
    fields = [
        ("position", "widget"),
        ("name", "end_name", "type"),
        ("label", "default"),
        "options_query",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "options_query":
            kwargs["queryset"] = SavedQuery.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Dashboard)
class DashboardAdmin(OwnedAdmin):
    list_display = ["name", "owner", "shared", "updated_at", "open"]
    search_fields = ["name", "description"]
    readonly_fields = ["owner"]
    fields = ["name", "description", "shared", "refresh_seconds", "owner"]
    inlines = [DashboardFilterInline, DashboardPinInline]

    @admin.display(description="")
    def open(self, obj):
        return format_html('<a href="{}">Open</a>', reverse("analytics:dashboard", args=[obj.pk]))


class HasErrorFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("error", "failed"), ("ok", "succeeded")]

    def queryset(self, request, queryset):
        if self.value() == "error":
            return queryset.exclude(error="")
        if self.value() == "ok":
            return queryset.filter(error="")
        return queryset


def _own_rows(request, queryset, field):
    return queryset if request.user.is_superuser else queryset.filter(**{field: request.user.pk})


@admin.register(QueryRun)
class QueryRunAdmin(admin.ModelAdmin):
    """The query history. Staff see their own runs; superusers see everyone's."""

    list_display = [
        "started_at",
        "user",
        "os_user",
        "source",
        "saved_query",
        "short_sql",
        "duration_ms",
        "row_count",
        "cached",
        "outcome",
        "in_console",
    ]
    list_filter = [
        HasErrorFilter,
        "source",
        ("started_at", admin.DateFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        ("saved_query", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["sql", "error", "os_user", "query_id"]
    date_hierarchy = "started_at"
    list_select_related = ["user", "saved_query"]

    def get_queryset(self, request):
        return _own_rows(request, super().get_queryset(request), "user_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="SQL")
    def short_sql(self, obj):
        return obj.sql if len(obj.sql) <= 80 else obj.sql[:79] + "…"

    @admin.display(description="error")
    def outcome(self, obj):
        return obj.error[:120] if obj.error else "ok"

    def changelist_view(self, request, extra_context=None):
        self._may_use_console = request.user.has_perm("analytics.run_adhoc_sql")
        return super().changelist_view(request, extra_context)

    @admin.display(description="console")
    def in_console(self, obj):
        """Reopen the statement and its parameters in the console (it does not run)."""
        if not getattr(self, "_may_use_console", False):
            return ""
        return format_html('<a href="{}">Open in console</a>', console_link(obj.sql, obj.params))


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Finished exports with their download link; made from the saved query page."""

    list_display = [
        "id",
        "saved_query",
        "format",
        "state",
        "requested_by",
        "created_at",
        "row_count",
        "size",
        "expires_at",
        "download",
    ]
    list_filter = ["state", "format"]
    list_select_related = ["saved_query", "requested_by"]

    def get_queryset(self, request):
        return _own_rows(request, super().get_queryset(request), "requested_by_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="size")
    def size(self, obj):
        return filesizeformat(obj.size_bytes) if obj.size_bytes is not None else "-"

    @admin.display(description="file")
    def download(self, obj):
        if obj.downloadable:
            url = reverse("analytics:download", args=[obj.pk])
            return format_html('<a href="{}" class="export-download">Download</a>', url)
        if obj.state == Export.State.FAILED:
            return format_html('<span class="errornote">{}</span>', obj.error[:200])
        return "expired" if obj.expired else "not ready"

    def delete_model(self, request, obj):
        _delete_file(obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for export in queryset:
            _delete_file(export)
        super().delete_queryset(request, queryset)


def _delete_file(export: Export) -> None:
    if export.file:
        exports.stored_path(export.file.name).unlink(missing_ok=True)


class RunsAsOwnerAdmin(admin.ModelAdmin):
    """Reports and alerts: they run as their owner (whoever creates one), whose permissions
    the form checks; each user sees their own, superusers all."""

    def get_queryset(self, request):
        return _own_rows(request, super().get_queryset(request), "owner_id")

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The form checks the owner's export permission: the author of a new one.
        base = super().get_form(request, obj, change=change, **kwargs)
        owner = obj.owner if obj is not None else request.user

        class FormForOwner(base):
            def __init__(self, *args, **form_kwargs):
                form_kwargs.setdefault("owner", owner)
                super().__init__(*args, **form_kwargs)

        return FormForOwner

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "saved_query":
            kwargs["queryset"] = SavedQuery.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ScheduledReport)
class ScheduledReportAdmin(RunsAsOwnerAdmin):
    form = ScheduledReportForm
    list_display = ["name", "saved_query", "schedule", "enabled", "last_run", "next_run", "ok"]
    list_filter = ["enabled", "every"]
    readonly_fields = ["owner", "last_run", "next_run", "last_error", "last_file"]
    actions = ["run_soon"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        if not change or {"every", "interval", "at_time", "enabled"} & set(form.changed_data):
            obj.next_run = obj.following_run(timezone.now())
        super().save_model(request, obj, form, change)

    @admin.display(description="schedule")
    def schedule(self, obj):
        if obj.every == ScheduledReport.Every.DAILY:
            return f"daily at {obj.at_time:%H:%M}" if obj.at_time else "daily"
        return f"every {obj.interval} {obj.every}"

    @admin.display(description="last outcome")
    def ok(self, obj):
        if obj.last_run is None:
            return "-"
        return obj.last_error[:120] if obj.last_error else "ok"

    @admin.action(description="Run at the next dispatch (within a minute)")
    def run_soon(self, request, queryset):
        count = queryset.update(next_run=timezone.now())
        self.message_user(request, f"{count} report(s) will run at the next dispatch.")


@admin.register(Alert)
class AlertAdmin(RunsAsOwnerAdmin):
    form = AlertForm
    list_display = ["name", "saved_query", "rule", "state", "enabled", "muted_until",
                    "last_run", "last_value", "last_error"]  # fmt: skip
    list_filter = ["state", "enabled", "condition"]
    readonly_fields = ["owner", "state", "last_observed", "last_value", "last_run",
                       "last_error", "last_notified_at", "next_run"]  # fmt: skip

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="condition")
    def rule(self, obj):
        subject = obj.column or "rows" if obj.condition != Alert.Condition.ROWS else "rows"
        change = "change of " if obj.condition == Alert.Condition.CHANGE else ""
        return f"{change}{subject} {obj.operator} {obj.threshold.normalize()}"
