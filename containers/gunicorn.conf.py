"""Gunicorn for admin2 in production: every knob from the environment, with safe defaults.

Variables are read with the settings' own helpers (``settings/env.py``), so a malformed one
stops start-up naming it. The table of variables and why each default: docs/containers.md.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from gunicorn.glogging import Logger


def _settings_env():
    """``settings/env.py`` by path: importing the ``settings`` package would compose all of
    Django's settings inside the Gunicorn master's config step."""
    path = Path(__file__).resolve().parents[1] / "settings" / "env.py"
    spec = importlib.util.spec_from_file_location("admin2_settings_env", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


settings_env = _settings_env()


def available_cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use: the cgroup v2 quota when set (Compose ``cpus:``), else affinity.

    ``os.cpu_count()`` reports the host's CPUs inside a container, which would start far more
    workers than the CPU limit can run.
    """
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = cpu_max.read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


class JsonAccessLogger(Logger):
    """Access log as JSON lines (json.dumps escapes quotes a format string would not)."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        request_headers = dict((k.lower(), v) for k, v in req.headers)
        response_headers = dict((k.lower(), v) for k, v in resp.headers)
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "logger": "gunicorn.access",
            # Nginx sets X-Request-ID; Django echoes (or creates) it on the response.
            "request_id": response_headers.get("x-request-id")
            or request_headers.get("x-request-id", "-"),
            "remote_addr": environ.get("REMOTE_ADDR", "-"),
            "client_ip": request_headers.get("x-real-ip", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING", ""),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "user_agent": environ.get("HTTP_USER_AGENT", "-"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:
            self.exception("cannot write the access log line")


bind = [f"0.0.0.0:{settings_env.env_int('PORT_WEB', 8000, minimum=1)}"]
# The one knob for the process count (docs/containers.md): 1 when the web process uses the
# embedded chDB engine, which admits one process at a time.
workers = settings_env.env_int("GUNICORN_WORKERS", 2 * available_cpus() + 1, minimum=1)
threads = settings_env.env_int("GUNICORN_THREADS", 4, minimum=1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = settings_env.env_int("GUNICORN_TIMEOUT", 300, minimum=1)
graceful_timeout = settings_env.env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
keepalive = settings_env.env_int("GUNICORN_KEEPALIVE", 75, minimum=0)
max_requests = settings_env.env_int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = settings_env.env_int("GUNICORN_MAX_REQUESTS_JITTER", 200, minimum=0)
# Safe with admin2: importing it opens no connection (Django, the Redis cache, Celery and
# ClickHouse all connect on first use, in the worker), so nothing is shared across the fork.
preload_app = settings_env.env_bool("GUNICORN_PRELOAD", True)

# X-Forwarded-Proto is honoured only from these addresses. Compose sets the frontend network's
# subnet, which only Nginx and web share (docs/containers.md explains why that is safe).
forwarded_allow_ips = settings_env.env_str("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file lives in memory: a slow overlay disk would look like a hung worker.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# Gunicorn 25+ opens a control socket under $HOME by default; the image's home is read-only
# and several Gunicorns on one machine (tests, benchmarks) would share it.
control_socket_disable = True

loglevel = settings_env.env_str("GUNICORN_LOG_LEVEL", "info")
errorlog = "-"
accesslog = "-" if settings_env.env_bool("GUNICORN_ACCESS_LOG", True) else None
logger_class = JsonAccessLogger
proc_name = "admin2-web"

# ---- Prometheus metrics (docs/operations.md, "Metrics") ---------------------------------------
# Each worker writes its series to files in PROMETHEUS_MULTIPROC_DIR; the master serves their
# sum on ADMIN2_METRICS_PORT, a port of the container network that Nginx never publishes.
# prometheus_client reads the directory when first imported, so it is set here, before the
# application is (pre)loaded.
# On by default where Django's settings turn the middleware on (settings/components/metrics.py).
metrics_enabled = settings_env.env_bool(
    "ADMIN2_METRICS_ENABLED",
    settings_env.env_str("DJANGO_ENVIRONMENT", "development") in ("production", "staging"),
)
metrics_port = settings_env.env_int("ADMIN2_METRICS_PORT", 9100, minimum=1)
metrics_bind = settings_env.env_str("ADMIN2_METRICS_BIND", "0.0.0.0")  # noqa: S104
metrics_commit = settings_env.env_str("ADMIN2_COMMIT", "unknown")
metrics_server = None
if metrics_enabled:
    if settings_env.is_set("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = settings_env.env_path("PROMETHEUS_MULTIPROC_DIR")
    else:
        metrics_dir = Path(tempfile.mkdtemp(prefix="admin2-metrics-"))
    metrics_dir.mkdir(parents=True, exist_ok=True)  # a preloaded app writes there at once
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def on_starting(server):
    """Empty the directory: files of a previous run would add its counts to this one's."""
    if not metrics_enabled:
        return
    for path in metrics_dir.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def when_ready(server):
    global metrics_server
    if metrics_enabled:
        from admin2.metrics import serve

        try:
            metrics_server = serve(metrics_bind, metrics_port, metrics_commit)
        except OSError:  # the site stays up without its metrics; the scrape's target is down
            server.log.exception("cannot serve metrics on %s:%s", metrics_bind, metrics_port)
            return
        server.log.info("metrics on %s:%s/metrics", metrics_bind, metrics_port)


def post_fork(server, worker):
    # A worker inherits the master's listening metrics socket; only the master serves it.
    if metrics_server is not None:
        metrics_server.socket.close()


def child_exit(server, worker):
    """A worker's live gauges go with it; its counters stay, so totals survive restarts."""
    if metrics_enabled:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
