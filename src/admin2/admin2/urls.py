from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from admin2 import system_health, views
from admin2.plugins import plugin_configs

handler500 = "admin2.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path(
        f"{settings.ADMIN2_URL}system-health/",
        admin.site.admin_view(system_health.page),
        name="admin2_system_health",
    ),
    path(settings.ADMIN2_URL, admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="root"),
]

# Plugins that ship pages expose ``<app>.urls``; the core mounts them under the admin URL
# without naming them, so a switched-off plugin simply has no routes.
for app_config in plugin_configs():
    if prefix := app_config.admin2_url_prefix:
        urlpatterns.insert(
            0, path(f"{settings.ADMIN2_URL}{prefix}", include(f"{app_config.name}.urls"))
        )
