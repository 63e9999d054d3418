"""The Prometheus alert rules load, each fires on its fault and stays quiet when healthy
(``promtool test rules``), and each has a runbook section in docs/operations.md."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from harness.processes import REPO

RULES = REPO / "containers" / "prometheus" / "rules"
UNIT_TESTS = REPO / "tests" / "ops" / "promtool"
RUNBOOK = REPO / "docs" / "operations.md"


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: scripts/ensure-system-deps installs Debian's prometheus")
    return subprocess.run(
        [tool, *args], cwd=UNIT_TESTS, capture_output=True, text=True, timeout=120, check=False
    )


def alerts() -> dict[str, dict]:
    found = {}
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.update({rule["alert"]: rule for rule in group["rules"] if "alert" in rule})
    return found


def test_rules_pass_promtool_check():
    done = promtool("check", "rules", *map(str, sorted(RULES.glob("*.yml"))))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow  # promtool evaluates hours of series: seconds
def test_each_alert_fires_on_its_fault_and_stays_quiet_when_healthy():
    done = promtool("test", "rules", *(p.name for p in sorted(UNIT_TESTS.glob("*.test.yml"))))
    assert done.returncode == 0, done.stdout + done.stderr
    fired, quiet = set(), set()
    for path in UNIT_TESTS.glob("*.test.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert sorted(set(alerts()) - fired) == [], "alerts no unit test sees firing"
    assert sorted(set(alerts()) - quiet - {"Watchdog"}) == [], "alerts no test sees quiet"


def test_each_alert_has_a_runbook_section():
    headings = set(re.findall(r"^### (\w+)$", RUNBOOK.read_text(), re.M))
    for name, rule in alerts().items():
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"
        assert name in headings, f"docs/operations.md has no '### {name}' section"
