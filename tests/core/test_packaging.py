import shutil
import subprocess
import zipfile

import pytest

from harness.processes import REPO

pytestmark = pytest.mark.slow


def test_workspace_builds_three_wheels(tmp_path):
    uv = shutil.which("uv")
    argv = [uv] if uv else ["python3", "-m", "uv"]
    result = subprocess.run(
        [*argv, "build", "--all-packages", "--wheel", "--out-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    wheels = sorted(p.name.split("-")[0] for p in tmp_path.glob("*.whl"))
    assert wheels == ["admin2", "admin2_analytics", "admin2_tasks"]
    core = next(tmp_path.glob("admin2-*.whl"))
    with zipfile.ZipFile(core) as wheel:
        names = wheel.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "admin2 = admin2.cli:main" in wheel.read(entry_points).decode()
        for shipped in ("templates/admin2/login.html", "templates/admin/app_list.html",
                        "templates/django/forms/widgets/select.html"):  # fmt: skip
            assert any(n.endswith(shipped) for n in names), shipped
        assert not any(n.startswith(("admin2_tasks/", "admin2_analytics/")) for n in names)


def test_console_script_runs_django_commands():
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "admin2"), "help", "migrate"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Updates database schema" in result.stdout
