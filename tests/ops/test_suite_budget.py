"""The suite's own rules: which tests the SQLite pass runs, and the budget line of a full run."""

from __future__ import annotations

import json
import os
import subprocess
from types import SimpleNamespace

import pytest

from harness.processes import REPO, django_env, venv_tool
from tests.support import budget, tiers

SQLITE_PASS_MARKS = ("-m", "not slow and not browser and not engine")


def collected(*args: str) -> list[str]:
    env = {**os.environ, "DJANGO_ENVIRONMENT": "test", "ADMIN2_TEST_DB": "sqlite"}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [venv_tool("pytest"), "--collect-only", "-q", "-p", "no:xdist", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 5), result.stdout[-2000:] + result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


MIXED = "tests/core/test_health_endpoints.py"  # one test never reaches the database
NEVER = "tests/core/test_env_parsing.py"  # settings parsing only


@pytest.fixture(scope="module")
def selections() -> tuple[list[str], list[str]]:
    """(everything the SQLite pass's marks keep, what --database-facing keeps of it)."""
    return (
        collected(*SQLITE_PASS_MARKS, MIXED, NEVER),
        collected(*SQLITE_PASS_MARKS, "--database-facing", MIXED, NEVER),
    )


def test_the_sqlite_pass_keeps_exactly_the_tests_that_reach_the_database(selections):
    everything, facing = selections
    untouched = f"{MIXED}::test_healthz_answers_without_touching_dependencies"
    assert untouched in everything
    assert untouched not in facing
    assert f"{MIXED}::test_readyz_reports_each_dependency_with_latency" in facing
    mixed = [test for test in everything if test.startswith(MIXED)]
    assert sorted(facing) == sorted(test for test in mixed if test != untouched)


def test_a_module_that_never_reaches_the_database_is_left_out(selections):
    everything, facing = selections
    assert any(test.startswith(NEVER) for test in everything)
    assert not any(test.startswith(NEVER) for test in facing)


def item(*fixtures: str, marked: bool = False):
    marker = object() if marked else None
    return SimpleNamespace(fixturenames=list(fixtures), get_closest_marker=lambda name: marker)


def test_a_database_fixture_anywhere_in_the_closure_counts_as_facing():
    # admin_client needs admin_user needs db: the closure pytest computes names all three.
    assert tiers.database_facing(item("admin_client", "admin_user", "db"))
    assert tiers.database_facing(item("live_server", "transactional_db"))
    assert tiers.database_facing(item(marked=True))
    assert not tiers.database_facing(item("client", "settings", "tmp_path"))


def test_child_processes_never_inherit_the_passs_database(monkeypatch):
    # What a child admin2 process uses comes from its own environment, so only in-process
    # tests (the ones pytest-django lets reach the database) differ between the two passes.
    monkeypatch.setenv("ADMIN2_TEST_DB", "sqlite")
    assert "ADMIN2_TEST_DB" not in django_env()


def write_phases(tmp_path, *seconds: float):
    phases = tmp_path / "phases.txt"
    phases.write_text("".join(f"phase{n} {s}\n" for n, s in enumerate(seconds)))
    timings = tmp_path / "timings-postgres.json"
    timings.write_text(json.dumps({"modules": {"tests/a.py": 90.0, "tests/b.py": 600.0}}))
    return phases, [timings]


def test_a_run_within_budget_says_so_and_names_its_slowest_modules(tmp_path):
    lines, status = budget.report(*write_phases(tmp_path, 60, 20 * 60))
    assert status == 0
    assert lines[-1] == "budget: 21:00 of 35:00 (within budget)"
    slowest = lines.index(next(line for line in lines if line.startswith("== slowest")))
    assert lines[slowest + 1].split() == ["10:00", "tests/b.py"]
    assert lines[slowest + 2].split() == ["1:30", "tests/a.py"]


def test_a_run_over_budget_warns_loudly_but_passes(tmp_path):
    lines, status = budget.report(*write_phases(tmp_path, 30 * 60, 10 * 60))
    assert status == 0
    assert "OVER BUDGET" in lines[-2]
    assert set(lines[-1]) == {"!"} == set(lines[-3])


def test_a_run_over_the_hard_margin_fails(tmp_path):
    lines, status = budget.report(*write_phases(tmp_path, 76 * 60))
    assert status == 1
    assert "FAILED: over the 75-minute limit" in lines[-2]


def test_the_fast_tier_is_documented_where_developers_look():
    for doc in ("README.md", "docs/testing.md"):
        assert "./scripts/test --fast" in (REPO / doc).read_text(), doc


class _Marked:
    """Only what work_unit reads of a collected test: its markers and its node id."""

    def __init__(self, nodeid: str, *markers: str):
        self.nodeid, self.markers = nodeid, set(markers)

    def get_closest_marker(self, name):
        return name if name in self.markers else None


def test_engine_tests_share_a_unit_per_package_and_the_swarm_gets_its_own():
    stack_a = _Marked("tests/containers/test_a.py::test_x", "engine", "slow")
    stack_b = _Marked("tests/containers/test_b.py::test_y", "engine")
    world = _Marked("tests/deploy/test_c.py::test_y", "engine")
    swarm = _Marked("tests/swarm/test_d.py::test_z", "engine", "own_engines", "slow")
    assert tiers.work_unit(stack_a) == tiers.work_unit(stack_b) == "engine:containers"
    assert tiers.work_unit(world) == "engine:deploy"
    assert tiers.work_unit(swarm) == tiers.OWN_ENGINES_GROUP
