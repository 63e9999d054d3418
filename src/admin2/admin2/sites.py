"""The branded admin site: a second factor where the user has one, plugin links in the app list."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.signals import setting_changed
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.text import capfirst

from admin2 import second_factor
from admin2.forms import Admin2LoginForm
from admin2.registry import registry

# reverse() of the admin's and the plugins' index URLs, by (URLconf, script prefix, current
# app, name, arguments): the same for every request, and a third of what the app list cost.
_urls: dict[tuple, str | None] = {}


def _clear_urls(*, setting, **kwargs) -> None:
    if setting == "ROOT_URLCONF":
        _urls.clear()


setting_changed.connect(_clear_urls, dispatch_uid="admin2.sites.clear_urls")


def url_lookup(current_app: str | None = None):
    """A reverse(name, kwargs=...) remembered per process; None where it does not resolve."""
    where = (get_urlconf(), get_script_prefix(), current_app)

    def lookup(name: str, **kwargs: str) -> str | None:
        key = (*where, name, *kwargs.items())
        try:
            return _urls[key]
        except KeyError:
            pass
        try:
            url = reverse(name, kwargs=kwargs or None, current_app=current_app)
        except NoReverseMatch:
            url = None
        _urls[key] = url
        return url

    return lookup


class Admin2Site(admin.AdminSite):
    site_header = "admin2"
    index_title = "Administration"
    login_form = Admin2LoginForm
    login_template = "admin2/login.html"

    def has_permission(self, request) -> bool:
        # Asked by the view and again by each_context: answered once per request and user.
        remembered = getattr(request, "_admin2_permission", None)
        if remembered is not None and remembered[0] is request.user:
            return remembered[1]
        # The second factor is asked only of a staff member the admin would let in.
        allowed = super().has_permission(request) and second_factor.satisfied(request)
        request._admin2_permission = (request.user, allowed)
        return allowed

    @property
    def site_title(self) -> str:  # type: ignore[override]
        return settings.ADMIN2_SITE_TITLE

    def each_context(self, request):
        context = super().each_context(request)
        context["site_header"] = settings.ADMIN2_SITE_TITLE
        context["admin2_environment"] = settings.ENVIRONMENT
        return context

    def get_app_list(self, request, app_label=None):
        """Django's app list with each plugin's links in its app's section, once per request.

        Built the way AdminSite.get_app_list builds it (tests/core/test_admin_index.py compares
        them); the index and the navigation sidebar share one copy.
        """
        remembered = getattr(request, "_admin2_app_lists", None)
        if remembered is None or remembered[0] is not request.user:
            remembered = (request.user, {})
            request._admin2_app_lists = remembered
        if app_label not in remembered[1]:
            app_list = self._app_list(request, app_label)
            remembered[1][app_label] = app_list
        return remembered[1][app_label]

    def _app_list(self, request, app_label):
        app_dict = self._build_app_dict(request, app_label)
        by_name = {app["name"]: app for app in app_dict.values()}
        sections: dict[str, dict] = {}  # links whose heading is no app's: sections of their own
        for link in self.visible_links(request):
            heading = link["section"]
            if heading in by_name:
                _add_link(by_name[heading], link)
            elif app_label is None:
                sections.setdefault(heading, _links_section(heading))["admin2_links"].append(link)
        app_list = sorted(
            [*app_dict.values(), *sections.values()], key=lambda app: app["name"].lower()
        )
        for app in app_list:
            app["models"].sort(key=lambda model: model["name"])
        return app_list

    def visible_links(self, request) -> list[dict]:
        """The registry's admin links this user may follow, with their URLs."""
        links = []
        url_for = url_lookup()
        for link in registry.admin_links:
            if link.permission and not request.user.has_perm(link.permission):
                continue
            url = url_for(link.url_name)
            if url is not None:
                links.append({"section": str(link.section), "title": str(link.title), "url": url})
        return links

    def _build_app_dict(self, request, label=None):
        """AdminSite._build_app_dict (Django 5.2) with the URLs reversed once per process and
        the names translated once."""
        app_dict = {}
        url_for = url_lookup(self.name)
        for model, model_admin in self._registry.items():
            app = model._meta.app_label
            if label and app != label:
                continue
            has_module_perms = model_admin.has_module_permission(request)
            if not has_module_perms:
                continue
            perms = model_admin.get_model_perms(request)
            if True not in perms.values():
                continue
            model_name = model._meta.model_name
            model_dict = {
                "model": model,
                "name": str(capfirst(model._meta.verbose_name_plural)),
                "object_name": model._meta.object_name,
                "perms": perms,
                "admin_url": None,
                "add_url": None,
            }
            if perms.get("change") or perms.get("view"):
                model_dict["view_only"] = not perms.get("change")
                model_dict["admin_url"] = url_for(f"admin:{app}_{model_name}_changelist")
            if perms.get("add"):
                model_dict["add_url"] = url_for(f"admin:{app}_{model_name}_add")
            if app in app_dict:
                app_dict[app]["models"].append(model_dict)
            else:
                app_dict[app] = {
                    "name": str(apps.get_app_config(app).verbose_name),
                    "app_label": app,
                    "app_url": url_for("admin:app_list", app_label=app),
                    "has_module_perms": has_module_perms,
                    "models": [model_dict],
                }
        return app_dict


def _add_link(app: dict, link: dict) -> None:
    """A link named like one of the app's models leads from that model's row (its add and
    change links stay); a link to the page a row already leads to adds nothing."""
    for model in app["models"]:
        if link["url"] == model["admin_url"]:
            return
        if link["title"] == model["name"]:
            model["admin2_url"] = link["url"]
            return
    app.setdefault("admin2_links", []).append(link)


def _links_section(heading: str) -> dict:
    return {
        "name": heading,
        "app_label": None,
        "app_url": None,
        "has_module_perms": False,
        "models": [],
        "admin2_links": [],
    }
