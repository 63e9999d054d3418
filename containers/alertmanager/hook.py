"""Alertmanager's webhook receiver: spools each notification for the host's alert hook.

ADMIN2_ALERT_COMMAND runs on the host (deploy/alert.sh), so this only writes one file per
notification into /spool (subject on the first line, then the message); deploy/alert-spool.sh
hands them to deploy/alert.sh. docs/operations.md, "Notifications".
"""

import json
import os
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPOOL = os.environ.get("ALERT_SPOOL_DIR", "/spool")
RUNBOOK_BASE = os.environ.get("ADMIN2_RUNBOOK_BASE_URL", "")


def render(payload: dict) -> tuple[str, str]:
    """The subject and message of one Alertmanager notification (a group of alerts)."""
    alerts = payload.get("alerts") or []
    name = (payload.get("groupLabels") or {}).get("alertname", "alert")
    count = f" ({len(alerts)})" if len(alerts) > 1 else ""
    subject = f"[admin2 {str(payload.get('status', '')).upper()}] {name}{count}"
    lines = []
    for alert in alerts:
        labels, notes = alert.get("labels") or {}, alert.get("annotations") or {}
        lines += [
            f"{str(alert.get('status', '')).upper()}: {labels.get('alertname')} "
            f"({labels.get('severity', '')}) {notes.get('summary', '')}",
            f"Target: {labels.get('job', '')} {labels.get('instance', '')}",
            f"Since: {alert.get('startsAt', '')}",
            f"Runbook: {RUNBOOK_BASE}{notes.get('runbook', '')}",
            "",
        ]
    return subject, "\n".join(lines)


def spool(subject: str, message: str) -> str:
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.alert"
    partial = os.path.join(SPOOL, f".{name}.tmp")
    with open(partial, "w") as handle:
        handle.write(f"{subject}\n{message}")
    os.rename(partial, os.path.join(SPOOL, name))  # whole files only for the reader
    return name


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # the health check
        self._answer(200 if os.access(SPOOL, os.W_OK) else 503)

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
            subject, message = render(json.loads(self.rfile.read(length)))
        except (ValueError, AttributeError) as error:
            print(f"alert-hook: bad notification: {error}", file=sys.stderr, flush=True)
            self._answer(400)
            return
        try:
            name = spool(subject, message)
        except OSError as error:  # Alertmanager retries a 5xx
            print(f"alert-hook: cannot spool: {error}", file=sys.stderr, flush=True)
            self._answer(503)
            return
        print(f"alert-hook: spooled {name}: {subject}", file=sys.stderr, flush=True)
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # the lines above say what matters
        pass


if __name__ == "__main__":
    port = int(os.environ.get("ALERT_HOOK_PORT", "9095"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()  # noqa: S104
