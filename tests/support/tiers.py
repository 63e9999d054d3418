"""Which tests a pass runs, and how pytest-xdist may spread them over workers.

``database_facing`` picks the SQLite pass's tests; ``work_unit`` keeps a shared scenario and
each test package's engine scenarios on one worker; ``heaviest_first`` orders collection so
that the longest units start first. docs/testing.md says why."""

from __future__ import annotations

import json
import os
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

# Fixtures through which a test reaches the Django test database (pytest-django's own); every
# fixture built on them (admin_client, logged_in, live_server...) has them in its closure.
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
)
SHARED_SCOPES = frozenset({"module", "class", "package"})
ENGINE_GROUP = "engine"
OWN_ENGINES_GROUP = "own_engines"


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
    # Only the suite's own fixtures: plugins' autouse class fixtures (pytest-django's unittest
    # glue) are no-ops for plain test functions.
    return any(
        definitions[-1].scope in SHARED_SCOPES and definitions[-1].baseid.startswith("tests")
        for name, definitions in info.name2fixturedefs.items()
        if definitions and name in item.fixturenames
    )


def work_unit(item) -> str:
    """The engine scenarios of one test package (the Compose stacks in ``tests/containers``,
    the deploy worlds in ``tests/deploy``) run one after another on one worker, and the
    packages side by side: they share the engine and its build cache (builds take turns under
    the harness's lock), never a stack, a port or a subnet. Tests that run dockerds of their
    own (the swarm, the offline deploy server) are one more unit. A shared scenario stays on
    one worker, so it is set up once; any other test is a unit of its own."""
    if item.get_closest_marker("own_engines") is not None:
        return OWN_ENGINES_GROUP
    if item.get_closest_marker("engine") is not None:
        return f"{ENGINE_GROUP}:{_package(item.nodeid)}"
    if shares_a_scenario(item):
        return item.nodeid.split("::", 1)[0]
    return item.nodeid


def _package(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 else parts[0]


# Only workers collect, and pytest 9 ignores xdist's own way of tagging groups (it rewrites
# ``item._nodeid``), so a worker writes each test's unit to this file for the controller.
UNITS_FILE = "ADMIN2_TEST_UNITS"


def publish_units(items) -> None:
    target = os.environ.get(UNITS_FILE)
    if not target:
        return
    units = {item.nodeid: work_unit(item) for item in items}
    partial = Path(f"{target}.{os.getpid()}")
    partial.write_text(json.dumps(units))
    partial.replace(target)  # atomic: every worker writes the same map


class UnitScheduling(LoadScopeScheduling):
    """xdist's scope scheduling over :func:`work_unit` instead of modules, in collection order
    (``heaviest_first``); a worker gets a new unit when it has two tests or fewer left."""

    def _split_scope(self, nodeid: str) -> str:
        if not hasattr(self, "_units"):
            self._units = json.loads(Path(os.environ[UNITS_FILE]).read_text())
        return self._units.get(nodeid, nodeid)


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
