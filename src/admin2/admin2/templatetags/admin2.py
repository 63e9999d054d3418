"""Two template loops every admin page runs, written in Python: the app list and select options.

They render what Django's ``admin/app_list.html`` and ``django/forms/widgets/select.html``
render (tests/core/test_admin_rendering.py compares them), for a fraction of the cost of a
dozen template tags and includes per row. The app list also shows plugins' links (admin2.sites).
"""

from __future__ import annotations

import html
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.template.base import render_value_in_context
from django.utils.functional import Promise
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import get_language, gettext

register = template.Library()

SELECT_OPTION = "django/forms/widgets/select_option.html"


@lru_cache(maxsize=4096)
def _escape_text(text: str) -> str:
    return html.escape(text)


def esc(value) -> str:
    """conditional_escape(), remembering the escaped form of the names and URLs it sees."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_text(str(value))


@lru_cache(maxsize=64)
def _words(language: str | None) -> dict[str, str]:
    # {% translate 'literal' %}: a template literal is safe, and so is its translation.
    words = ("Model name", "Add link", "Change or view list link", "Add", "View", "Change")
    return {word: gettext(word) for word in words}


@register.simple_tag(takes_context=True)
def admin2_app_list(context, app_list, show_changelinks) -> SafeString:
    if not app_list:
        nothing = gettext("You don’t have permission to view or edit anything.")  # noqa: RUF001
        return mark_safe(f"<p>{nothing}</p>")  # noqa: S308 (a translated literal, as in Django)
    request = context.get("request")
    path = quote(request.path) if request is not None else ""  # request.path|urlencode
    words = _words(get_language())
    head = (
        '<thead class="visually-hidden"><tr>'
        f'<th scope="col">{words["Model name"]}</th>'
        f'<th scope="col">{words["Add link"]}</th>'
        f'<th scope="col">{words["Change or view list link"]}</th>'
        "</tr></thead>"
    )
    out = []
    for app in app_list:
        label = esc(app.get("app_label") or "")
        out.append(_app_caption(app, label, path) + head)
        for link in app.get("admin2_links", ()):
            out.append(_link_row(link, path, show_changelinks))
        for model in app["models"]:
            out.append(_model_row(model, label, path, show_changelinks, words))
        out.append("</table></div>")
    return mark_safe("".join(out))  # noqa: S308 (every value is escaped where it is added)


def _app_caption(app, label: str, path: str) -> str:
    app_url = app.get("app_url")
    name = esc(app["name"])
    if app.get("app_label"):
        current = " current-app" if app_url is not None and app_url in path else ""
        opening = f'<div class="app-{label} module{current}"><table><caption>'
    else:
        opening = '<div class="module admin2-section"><table><caption>'
    if app_url:
        # As blocktranslate does it: the value is escaped, the translated text is not.
        title = gettext("Models in the %(name)s application") % {"name": name}
        name = f'<a href="{esc(app_url)}" class="section" title="{title}">{name}</a>'
    return f"{opening}{name}</caption>"


def _link_row(link, path, show_changelinks) -> str:
    current = link["url"] == path
    css, aria = (" current-model", ' aria-current="page"') if current else ("", "")
    return (
        f'<tr class="admin2-link{css}"><th scope="row">'
        f'<a href="{esc(link["url"])}"{aria}>{esc(link["title"])}</a>'
        f"</th><td></td>{'<td></td>' if show_changelinks else ''}</tr>"
    )


def _model_row(model, label, path, show_changelinks, words) -> str:
    name = esc(str(model["object_name"]).lower())
    row_id = f"{label}-{name}"
    admin_url = model.get("admin_url")
    page_url = model.get("admin2_url")  # a plugin's page for this model (admin2.sites)
    current = (bool(admin_url) and admin_url in path) or page_url == path
    cells = [_name_cell(model, row_id, page_url or admin_url, current),
             _add_cell(model, row_id, words)]  # fmt: skip
    if show_changelinks:
        cells.append(_change_cell(model, row_id, admin_url, words))
    return f'<tr class="model-{name}{" current-model" if current else ""}">{"".join(cells)}</tr>'


def _name_cell(model, row_id: str, url: str | None, current: bool) -> str:
    text = esc(model["name"])
    if url:
        aria = ' aria-current="page"' if current else ""
        text = f'<a href="{esc(url)}"{aria}>{text}</a>'
    return f'<th scope="row" id="{row_id}">{text}</th>'


def _add_cell(model, row_id: str, words) -> str:
    if not model.get("add_url"):
        return "<td></td>"
    return (f'<td><a href="{esc(model["add_url"])}" class="addlink" '
            f'aria-describedby="{row_id}">{words["Add"]}</a></td>')  # fmt: skip


def _change_cell(model, row_id: str, admin_url: str | None, words) -> str:
    if not admin_url:
        return "<td></td>"
    kind, word = ("viewlink", "View") if model.get("view_only") else ("changelink", "Change")
    return (f'<td><a href="{esc(admin_url)}" class="{kind}" '
            f'aria-describedby="{row_id}">{words[word]}</a></td>')  # fmt: skip


@register.simple_tag(takes_context=True)
def admin2_select_options(context, optgroups) -> SafeString:
    """The options of ``select.html``; an option with a template of its own is included."""
    parts = []
    for group_name, group_choices, _index in optgroups:
        if group_name:
            parts.append(f'\n  <optgroup label="{_render(group_name, context)}">')
        for option in group_choices:
            parts.append("\n  ")
            if option["template_name"] == SELECT_OPTION:
                parts.append(_option(option, context))
            else:
                included = context.template.engine.get_template(option["template_name"])
                with context.push(widget=option):
                    parts.append(included.render(context))
        if group_name:
            parts.append("\n  </optgroup>")
    return mark_safe("".join(parts))  # noqa: S308 (rendered with escaping)


def _option(option, context) -> str:
    value = _render(_stringformat(option["value"]), context)
    label = _render(option["label"], context)
    # select_option.html ends with a newline.
    return f'<option value="{value}"{_attrs(option["attrs"], context)}>{label}</option>\n'


def _attrs(attrs, context) -> str:
    out = []
    for name, value in attrs.items():
        if value is not False:
            out.append(" " + _render(name, context))
            if value is not True:
                out.append(f'="{_render(_stringformat(value), context)}"')
    return "".join(out)


def _render(value, context) -> str:
    """``{{ value }}``: render_value_in_context(), which leaves a plain str to escaping alone."""
    if type(value) is str and context.autoescape:
        return esc(value)
    return render_value_in_context(value, context)


def _stringformat(value):
    """``value|stringformat:'s'``: a filter marked is_safe keeps a safe value safe."""
    try:
        text = "%s" % (str(value) if isinstance(value, tuple) else value)
    except (ValueError, TypeError):
        return ""
    return mark_safe(text) if isinstance(value, SafeData) else text  # noqa: S308
