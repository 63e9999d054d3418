"""Which tests a pass runs, and how pytest-xdist may spread them over workers.

``database_facing`` picks the SQLite pass's tests; ``xdist_group`` keeps a module's shared
scenario on one worker and all engine scenarios on one worker; ``heaviest_first`` orders
collection so that the longest groups start first. docs/testing.md says why.
"""

from __future__ import annotations

# Fixtures through which a test reaches the Django test database (pytest-django's own); every
# fixture built on them (admin_client, logged_in, live_server...) has them in its closure.
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
)
SHARED_SCOPES = frozenset({"module", "class", "package"})
ENGINE_GROUP = "engine"


def database_facing(item) -> bool:
    """The test reads or writes the Django database, so its backend can change the outcome."""
    if item.get_closest_marker("django_db") is not None:
        return True
    return bool(DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())))


def shares_a_scenario(item) -> bool:
    """The test uses a module- or class-scoped fixture: a stack or scenario its module shares."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definitions[-1].scope in SHARED_SCOPES
        for name, definitions in info.name2fixturedefs.items()
        if definitions and name in item.fixturenames
    )


def xdist_group(item) -> str | None:
    """One engine worker at a time (the scenarios share the engine, its build cache and the two
    cores); a shared scenario stays on one worker, so it is set up once."""
    if item.get_closest_marker("engine") is not None:
        return ENGINE_GROUP
    if shares_a_scenario(item):
        return item.nodeid.split("::", 1)[0]
    return None


def weight(item) -> int:
    """Engine scenarios first, then other slow ones, then the rest."""
    if item.get_closest_marker("engine") is not None:
        return 0
    if item.get_closest_marker("slow") is not None or item.get_closest_marker("browser"):
        return 1
    return 2


def heaviest_first(items: list) -> None:
    """Whole modules move, stably: tests keep their order within a module, which module
    scenarios rely on."""
    module_weight: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        module_weight[module] = min(module_weight.get(module, 2), weight(item))
    items.sort(key=lambda item: module_weight[item.nodeid.split("::", 1)[0]])
