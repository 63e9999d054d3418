"""deploy/.env.example documents every setting the deploy scripts read, and loads cleanly."""

from __future__ import annotations

import re
import subprocess

from harness.processes import REPO

DEPLOY = REPO / "deploy"
EXAMPLE = DEPLOY / ".env.example"
# Hooks that make no sense in the file itself: which file to read, a fixed backup stamp.
NOT_IN_THE_FILE = {"DEPLOY_ENV_FILE", "BACKUP_STAMP"}
SETTING = re.compile(r"\$\{?!?((?:DEPLOY|BACKUP|PG_DUMP|PG_RESTORE|MEDIA|ADMIN2|PITR)_[A-Z0-9_]+)")


def read_by_scripts() -> set[str]:
    names = set()
    for script in [
        *DEPLOY.glob("*.sh"),
        *DEPLOY.glob("lib/*.sh"),
        *DEPLOY.glob("remote/*.sh"),
        *DEPLOY.glob("remote/release/*.sh"),
    ]:
        names.update(SETTING.findall(script.read_text()))
    return names - NOT_IN_THE_FILE


def test_every_setting_is_documented_in_the_example():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    missing = read_by_scripts() - documented
    assert not missing, f"deploy/.env.example does not mention {sorted(missing)}"
    assert {"DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_PATH", "BACKUP_REMOTE"} <= documented


def test_the_example_uses_placeholders_and_loads(tmp_path):
    text = EXAMPLE.read_text()
    assert "admin2.example.com" in text
    assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", text), "no real addresses"
    result = subprocess.run(
        [
            "bash",
            "-c",
            f'. {DEPLOY}/lib/common.sh; load_env_file; echo "$DEPLOY_HOST $DEPLOY_PATH"',
        ],
        env={"PATH": "/usr/bin:/bin", "DEPLOY_ENV_FILE": str(EXAMPLE)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["admin2.example.com", "/srv/admin2"]


def test_a_malformed_line_is_named(tmp_path):
    bad = tmp_path / "deploy.env"
    bad.write_text("DEPLOY_HOST=admin2.example.com\nthis is not a setting\n")
    result = subprocess.run(
        ["bash", "-c", f". {DEPLOY}/lib/common.sh; load_env_file"],
        env={"PATH": "/usr/bin:/bin", "DEPLOY_ENV_FILE": str(bad)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "not a KEY=VALUE line: this is not a setting" in result.stderr
