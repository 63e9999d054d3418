"""Only the engine package talks to ClickHouse: nothing else under src/ names the clients."""

import ast

from harness.processes import REPO

SRC = REPO / "src"
SEAM = SRC / "admin2_analytics" / "admin2_analytics" / "engine"
CLIENT_MODULES = ("clickhouse_connect", "chdb")


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_engine_package_imports_or_names_a_clickhouse_client():
    offenders, seam_users = [], []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        imported = {
            name for name in _imports(ast.parse(text)) if name.split(".")[0] in CLIENT_MODULES
        }
        mentioned = any(f"{module}." in text or f'"{module}"' in text for module in CLIENT_MODULES)
        if SEAM in path.parents:
            if imported:
                seam_users.append(path.name)
        elif imported or mentioned:
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
    # The check is not vacuous: the seam itself does import the client.
    assert {"embedded.py", "http.py"} <= set(seam_users)


def test_the_check_would_catch_a_stray_import(tmp_path):
    stray = "import clickhouse_connect\nclickhouse_connect.get_client()\n"
    assert "clickhouse_connect" in _imports(ast.parse(stray))
