"""The branded admin site, with links that plugins contribute through the registry."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django_otp import user_has_device

from admin2.forms import Admin2LoginForm
from admin2.registry import registry


class Admin2Site(admin.AdminSite):
    site_header = "admin2"
    index_title = "Administration"
    index_template = "admin2/index.html"
    login_form = Admin2LoginForm
    login_template = "admin2/login.html"

    def has_permission(self, request) -> bool:
        # A user with a second factor must have used it for this session. The session check
        # comes first: it needs no query, so verified users skip the device lookup.
        if not super().has_permission(request):
            return False
        return request.user.is_verified() or not user_has_device(request.user)

    @property
    def site_title(self) -> str:  # type: ignore[override]
        return settings.ADMIN2_SITE_TITLE

    def plugin_sections(self, request) -> list[dict]:
        sections: dict[str, list[dict]] = {}
        for link in registry.admin_links:
            if link.permission and not request.user.has_perm(link.permission):
                continue
            try:
                url = reverse(link.url_name)
            except NoReverseMatch:
                continue
            sections.setdefault(link.section, []).append({"title": link.title, "url": url})
        return [{"name": name, "links": links} for name, links in sections.items()]

    def each_context(self, request):
        context = super().each_context(request)
        context["site_header"] = settings.ADMIN2_SITE_TITLE
        context["admin2_environment"] = settings.ENVIRONMENT
        if request.user.is_active and request.user.is_staff:
            context["admin2_sections"] = self.plugin_sections(request)
        return context
