"""A saved query's revisions: the list, a diff between any two, revert, and fork."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from admin2 import charts
from admin2_analytics import revisions as kept
from admin2_analytics.forms import SavedQueryForm
from admin2_analytics.models import SavedQuery
from admin2_analytics.views.common import render_page, requires
from admin2_analytics.views.queries import visible_query


class RevertRefused(Exception):
    """The old revision does not pass today's checks; ``problems`` says which and why."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def restore(query, revision, *, user) -> SavedQuery:
    """Make ``revision`` the current state of ``query`` as a new revision once the saved
    query form (size, parameter types, the guard on ClickHouse's tree, chart columns) accepted
    it. Refused: RevertRefused, and nothing is changed."""
    # A fresh copy: a ModelForm writes cleaned values onto its instance even when invalid.
    instance = SavedQuery.objects.get(pk=query.pk)
    message = f"Reverted to revision {revision.number}."
    data = {
        "name": instance.name,
        "description": instance.description,
        "shared": instance.shared,
        "cache_ttl_seconds": instance.cache_ttl_seconds,
        "sql": revision.sql,
        "parameter_defaults": revision.parameter_defaults,
        "chart_kind": revision.chart_kind or charts.NONE,
        "chart_x": revision.chart_x,
        "chart_y": revision.chart_y,
    }
    form = SavedQueryForm(data, instance=instance, user=user)
    if not form.is_valid():
        raise RevertRefused(
            [
                f"{form.fields[name].label if name in form.fields else 'query'}: {' '.join(errors)}"
                for name, errors in form.errors.items()
            ]
        )
    reverted = form.save(commit=False)
    reverted.save(author=user, message=message)
    return reverted


def _number(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _pair(request, numbers: list[int]) -> tuple[int, int]:
    """The two revisions to compare (``?a=&b=``); by default the latest and the one before."""
    latest = numbers[0]
    older = numbers[1] if len(numbers) > 1 else latest
    return _number(request.GET.get("a"), older), _number(request.GET.get("b"), latest)


def _editable(request, query) -> bool:
    return query.is_editable_by(request.user) and request.user.has_perm(
        "analytics.change_savedquery"
    )


@requires("analytics.run_savedquery")
@require_http_methods(["GET"])
def revision_list(request, pk):
    query = visible_query(request, pk)
    listed = list(query.revisions.select_related("author"))
    context = {"query": query, "revisions": listed, "sections": None,
               "can_edit": _editable(request, query),
               "can_fork": request.user.has_perm("analytics.add_savedquery")}  # fmt: skip
    if listed:
        by_number = {revision.number: revision for revision in listed}
        a, b = _pair(request, list(by_number))
        if a not in by_number or b not in by_number:
            raise Http404(f"revision {a if a not in by_number else b} of this query does not exist")
        context.update(a=by_number[a], b=by_number[b],
                       sections=kept.diff(by_number[a], by_number[b]))  # fmt: skip
    return render_page(
        request,
        "admin2_analytics/revisions.html",
        f"Revisions of {query.name}",
        context,
        [
            ("Saved queries", reverse("analytics:index")),
            (query.name, reverse("analytics:run", args=[pk])),
            ("Revisions", None),
        ],
    )


@requires("analytics.run_savedquery", "analytics.change_savedquery")
@require_http_methods(["POST"])
def revert(request, pk, number):
    query = visible_query(request, pk)
    if not _editable(request, query):
        raise PermissionDenied("Only the owner of this query (or a superuser) may revert it.")
    revision = query.revisions.filter(number=number).first()
    if revision is None:
        raise Http404(f"revision {number} of this query does not exist")
    try:
        done = restore(query, revision, user=request.user)
    except RevertRefused as exc:
        messages.error(
            request,
            f"Revision {number} was not restored, nothing changed: {'; '.join(exc.problems)}",
        )
    else:
        latest = done.revisions.order_by("-number").first()
        messages.success(request, f"Revision {number} restored as revision {latest.number}.")
    return redirect("analytics:revisions", pk=pk)


@requires("analytics.run_savedquery", "analytics.add_savedquery")
@require_http_methods(["POST"])
def fork(request, pk):
    query = visible_query(request, pk)
    copy = kept.fork(query, user=request.user)
    messages.success(request, f"Forked as {copy.name!r}, owned by you and not shared.")
    return redirect("analytics:run", pk=copy.pk)
