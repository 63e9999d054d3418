"""Revisions of saved queries: a numbered copy of the SQL, defaults and chart at every save
that changes them, line diffs between two, and forks. Reverting goes through the saved query
form (``views.revisions``). No model is imported: the model calls :func:`keep` from ``save``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

TRACKED = ("sql", "parameter_defaults", "chart_kind", "chart_x", "chart_y")
FIELD_NAMES = {"sql": "SQL", "parameter_defaults": "parameters", "chart_kind": "chart",
               "chart_x": "chart", "chart_y": "chart"}  # fmt: skip


def snapshot(obj) -> dict:
    """The tracked fields of a saved query or a revision, comparable across both."""
    return {name: getattr(obj, name) for name in TRACKED}


def changed_fields(old: dict | None, new: dict) -> list[str]:
    """Human names of what differs, each once, in field order."""
    names = [FIELD_NAMES[name] for name in TRACKED if old is None or old[name] != new[name]]
    return list(dict.fromkeys(names))


def describe(old: dict | None, new: dict) -> str:
    if old is None:
        return "Created."
    names = changed_fields(old, new)
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Changed {text}."


def keep(query, *, author=None, message: str = ""):
    """Keep a revision of ``query`` as saved now, unless it equals the latest one; return it
    (or None). The query row is locked so two saves at once get consecutive numbers."""
    with transaction.atomic():
        type(query)._base_manager.select_for_update().filter(pk=query.pk).exists()
        latest = query.revisions.order_by("-number").first()
        current = snapshot(query)
        previous = snapshot(latest) if latest else None
        if previous == current:
            return None
        return query.revisions.create(
            number=(latest.number if latest else 0) + 1,
            author=author if getattr(author, "pk", None) else None,
            message=(message.strip() or describe(previous, current))[:300],
            **current,
        )


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "context" or "hunk"
    text: str


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[DiffLine]

    @property
    def changed(self) -> bool:
        return any(line.kind in ("add", "remove") for line in self.lines)


def _parameter_lines(values: dict) -> list[str]:
    return [f"{name}={value}" for name, value in sorted((values or {}).items())]


def _chart_lines(state: dict) -> list[str]:
    return [
        f"kind: {state['chart_kind'] or 'none'}",
        f"x: {state['chart_x']}",
        f"y: {', '.join(state['chart_y'] or [])}",
    ]


def _unified(old: list[str], new: list[str]) -> list[DiffLine]:
    kinds = {"+": "add", "-": "remove", " ": "context", "@": "hunk"}
    lines = []
    for raw in difflib.unified_diff(old, new, lineterm="", n=3):
        if raw.startswith(("+++", "---")):
            continue
        lines.append(DiffLine(kinds[raw[:1]], raw[1:] if raw[:1] != "@" else raw))
    return lines or [DiffLine("context", line) for line in new]


def diff(old, new) -> list[Section]:
    """SQL, parameter defaults and chart of two revisions as unified line diffs."""
    a, b = snapshot(old), snapshot(new)
    return [
        Section("SQL", _unified(a["sql"].splitlines(), b["sql"].splitlines())),
        Section(
            "Parameter defaults",
            _unified(
                _parameter_lines(a["parameter_defaults"]), _parameter_lines(b["parameter_defaults"])
            ),
        ),
        Section("Chart", _unified(_chart_lines(a), _chart_lines(b))),
    ]


def fork_name(model, name: str, user) -> str:
    base = f"{name} (fork by {user.get_username()})"
    candidate, number = base[:200], 1
    while model.objects.filter(name=candidate).exists():
        number += 1
        suffix = f" {number}"
        candidate = base[: 200 - len(suffix)] + suffix
    return candidate


def fork(query, *, user):
    """A private copy of ``query`` owned by ``user``, its first revision naming the origin."""
    latest = query.revisions.aggregate(number=Max("number"))["number"]
    copy = type(query)(
        name=fork_name(type(query), query.name, user),
        description=query.description,
        owner=user,
        shared=False,
        cache_ttl_seconds=query.cache_ttl_seconds,
        **snapshot(query),
    )
    origin = f"revision {latest}" if latest else "its current state"
    copy.save(author=user, message=f"Forked from {query.name!r}, {origin}.")
    return copy
