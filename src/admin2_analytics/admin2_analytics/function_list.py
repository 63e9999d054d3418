"""The functions user SQL may call: the checked-in list ``allowed_functions.tsv``.

The rule that built it is :mod:`admin2_analytics.function_rules`; ``admin2
analytics_functions --check`` diffs it against a server. A name not listed is refused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

DATA_FILE = "allowed_functions.tsv"
# kinds in the file: scalar and aggregate functions (aliases included), aggregate
# combinators, table functions allowed, and every table function the server knows
KINDS = ("scalar", "aggregate", "combinator", "table", "known-table")


@dataclass
class _Names:
    exact: set[str] = field(default_factory=set)
    folded: set[str] = field(default_factory=set)  # case-insensitive names, lower-cased

    def add(self, name: str, case_insensitive: bool) -> None:
        self.exact.add(name)
        if case_insensitive:
            self.folded.add(name.lower())

    def __contains__(self, name: str) -> bool:
        return name in self.exact or name.lower() in self.folded


@functools.cache
def _lists() -> dict[str, _Names]:
    lists = {kind: _Names() for kind in KINDS}
    text = resources.files("admin2_analytics").joinpath(DATA_FILE).read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, name, case = line.split("\t")
        lists[kind].add(name, case == "i")
    return lists


def read_rows(text: str) -> list[tuple[str, str, str]]:
    """The rows of a list file's text: (kind, name, case)."""
    return [
        tuple(line.split("\t"))  # type: ignore[misc]
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    ]


def scalar_or_aggregate_allowed(name: str) -> bool:
    """Whether ``name`` is a listed function, an aggregate with listed combinators included."""
    lists = _lists()
    return name in lists["scalar"] or _aggregate_allowed(name, 0)


def _aggregate_allowed(name: str, depth: int) -> bool:
    lists = _lists()
    if name in lists["aggregate"]:
        return True
    if depth >= 4:
        return False
    return any(
        name.endswith(combinator)
        and len(name) > len(combinator)
        and _aggregate_allowed(name[: -len(combinator)], depth + 1)
        for combinator in lists["combinator"].exact
    )


def table_function_allowed(name: str) -> bool:
    return name.lower() in {n.lower() for n in _lists()["table"].exact}


def is_table_function(name: str) -> bool:
    return name.lower() in {n.lower() for n in _lists()["known-table"].exact}


def allowed_table_functions() -> list[str]:
    return sorted(_lists()["table"].exact)


def completion_names() -> list[str]:
    """Every scalar and aggregate function user SQL may call, for the editor's completion."""
    lists = _lists()
    return sorted(lists["scalar"].exact | lists["aggregate"].exact, key=str.lower)
