"""The direction of dependencies is a failing check, not a wish."""

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.processes import REPO, venv_tool

SRC = REPO / "src"
# Process entry points pick the settings module; nothing else under src/ reads the environment.
ENV_READERS_ALLOWED = {SRC / "admin2" / "admin2" / "bootstrap.py"}


def lint_imports(cwd: Path, pythonpath: str | None = None):
    env = {"PATH": "/usr/bin:/bin"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [venv_tool("lint-imports"), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


# That the contracts hold is the pre-commit hook `import-linter`; these show they would fail.


def _copy_with(tmp_path: Path, module: str, text: str) -> Path:
    for package in ("admin2", "admin2_analytics", "admin2_tasks"):
        shutil.copytree(SRC / package / package, tmp_path / package)
    shutil.copytree(REPO / "settings", tmp_path / "settings")
    for tree in ("tests", "harness", "bench"):
        shutil.copytree(
            REPO / tree, tmp_path / tree, ignore=shutil.ignore_patterns("*.pyc", "results")
        )
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / module).write_text(text)
    return tmp_path


@pytest.mark.slow
def test_import_contracts_fail_when_the_core_imports_a_plugin(tmp_path):
    root = _copy_with(tmp_path, "admin2/leak.py", "import admin2_tasks  # noqa\n")
    result = lint_imports(root, str(root))
    assert result.returncode != 0
    assert "The core imports no plugin BROKEN" in result.stdout
    assert "admin2.leak -> admin2_tasks" in result.stdout


@pytest.mark.slow
def test_import_contracts_fail_when_the_engine_imports_forms(tmp_path):
    root = _copy_with(
        tmp_path, "admin2_analytics/engine/leak.py", "import admin2_analytics.forms  # noqa\n"
    )
    result = lint_imports(root, str(root))
    assert result.returncode != 0
    assert "Analytics layers" in result.stdout and "BROKEN" in result.stdout


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        attribute = isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
        if attribute and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
        imported = isinstance(node, ast.ImportFrom) and node.module == "os"
        if imported and any(alias.name in {"environ", "getenv"} for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_only_settings_read_the_environment():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path in ENV_READERS_ALLOWED or ("management" in path.parts and "tests" in path.parts):
            continue
        lines = _reads_environment(ast.parse(path.read_text(), str(path)))
        offenders += [f"{path.relative_to(REPO)}:{line}" for line in lines]
    assert offenders == [], "read configuration through settings/ instead"


def test_the_scanner_would_see_an_environment_read():
    assert _reads_environment(ast.parse("import os\nx = os.environ['A']\n")) == [2]
    assert _reads_environment(ast.parse("from os import getenv\n")) == [1]


@pytest.mark.parametrize("package", ["admin2_analytics", "admin2_tasks"])
def test_the_layers_contract_names_every_module_of_each_plugin(package):
    """A module left out of its plugin's layers contract could import anything from it."""
    contracts = (REPO / ".importlinter").read_text()
    root = SRC / package / package
    modules = {
        path.stem if path.is_file() else path.name
        for path in root.iterdir()
        if not path.name.startswith("_")
        and (path.suffix == ".py" or (path / "__init__.py").exists())
    }
    named = set(contracts.replace(":", " ").split())
    assert sorted(m for m in modules if f"{package}.{m}" not in named) == []
