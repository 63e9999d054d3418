"""Analytics pages; the core mounts them under the admin URL at ``analytics/``."""

from django.urls import path

from admin2_analytics.views import console, dashboards, home, queries, revisions, schema

app_name = "analytics"
urlpatterns = [
    path("", home.index, name="index"),
    path("schema/", schema.databases, name="schema"),
    path("schema/<str:database>/", schema.tables, name="schema_tables"),
    path("schema/<str:database>/<str:table>/", schema.columns, name="schema_columns"),
    path("queries/<int:pk>/", queries.run, name="run"),
    path("queries/<int:pk>/export/", queries.export, name="export"),
    path("queries/<int:pk>/revisions/", revisions.revision_list, name="revisions"),
    path("queries/<int:pk>/revisions/<int:number>/revert/", revisions.revert, name="revert"),
    path("queries/<int:pk>/fork/", revisions.fork, name="fork"),
    path("exports/<int:pk>/download/", queries.download, name="download"),
    path("console/", console.console, name="console"),
    path("console/export/", console.console_export, name="console_export"),
    path("console/catalog.json", console.console_catalog, name="console_catalog"),
    path("console/progress/", console.console_progress, name="console_progress"),
    path("console/stop/", console.console_stop, name="console_stop"),
    path("console/format/", console.console_format, name="console_format"),
    path("console/parameters/", console.console_parameters_form, name="console_parameters"),
    path("dashboards/", dashboards.dashboard_list, name="dashboards"),
    path("dashboards/<int:pk>/", dashboards.dashboard, name="dashboard"),
]
