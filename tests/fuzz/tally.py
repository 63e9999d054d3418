"""Budget and bookkeeping for the fuzz tests: how many inputs each property tried, what came back.

Every property records each input and the status it got; the session ends with a table per
property (``conftest.py``), the figures docs/reliability.md quotes. A server error also fails
its property at once, and Hypothesis shrinks it to the smallest failing input.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import HealthCheck, settings

# Modest on purpose: the whole fuzz area runs in a minute or two on two cores. No example
# database: nothing is written into the checkout, and CI starts from scratch anyway.
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_SLOW = settings(FUZZ, max_examples=100)  # real sockets or a real engine per input

statuses: dict[str, Counter] = defaultdict(Counter)
outcomes: dict[str, Counter] = defaultdict(Counter)


def record(prop: str, status: int | str, outcome: str | None = None) -> None:
    """Count one input: the status it got and, where a page says more, what it said."""
    statuses[prop][status] += 1
    if outcome:
        outcomes[prop][outcome] += 1


def export() -> dict:
    """This process's counts, for the xdist controller (see ``tests/conftest.py``)."""
    return {
        "statuses": {prop: list(counts.items()) for prop, counts in statuses.items()},
        "outcomes": {prop: list(counts.items()) for prop, counts in outcomes.items()},
    }


def merge(exported: dict) -> None:
    for prop, pairs in exported["statuses"].items():
        statuses[prop].update(dict(pairs))
    for prop, pairs in exported["outcomes"].items():
        outcomes[prop].update(dict(pairs))


def server_errors(counts: Counter) -> int:
    return sum(n for status, n in counts.items() if isinstance(status, int) and status >= 500)


def summary_lines() -> list[str]:
    if not statuses:
        return []
    width = max(len(name) for name in statuses)
    lines = [f"{'property':<{width}}  inputs  5xx  statuses"]
    for name, counts in sorted(statuses.items()):
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items(), key=str))
        if outcomes.get(name):
            said = ", ".join(f"{kind}: {n}" for kind, n in sorted(outcomes[name].items()))
            shown += f" ({said})"
        lines.append(
            f"{name:<{width}}  {sum(counts.values()):>6}  {server_errors(counts):>3}  {shown}"
        )
    total = sum(sum(c.values()) for c in statuses.values())
    errors = sum(server_errors(c) for c in statuses.values())
    lines.append(f"{'total':<{width}}  {total:>6}  {errors:>3}")
    return lines
