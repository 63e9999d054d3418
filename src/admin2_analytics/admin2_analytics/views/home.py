from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from admin2_analytics.models import Dashboard, SavedQuery
from admin2_analytics.views.common import admin_page, render_page


@admin_page
def index(request):
    """The analytics home. It also answers the admin's app index URL for this app
    (``/admin/analytics/``), so any permission in the app opens it."""
    if not request.user.has_module_perms("analytics"):
        raise PermissionDenied("You have no analytics permission.")
    user = request.user
    can_run = user.has_perm("analytics.run_savedquery")
    queries = SavedQuery.objects.visible_to(user).select_related("owner") if can_run else []
    dashboards = Dashboard.objects.visible_to(user) if can_run else []
    tools = []
    if user.has_perm("analytics.view_schema"):
        tools.append(("Schema browser", reverse("analytics:schema")))
    if user.has_perm("analytics.run_adhoc_sql"):
        tools.append(("SQL console", reverse("analytics:console")))
    if user.has_perm("analytics.view_queryrun"):
        tools.append(("Query history", reverse("admin:analytics_queryrun_changelist")))
    if user.has_perm("analytics.view_export"):
        tools.append(("Exports", reverse("admin:analytics_export_changelist")))
    if user.has_perm("analytics.add_savedquery"):
        tools.append(("New saved query", reverse("admin:analytics_savedquery_add")))
    return render_page(
        request,
        "admin2_analytics/index.html",
        "Analytics",
        {"queries": queries, "dashboards": dashboards, "tools": tools},
    )
