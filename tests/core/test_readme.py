"""The README stays true: its commands and its table of environment variables."""

import ast
import re

from tests.support.services import REPO

README = (REPO / "README.md").read_text()
ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_float", "env_list", "env_choice",
               "env_path", "env_url", "is_set"}  # fmt: skip


def variables_read_by_settings() -> set[str]:
    names = set()
    for path in (REPO / "settings").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ENV_HELPERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    return names


def test_every_environment_variable_is_in_the_readme_table():
    first_cells = re.findall(r"^\| ([^|]+) \|", README, re.M)
    table = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    missing = variables_read_by_settings() - table
    assert not missing, f"add these to the README's configuration table: {sorted(missing)}"


def test_the_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "admin2 demo" in first_block
    assert "./scripts/test" in first_block


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert "./scripts/test" in ci
