"""Which environment variables settings/ reads: the first argument of every env helper call."""

from __future__ import annotations

import ast
import re

from harness.processes import REPO

ENV_HELPERS = re.compile(r"^(env_[a-z]+|is_set)$")


def settings_variables() -> set[str]:
    names = set()
    for path in (REPO / "settings").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and ENV_HELPERS.match(node.func.id)
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    return names
