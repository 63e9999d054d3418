"""The monitoring profile's configuration, checked by the tools that will read it: promtool
for both Prometheus templates (rendered as prometheus/start.sh renders them), amtool for the
rendered Alertmanager configuration, and the Grafana dashboard against the health page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.processes import REPO

CONTAINERS = REPO / "containers"


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: apt-get install prometheus prometheus-alertmanager")
    return found


def render(script: Path, tmp: Path, replace: dict[str, str], env: dict[str, str]) -> str:
    """Runs a start script with its container paths moved under ``tmp`` and its final exec
    replaced by ``cat`` of what it rendered."""
    text = script.read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    copy = tmp / script.name
    copy.write_text(text)
    result = subprocess.run(["sh", str(copy)], capture_output=True, text=True, check=True,
                            env={"PATH": "/usr/bin:/bin", **env}, timeout=30)  # fmt: skip
    return result.stdout


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_prometheus_templates_render_to_a_configuration_promtool_accepts(stack, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(CONTAINERS / "prometheus" / "rules", rules)
    template = CONTAINERS / "prometheus" / f"prometheus.{stack}.yml"
    rendered = render(
        CONTAINERS / "prometheus" / "start.sh", tmp_path,
        {"/etc/prometheus/prometheus.yml.template": str(template),
         "/tmp/prometheus.yml": str(tmp_path / "prometheus.yml"),
         'exec /bin/prometheus --config.file="$config" "$@"': 'cat "$config"'},
        {"PROMETHEUS_ALERTMANAGER": "alertmanager:9093"} if stack == "production" else {},
    )  # fmt: skip
    assert re.findall(r"@[A-Z_]+@", rendered) == ["@NAMES@"]  # the comment: all filled
    assert ("alerting:" in rendered) == (stack == "production")  # staging notifies nobody
    config = tmp_path / "prometheus.yml"
    config.write_text(rendered.replace("/etc/prometheus/rules", str(rules)))
    result = subprocess.run([tool("promtool"), "check", "config", str(config)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("configured", [True, False])
def test_alertmanager_configuration_renders_and_amtool_accepts_it(configured, tmp_path):
    env = {"EMAIL_HOST": "smtp.admin2.test", "EMAIL_PORT": "587", "EMAIL_USE_TLS": "true",
           "DEFAULT_FROM_EMAIL": "alerts@admin2.test", "ADMIN2_ALERT_EMAIL": "ops@admin2.test",
           "EMAIL_HOST_PASSWORD": 'p|a&s\\s', "ADMIN2_DEADMAN_URL": "http://127.0.0.1:9/ping",
           "ADMIN2_RUNBOOK_BASE_URL": "https://git.admin2.test/docs/"}  # fmt: skip
    env = env if configured else {}
    source = CONTAINERS / "alertmanager"
    render(
        source / "start.sh", tmp_path,
        {'exec /bin/alertmanager --config.file=/tmp/alertmanager.yml "$@"': "true",
         "/tmp/": f"{tmp_path}/", "/etc/alertmanager/": f"{source}/"},  # a checkout in /tmp
        env,
    )  # fmt: skip
    config = tmp_path / "alertmanager.yml"
    text = config.read_text()
    result = subprocess.run([tool("amtool"), "check-config", str(config)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr + text
    assert ('to: "ops@admin2.test"' in text) == configured
    smtp = yaml.safe_load(text)["global"]
    assert smtp.get("smtp_auth_password") == env.get("EMAIL_HOST_PASSWORD")  # sed/YAML-special
    assert ("http://127.0.0.1:9/ping" in text) == configured
    assert "http://alert-hook:9095/" in text  # the hook always
    template = (tmp_path / "admin2.tmpl").read_text()
    base = env.get("ADMIN2_RUNBOOK_BASE_URL", "")
    assert f"Runbook: {base}{{{{ .Annotations.runbook }}}}" in template


def test_the_grafana_dashboard_shows_the_health_pages_series():
    from admin2.system_health import PANELS

    dashboard = json.loads((REPO / "docs" / "grafana" / "admin2.json").read_text())
    drawn = {
        (panel["title"], target["legendFormat"], target["expr"])
        for panel in dashboard["panels"] if panel["type"] == "timeseries"
        for target in panel["targets"]
    }  # fmt: skip
    assert drawn == {(p.title, legend, expr) for p in PANELS for legend, expr in p.lines}
