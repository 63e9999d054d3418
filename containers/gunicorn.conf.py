"""Gunicorn for admin2 in production: every knob from the environment, with safe defaults.

Used by the production image (``gunicorn -c containers/gunicorn.conf.py admin2.wsgi:application``),
by ``bench/web.py`` and the soak. A malformed variable stops start-up naming it.

| variable | default | why |
|---|---|---|
| ``PORT_WEB`` | 8000 | bind ``0.0.0.0:PORT_WEB``; Nginx proxies to ``web:PORT_WEB`` |
| ``GUNICORN_WORKERS`` | 2 x CPUs + 1 | CPUs as the container's CPU quota allows, not the host's; |
| | (1 on chDB) | one with the embedded analytics engine (``CLICKHOUSE_HOST`` |
| | | unset), which admits one process at a time: workers would |
| | | take turns, and each turn restarts chDB (docs/clickhouse.md) |
| ``GUNICORN_THREADS`` | 4 | threads per worker (gthread); a streamed export holds one |
| ``GUNICORN_TIMEOUT`` | 300 | seconds of worker silence before a restart; long exports |
| ``GUNICORN_GRACEFUL_TIMEOUT`` | 30 | seconds to finish requests on stop (Compose waits 40 s) |
| ``GUNICORN_KEEPALIVE`` | 75 | longer than Nginx's upstream keepalive_timeout (60 s), so |
| | | Gunicorn never closes a connection Nginx is about to reuse |
| ``GUNICORN_MAX_REQUESTS`` | 2000 | recycle workers to bound slow memory growth |
| ``GUNICORN_MAX_REQUESTS_JITTER`` | 200 | so workers do not all restart at once |
| ``GUNICORN_PRELOAD`` | true | import Django once in the master: a recycled worker is a |
| | | fork (milliseconds), not a 2.5 s import, and pages are shared |
| ``GUNICORN_FORWARDED_ALLOW_IPS`` | 127.0.0.1,::1 | who may set X-Forwarded-Proto: only Nginx |
| ``GUNICORN_LOG_LEVEL`` | info | error log level |
| ``GUNICORN_ACCESS_LOG`` | true | one JSON line per request on stdout |
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from gunicorn.glogging import Logger


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"gunicorn.conf.py: {name} must be at least {minimum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SystemExit(f"gunicorn.conf.py: {name} must be true or false, got {raw!r}")


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


def embedded_analytics() -> bool:
    """The analytics plugin runs on the embedded chDB engine (no ClickHouse server set)."""
    return (
        _bool("ADMIN2_ANALYTICS_ENABLED", True)
        and not os.environ.get("CLICKHOUSE_HOST", "").strip()
    )


bind = [f"0.0.0.0:{_int('PORT_WEB', 8000, minimum=1)}"]
workers = _int(
    "GUNICORN_WORKERS", 1 if embedded_analytics() else 2 * available_cpus() + 1, minimum=1
)
threads = _int("GUNICORN_THREADS", 4, minimum=1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 300, minimum=1)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
keepalive = _int("GUNICORN_KEEPALIVE", 75, minimum=0)
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200, minimum=0)
# Safe with admin2: importing it opens no connection (Django, the Redis cache, Celery and
# ClickHouse all connect on first use, in the worker), so nothing is shared across the fork.
preload_app = _bool("GUNICORN_PRELOAD", True)

# X-Forwarded-Proto is honoured only from these addresses. Compose sets the frontend network's
# subnet, which only Nginx and web share (docs/containers.md explains why that is safe).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file lives in memory: a slow overlay disk would look like a hung worker.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# Gunicorn 25+ opens a control socket under $HOME by default; the image's home is read-only
# and several Gunicorns on one machine (tests, benchmarks) would share it.
control_socket_disable = True

loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
errorlog = "-"
accesslog = "-" if _bool("GUNICORN_ACCESS_LOG", True) else None
logger_class = JsonAccessLogger
proc_name = "admin2-web"
