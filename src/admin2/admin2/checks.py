"""System checks for configuration mistakes the settings cannot catch alone."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.urls)
def check_admin_url(app_configs, **kwargs):
    url = settings.ADMIN2_URL
    if not url.endswith("/") or url.startswith("/") or url == "/":
        return [
            Error(
                f"ADMIN2_URL must be a relative path ending with '/', got {url!r}",
                hint="For example ADMIN2_URL=staff-admin/",
                id="admin2.E001",
            )
        ]
    return []
