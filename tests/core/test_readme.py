"""The README stays true: its commands and its table of environment variables."""

import re

from harness.processes import REPO
from tests.support.settings_variables import settings_variables

README = (REPO / "README.md").read_text()


def test_every_environment_variable_is_in_the_readme_table():
    first_cells = re.findall(r"^\| ([^|]+) \|", README, re.M)
    table = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    missing = settings_variables() - table
    assert not missing, f"add these to the README's configuration table: {sorted(missing)}"


def test_the_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "admin2 demo" in first_block
    assert "./scripts/test" in first_block


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert "./scripts/test" in ci
