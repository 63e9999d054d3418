"""containers/gunicorn.conf.py: valid, driven by the environment, JSON access log lines."""

from __future__ import annotations

import json
import os
import runpy
import subprocess

import pytest
import requests

from harness.processes import REPO, ManagedProcess, free_port, venv_tool, wait_until

CONFIG = REPO / "containers" / "gunicorn.conf.py"


def gunicorn(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [venv_tool("gunicorn"), *args, "-c", str(CONFIG), "admin2.wsgi:application"],
        cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def printed(env: dict) -> dict[str, str]:
    result = gunicorn("--print-config", env=env)
    assert result.returncode == 0, result.stderr
    pairs = (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.mark.slow
def test_check_config_passes():
    result = gunicorn("--check-config")
    assert result.returncode == 0, result.stderr + result.stdout


def test_environment_sets_the_knobs():
    env = {"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "1", "PORT_WEB": "8123",
           "GUNICORN_TIMEOUT": "400", "GUNICORN_FORWARDED_ALLOW_IPS": "172.30.61.0/24"}  # fmt: skip
    config = printed(env)
    assert config["workers"] == "3"
    assert config["worker_class"] == "sync"  # one thread: no thread pool
    assert config["bind"] == "['0.0.0.0:8123']"
    assert config["timeout"] == "400"
    assert config["forwarded_allow_ips"] == "['172.30.61.0/24']"


def test_defaults_suit_long_exports_and_trust_only_loopback():
    config = printed({})
    assert config["worker_class"] == "gthread"
    assert config["timeout"] == "300"
    assert config["max_requests"] == "2000" and config["max_requests_jitter"] == "200"
    assert config["forwarded_allow_ips"] == "['127.0.0.1', '::1']"
    assert config["worker_tmp_dir"] == "/dev/shm"
    assert config["accesslog"] == "-"


@pytest.mark.parametrize(
    ("env", "workers"),
    [({}, "per cpu"),
     ({"CLICKHOUSE_HOST": ""}, "per cpu"),  # no plugin's setting chooses it
     ({"GUNICORN_WORKERS": "1"}, "1"),
     ({"GUNICORN_WORKERS": "3"}, "3")],
)  # fmt: skip
def test_the_worker_count_is_one_variable(env, workers):
    per_cpu = 2 * runpy.run_path(str(CONFIG))["available_cpus"]() + 1
    expected = per_cpu if workers == "per cpu" else int(workers)
    assert printed(env)["workers"] == str(expected)
    assert per_cpu > 1  # the default differs, so the test can tell them apart


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("GUNICORN_WORKERS", "many", "GUNICORN_WORKERS: expected an integer"),
     ("PORT_WEB", "0", "PORT_WEB: must be at least 1"),
     ("GUNICORN_ACCESS_LOG", "maybe", "GUNICORN_ACCESS_LOG: expected a boolean")],
)  # fmt: skip
def test_a_malformed_variable_stops_gunicorn_naming_it(name, value, message):
    result = gunicorn("--check-config", env={name: value})
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("150000 100000", 2), ("50000 100000", 1), ("max 100000", None), ("garbage", None)],
)
def test_worker_count_follows_the_container_cpu_quota(cpu_max, expected, tmp_path):
    available_cpus = runpy.run_path(str(CONFIG))["available_cpus"]
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    machine = len(os.sched_getaffinity(0))
    assert available_cpus(path) == (min(expected, machine) if expected else machine)


APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request-ID", "from-django-123")])
    return [b"hello"]
"""


def test_access_log_is_one_json_object_per_request(tmp_path):
    (tmp_path / "tiny_app.py").write_text(APP)
    port = free_port()
    argv = [venv_tool("gunicorn"), "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}",
            "--chdir", str(tmp_path), "tiny_app:application"]  # fmt: skip
    server = ManagedProcess(
        argv, env={"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2"}, log=tmp_path / "log"
    )
    try:
        wait_until(lambda: _get(port), 30, "gunicorn with a tiny app")
        requests.get(f"http://127.0.0.1:{port}/x?y=1",
                     headers={"User-Agent": 'a "quoted" agent', "X-Real-IP": "203.0.113.7"},
                     timeout=5)  # fmt: skip

        def line():
            for text in server.output().splitlines():
                if text.startswith("{") and '"/x"' in text:
                    return json.loads(text)
            return None

        entry = wait_until(line, 10, "the access log line")
    finally:
        server.stop()
    assert entry["request_id"] == "from-django-123"
    assert entry["user_agent"] == 'a "quoted" agent'
    assert entry["client_ip"] == "203.0.113.7"
    assert (entry["method"], entry["path"], entry["query"], entry["status"]) == (
        "GET", "/x", "y=1", 200)  # fmt: skip
    assert entry["duration_ms"] >= 0


def _get(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except requests.RequestException:
        return False
