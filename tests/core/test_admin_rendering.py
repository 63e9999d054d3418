"""admin2's Python renderings of two hot template loops render what Django's templates do:
the admin app list (index and navigation sidebar) and the options of a select widget."""

from __future__ import annotations

import re
from pathlib import Path

import django
import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.forms.renderers import DjangoTemplates
from django.template import Context, Engine
from django.test import RequestFactory
from django.utils.safestring import mark_safe
from django.utils.translation import override

from admin2.templatetags.admin2 import admin2_app_list

pytestmark = pytest.mark.django_db

DJANGO_ADMIN_TEMPLATES = Path(django.__file__).parent / "contrib" / "admin" / "templates"


def normalized(html: str) -> str:
    """Whitespace next to a tag carries no meaning here."""
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", re.sub(r"\s+", " ", str(html))).strip()


def django_app_list(app_list, show_changelinks, path) -> str:
    engine = Engine(dirs=[DJANGO_ADMIN_TEMPLATES], libraries={"i18n": "django.templatetags.i18n"})
    context = Context({"app_list": app_list, "show_changelinks": show_changelinks,
                       "request": RequestFactory().get(path)})  # fmt: skip
    return engine.get_template("admin/app_list.html").render(context)


def ours(app_list, show_changelinks, path) -> str:
    return admin2_app_list(Context({"request": RequestFactory().get(path)}), app_list,
                           show_changelinks)  # fmt: skip


def site_app_list(user, path="/admin/"):
    request = RequestFactory().get(path)
    request.user = user
    # Without the plugins' links, which Django's template does not know.
    return [
        {**{k: v for k, v in app.items() if k != "admin2_links"},
         "models": [{k: v for k, v in m.items() if k != "admin2_url"} for m in app["models"]]}
        for app in admin.site.get_app_list(request) if app["app_label"]
    ]  # fmt: skip


@pytest.mark.parametrize("show_changelinks", [True, False])
@pytest.mark.parametrize("path", ["/admin/", "/admin/auth/", "/admin/auth/user/1/change/"])
def test_app_list_renders_as_djangos_template(superuser, staff_user, show_changelinks, path):
    granted = Permission.objects.filter(codename__in=["view_user", "add_group"])
    staff_user.user_permissions.add(*granted)
    for user in (superuser, staff_user):
        app_list = site_app_list(user, path)
        assert normalized(ours(app_list, show_changelinks, path)) == normalized(
            django_app_list(app_list, show_changelinks, path)
        )


def test_app_list_escapes_and_translates_as_django_does():
    app_list = [{
        "name": "R&D <lab>", "app_label": "lab", "app_url": "/admin/lab/?a=1&b=2",
        "has_module_perms": True,
        "models": [
            {"name": "Tests & \"trials\"", "object_name": "Trial", "perms": {},
             "admin_url": "/admin/lab/trial/", "add_url": None, "view_only": True},
            {"name": mark_safe("<b>Bold</b>"), "object_name": "Bold", "perms": {},
             "admin_url": None, "add_url": "/admin/lab/bold/add/"},
        ],
    }]  # fmt: skip
    for language in ("en", "fr"):
        with override(language):
            for path in ("/admin/lab/trial/", "/elsewhere/"):
                assert normalized(ours(app_list, True, path)) == normalized(
                    django_app_list(app_list, True, path)
                )
    assert normalized(ours([], True, "/admin/")) == normalized(django_app_list([], True, "/"))


def test_plugin_links_render_in_their_apps_section():
    app_list = [{"name": "Lab", "app_label": "lab", "app_url": "/admin/lab/", "models": [],
                 "admin2_links": [{"title": "Console", "url": "/admin/lab/console/"}]},
                {"name": "Desk", "app_label": None, "app_url": None, "models": [],
                 "admin2_links": [{"title": "Open <it>", "url": "/desk/"}]}]  # fmt: skip
    html = ours(app_list, True, "/admin/lab/console/")
    assert '<tr class="admin2-link current-model"><th scope="row">' in html
    assert '<a href="/admin/lab/console/" aria-current="page">Console</a>' in html
    assert '<div class="module admin2-section"><table><caption>Desk</caption>' in html
    assert "Open &lt;it&gt;" in html


class Option(forms.Select):
    """A widget whose options carry attributes of their own."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"].update({"data-n": f'{value}"<', "disabled": value == 2, "hidden": False})
        return option


class OwnOptionTemplate(forms.Select):
    option_template_name = "django/forms/widgets/input_option.html"


CHOICES = [
    ("", "---------"),
    (1, "One & only"),
    (2, mark_safe("<i>Two</i>")),
    ("Group <g>", [("a", "Alpha"), ("b", 3.5)]),
    (None, None),
]


@pytest.mark.parametrize(
    "widget, value",
    [
        (forms.Select(choices=CHOICES), 2),
        (forms.SelectMultiple(choices=CHOICES, attrs={"class": "x"}), ["1", "b"]),
        (forms.NullBooleanSelect(), True),
        (Option(choices=CHOICES, attrs={"id": "id_f"}), "a"),
        (OwnOptionTemplate(choices=CHOICES), 1),
        (admin.widgets.FilteredSelectMultiple("things", False, choices=CHOICES), ["a"]),
    ],
)
def test_select_renders_as_djangos_templates(widget, value):
    from django.conf import settings

    assert settings.FORM_RENDERER == "django.forms.renderers.TemplatesSetting"
    for language in ("en", "de"):
        with override(language):
            django_html = widget.render("f", value, renderer=DjangoTemplates())
            assert widget.render("f", value) == django_html
    assert "admin2_select_options" not in django_html  # Django's own templates did render it


def test_selects_use_admin2s_template():
    from django.forms.renderers import get_default_renderer

    template = get_default_renderer().get_template("django/forms/widgets/select.html")
    assert "admin2_select_options" in template.template.source
