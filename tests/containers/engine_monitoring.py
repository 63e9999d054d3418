"""The monitoring profile's outside world for the production stack's engine tests.

An SMTP sink (aiosmtpd) and a dead-man's-switch endpoint on the Docker bridge's gateway, the
host's own address as containers see it; a Compose override pointing Alertmanager at them and
giving Prometheus the shipped rules with short ``for:`` (tests only, never the shipped rules).
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller

from harness import engine
from harness.native import self_signed_certificate
from harness.processes import REPO, free_port
from harness.smtp import Inbox

RULES = REPO / "containers" / "prometheus" / "rules"
SHORT_FOR = "5s"


def bridge_gateway() -> str:
    """The default bridge's gateway: an address of this machine every container can reach."""
    result = engine.docker("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}")
    for config in json.loads(result.stdout) or []:
        if config.get("Gateway"):
            return config["Gateway"]
        if config.get("Subnet"):  # the engine leaves Gateway out when it is the first host
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    pytest.fail("the Docker bridge network has no gateway address")


class Pings(BaseHTTPRequestHandler):
    received: list[str]

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Sinks:
    """Where Alertmanager's e-mails and dead-man's pings land, on the bridge gateway."""

    def __init__(self):
        self.host = bridge_gateway()
        self.inbox = Inbox()
        self.smtp = Controller(self.inbox, hostname=self.host, port=free_port())
        self.smtp.start()
        handler = type("Handler", (Pings,), {"received": []})
        self.pings = handler.received
        self.deadman = ThreadingHTTPServer((self.host, free_port()), handler)
        threading.Thread(target=self.deadman.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.smtp.stop()
        self.deadman.shutdown()

    def mails(self) -> list[tuple[str, str]]:
        """(subject, plain text) of every message so far (Alertmanager sends multipart)."""
        found = []
        for message in list(self.inbox.messages):
            text = "".join(
                part.get_payload(decode=True).decode()
                for part in message.walk()
                if part.get_content_type() == "text/plain"
            )
            found.append((str(message["Subject"]), text))
        return found


def short_rules(directory: Path) -> Path:
    """The shipped rules with every ``for:`` at SHORT_FOR: alerts fire within seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for rules in RULES.glob("*.yml"):
        text = re.sub(r"^(\s+for:\s*)\S+", rf"\g<1>{SHORT_FOR}", rules.read_text(), flags=re.M)
        (directory / rules.name).write_text(text)
        (directory / rules.name).chmod(0o644)
    return directory


def monitoring_override(workdir: Path, sinks: Sinks) -> Path:
    """Test-only: Alertmanager mails the sink and pings the dead-man's endpoint; Prometheus
    evaluates the short rules. Everything else is the Compose file's."""
    override = {
        "services": {
            "alertmanager": {
                "environment": {
                    "EMAIL_HOST": sinks.host,
                    "EMAIL_PORT": str(sinks.smtp.port),
                    "EMAIL_USE_TLS": "false",
                    "EMAIL_HOST_USER": "",
                    "DEFAULT_FROM_EMAIL": "alerts@admin2.test",
                    "ADMIN2_ALERT_EMAIL": "ops@admin2.test",
                    "ADMIN2_DEADMAN_URL": f"http://{sinks.host}:{sinks.deadman.server_port}/ping",
                },
            },
            "prometheus": {
                "volumes": [{
                    "type": "bind", "source": str(short_rules(workdir / "short-rules")),
                    "target": "/etc/prometheus/rules", "read_only": True,
                }],
            },
        }
    }  # fmt: skip
    path = workdir / "monitoring-override.json"
    path.write_text(json.dumps(override, indent=1))
    return path


# Faster loops than production's, for the test stack only (variables of the Compose file).
FAST = {
    "PROMETHEUS_SCRAPE_INTERVAL": "5s",
    "ALERTMANAGER_GROUP_WAIT": "1s",
    "ALERTMANAGER_GROUP_INTERVAL": "5s",
    "ALERTMANAGER_DEADMAN_INTERVAL": "10s",
}


def targets(prometheus: str) -> list[dict]:
    response = requests.get(f"{prometheus}/api/v1/targets", timeout=10)
    response.raise_for_status()
    return response.json()["data"]["activeTargets"]


def certificate(directory: Path, cert: str, key: str, days: int) -> None:
    """A self-signed certificate for localhost valid for ``days`` days, in place of the old,
    readable by the container's Nginx."""
    self_signed_certificate(directory, cert, key, days=days)
    for name in (cert, key):
        (directory / name).chmod(0o644)


def hook_messages(spool: Path, workdir: Path) -> str:
    """Runs the host side of the hook, deploy/alert-spool.sh, with an ADMIN2_ALERT_COMMAND
    that records what it is given; returns everything recorded so far."""
    recorded = workdir / "alert-command.log"
    command = workdir / "alert-command"
    if not command.exists():
        command.write_text(f'#!/bin/sh\n{{ echo "SUBJECT: $1"; cat; echo; }} >>{recorded}\n')
        command.chmod(0o755)
    subprocess.run(
        [str(REPO / "deploy" / "alert-spool.sh"), str(spool)], capture_output=True, text=True,
        timeout=60, check=True, cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "ADMIN2_ALERT_COMMAND": str(command),
             "DEPLOY_ENV_FILE": str(workdir / "no-deploy-env")},
    )  # fmt: skip
    return recorded.read_text() if recorded.exists() else ""
