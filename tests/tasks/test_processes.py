"""Monkey-patching belongs to the eventlet worker alone; the web process stays standard."""

from __future__ import annotations

import json
import subprocess

import pytest

from harness.processes import REPO, django_env, venv_tool

pytestmark = pytest.mark.slow

WEB_PROCESS = """
import json, socket, sys, threading, time
import admin2.wsgi  # loads Django with both plugins, as Gunicorn does
from django.test import Client
status = Client().get("/healthz", HTTP_HOST="localhost").status_code
print(json.dumps({
    "status": status,
    "tasks_loaded": "admin2_tasks.celery" in sys.modules,
    "eventlet_imported": "eventlet" in sys.modules,
    "socket": socket.socket.__module__,
    "sleep": time.sleep.__module__,
    "thread": threading.Lock.__module__,
}))
"""


def test_the_web_process_is_never_monkey_patched(tmp_path):
    env = django_env(DJANGO_ENVIRONMENT="development", ADMIN2_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [venv_tool("python"), "-c", WEB_PROCESS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "status": 200,
        "tasks_loaded": True,
        "eventlet_imported": False,
        "socket": "socket",
        "sleep": "time",
        "thread": "_thread",
    }
