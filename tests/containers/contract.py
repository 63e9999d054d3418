"""The seed's container contract (sections 1 to 6) as data, and a checker naming each deviation.

``violations(stack, resolved, raw)`` reads a stack as Compose resolves it (``compose.resolved``)
and as written (``compose.raw``) and returns one sentence per broken promise; an empty list
means the stack keeps the contract. The tests feed it the real files and mutated copies.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.containers import services

# Seed section 1 and 2: ports and volumes per environment.
SEED = {
    "staging": {
        "nginx_port": 8071,
        "redis_port": 6377,
        "redis_volume": "redis_data_staging",
        "state": {"web": ("sqlite_data", "/app/data")},
    },
    "production": {
        "nginx_port": 8061,
        "redis_port": 6378,
        "redis_volume": "redis_data_prod",
        "state": {"db": ("postgres_data", "/var/lib/postgresql/data")},
    },
}

# Seed section 3, exactly as written there (the redis check has no start_period).
REDIS_HEALTHCHECK = {
    "test": ["CMD", "redis-cli", "ping"],
    "interval": "5s",
    "timeout": "3s",
    "retries": 3,
}
DB_HEALTHCHECK = {
    "test": ["CMD", "pg_isready", "-U", "admin2"],
    "interval": "5s",
    "timeout": "5s",
    "retries": 5,
    "start_period": "10s",
}

# From deploy/services, the one list: the long-running services of the admin2 image, and
# every service each stack must define.
APP_SERVICES = tuple(services.names("production", image="app", roles={"web", "worker", "beat"}))
REQUIRED_SERVICES = {stack: set(services.names(stack)) for stack in ("staging", "production")}

# Seed section 5. A secret may arrive as NAME_FILE (Docker secrets).
SEED_APP_ENV = {
    "staging": ["DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ENVIRONMENT", "CELERY_BROKER_URL",
                "CELERY_RESULT_BACKEND", "PORT_WEB"],
    "production": ["DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ENVIRONMENT", "POSTGRES_DB",
                   "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_HOST", "POSTGRES_PORT",
                   "CLICKHOUSE_HOST", "CLICKHOUSE_PORT", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD",
                   "CLICKHOUSE_DATABASE", "CLICKHOUSE_SECURE", "CELERY_BROKER_URL",
                   "CELERY_RESULT_BACKEND", "PORT_WEB"],
}  # fmt: skip
SEED_NGINX_ENV = ["PORT_NGINX", "PORT_WEB"]


def _mounts(service: dict) -> dict[str, str]:
    """{target: source} of a resolved service's volumes."""
    return {v["target"]: v.get("source", "") for v in service.get("volumes", [])}


def _has_env(service: dict, name: str) -> bool:
    env = service.get("environment") or {}
    return bool(env.get(name) or env.get(f"{name}_FILE"))


class Stack:
    """One resolved stack as the checks read it (``raw``: the file as written)."""

    def __init__(self, stack: str, resolved: dict, raw: dict) -> None:
        self.name = stack
        self.seed = SEED[stack]
        self.resolved = resolved
        self.services = resolved["services"]
        self.raw_services = raw.get("services", {})
        self.nginx_env = self.services.get("nginx", {}).get("environment") or {}

    @property
    def production(self) -> bool:
        return self.name == "production"


def violations(stack: str, resolved: dict, raw: dict) -> list[str]:
    """Every way the stack departs from the seed's contract, one check per section."""
    view = Stack(stack, resolved, raw)
    return [problem for check in CHECKS for problem in check(view)]


def services_present(s: Stack) -> list[str]:
    found = []
    missing = REQUIRED_SERVICES[s.name] - set(s.services)
    if missing:
        found.append(f"services missing: {sorted(missing)}")
    clickhouse = s.services.get("clickhouse")
    if not s.production and clickhouse and clickhouse.get("profiles") != ["clickhouse"]:
        found.append("clickhouse must sit behind the `clickhouse` profile")
    return found


# The monitoring profile's own web interfaces (Prometheus, Alertmanager), for the operator on
# the host (issue 21).
LOOPBACK_MONITORS = tuple(services.names("production", roles={"monitor"}))
# Images with no program to run a check (built FROM scratch): Prometheus scrapes them, and
# TargetDown fires when one stops answering.
NO_HEALTHCHECK = ("nginx-exporter",)


def ports(s: Stack) -> list[str]:
    """Nginx public on the seed port, Redis, Prometheus and Alertmanager on the host's loopback
    only, nothing else."""
    found = []
    for name, service in s.services.items():
        for port in service.get("ports", []):
            published = int(port.get("published", 0) or 0)
            if name == "nginx":
                if port.get("host_ip") not in (None, "", "0.0.0.0"):  # noqa: S104
                    found.append(f"nginx port {published} should be public, not {port['host_ip']}")
            elif name == "redis" or name in LOOPBACK_MONITORS:
                if port.get("host_ip") != "127.0.0.1":
                    found.append(f"{name} port {published} must be bound to 127.0.0.1")
            else:
                found.append(f"{name} publishes port {published}: only nginx and redis may")
    seed = s.seed
    nginx_ports = {
        (int(p["published"]), p["target"]) for p in s.services.get("nginx", {}).get("ports", [])
    }
    if (seed["nginx_port"], seed["nginx_port"]) not in nginx_ports:
        found.append(
            f"nginx must publish {seed['nginx_port']} (seed), publishes {sorted(nginx_ports)}"
        )
    if str(s.nginx_env.get("PORT_NGINX")) != str(seed["nginx_port"]):
        found.append(
            f"nginx PORT_NGINX is {s.nginx_env.get('PORT_NGINX')}, seed {seed['nginx_port']}"
        )
    redis_ports = {
        (int(p["published"]), p["target"]) for p in s.services.get("redis", {}).get("ports", [])
    }
    if redis_ports != {(seed["redis_port"], 6379)}:
        found.append(
            f"redis must map host {seed['redis_port']} to 6379, maps {sorted(redis_ports)}"
        )
    return found


def volumes(s: Stack) -> list[str]:
    found = []
    declared = set(s.resolved.get("volumes", {}))
    wanted = {
        "redis": (s.seed["redis_volume"], "/data"),
        "nginx": [("static", "/app/static"), ("media", "/app/media")],
        "web": ("media", "/app/media"),
        **s.seed["state"],
    }
    for name, pairs in wanted.items():
        for volume, target in pairs if isinstance(pairs, list) else [pairs]:
            if volume not in declared:
                found.append(f"volume {volume} is not declared")
            if _mounts(s.services.get(name, {})).get(target) != volume:
                found.append(f"{name} must mount volume {volume} at {target}")
    if s.production:
        for name in (*APP_SERVICES, "migrate"):
            for target, source in _mounts(s.services.get(name, {})).items():
                if source.startswith("/") and target.startswith("/app"):
                    found.append(f"{name} mounts host path {source} at {target}: no source mounts")
    elif "/app" not in _mounts(s.services.get("web", {})):
        found.append("staging web must mount the source tree at /app (hot reload)")
    return found


def health_checks(s: Stack) -> list[str]:
    found = []
    for name, expected in (("redis", REDIS_HEALTHCHECK), ("db", DB_HEALTHCHECK)):
        if name not in s.services:
            continue
        written = s.raw_services.get(name, {}).get("healthcheck")
        if written != expected:
            found.append(f"{name} health check must be exactly the seed's {expected}, is {written}")
    for name, service in s.services.items():
        if name not in ("migrate", *NO_HEALTHCHECK) and not service.get("healthcheck", {}).get(
            "test"
        ):
            found.append(f"{name} has no health check")
    return found


def dependencies(s: Stack) -> list[str]:
    found = []
    for name, service in s.services.items():
        for target, dep in (service.get("depends_on") or {}).items():
            condition = dep.get("condition")
            allowed = "service_completed_successfully" if target == "migrate" else "service_healthy"
            if condition != allowed:
                found.append(f"{name} depends on {target} with {condition}, must be {allowed}")
    needs = services.names(s.name, roles={"cache", "database", "job"})
    for name in APP_SERVICES:
        have = set(s.services.get(name, {}).get("depends_on") or {})
        if set(needs) - have:
            found.append(f"{name} must depend on {sorted(set(needs) - have)}")
    if "web" not in (s.services.get("nginx", {}).get("depends_on") or {}):
        found.append("nginx must depend on web")
    if s.production and "db" not in (s.services["migrate"].get("depends_on") or {}):
        found.append("migrate must depend on db")
    return found


def environment(s: Stack) -> list[str]:
    found = []
    for name in (*APP_SERVICES, "migrate"):
        for variable in SEED_APP_ENV[s.name]:
            if not _has_env(s.services.get(name, {}), variable):
                found.append(f"{name} lacks {variable} (seed section 5)")
    for variable in SEED_NGINX_ENV:
        if not _has_env(s.services.get("nginx", {}), variable):
            found.append(f"nginx lacks {variable} (seed section 5)")
    web_port = (s.services.get("web", {}).get("environment") or {}).get("PORT_WEB")
    if web_port != s.nginx_env.get("PORT_WEB"):
        found.append(
            f"web listens on PORT_WEB={web_port}, nginx proxies to {s.nginx_env.get('PORT_WEB')}"
        )
    return found


def isolation(s: Stack) -> list[str]:
    """Internal networks for the data stores (seed section 6)."""
    found = []
    internal = {n for n, net in s.resolved.get("networks", {}).items() if net.get("internal")}
    if not internal:
        found.append("no internal network")
    for name in services.names(s.name, roles={"cache", "database"}):
        nets = set(s.services.get(name, {}).get("networks") or {})
        if not nets & internal:
            found.append(f"{name} must be on an internal network")
        if "frontend" in nets:
            found.append(f"{name} must not share the frontend network with nginx")
    if set(s.services.get("nginx", {}).get("networks") or {}) & internal:
        found.append("nginx must not reach the internal network")
    for name, service in s.services.items():
        if name == "web" and service.get("container_name"):
            found.append("web has a container_name: it could not scale to several replicas")
        if service.get("network_mode") == "host":
            found.append(f"{name} uses the host network")
    return found


def restarts_limits_logs(s: Stack) -> list[str]:
    """Restart policies, resource limits and rotated logs (seed section 9)."""
    found = []
    for name, service in s.services.items():
        if name != "migrate" and service.get("restart") not in ("unless-stopped", "always"):
            found.append(f"{name} needs a restart policy, has {service.get('restart')}")
        limits = (service.get("deploy") or {}).get("resources", {}).get("limits", {})
        if not (limits.get("cpus") and limits.get("memory")):
            found.append(f"{name} needs CPU and memory limits")
        logging = service.get("logging") or {}
        options = logging.get("options") or {}
        if logging.get("driver") != "json-file" or not {"max-size", "max-file"} <= set(options):
            found.append(f"{name} needs json-file logging with max-size and max-file")
    return found


def redis_access(s: Stack) -> list[str]:
    """Security issue 12: Redis behind a password secret (see redis_access_violations)."""
    return redis_access_violations(s.resolved)


def processes(s: Stack) -> list[str]:
    found = []
    web = " ".join(s.services.get("web", {}).get("command") or [])
    celery = " ".join(s.services.get("celery", {}).get("command") or [])
    if s.production:
        if "gunicorn" not in web or "containers/gunicorn.conf.py" not in web:
            found.append("production web must run Gunicorn with containers/gunicorn.conf.py")
        if "-P eventlet" not in celery:
            found.append("production celery must use the eventlet pool")
    else:
        if "runserver" not in web:
            found.append("staging web must run the dev server")
        if "-P prefork" not in celery or "watchfiles" not in celery:
            found.append("staging celery must use the standard pool, restarted on code changes")
    return found


CHECKS = (
    services_present,
    ports,
    volumes,
    health_checks,
    dependencies,
    environment,
    isolation,
    restarts_limits_logs,
    redis_access,
    processes,
)


# Redis needs a password given as a Docker secret, read by the server and by every
# application container; the committed configuration keeps protected mode on and holds no
# password; the authenticating redis-cli sits ahead of the image's on PATH so the seed's
# health check `redis-cli ping` runs authenticated.
REDIS_SECRET = "redis_password"
REDIS_SECRET_PATH = f"/run/secrets/{REDIS_SECRET}"
REDIS_MOUNTS = {
    "/usr/local/etc/redis/redis.conf": None,  # the stack's own config, checked below
    "/usr/local/etc/redis/start.sh": "start.sh",
    "/usr/local/sbin/redis-cli": "redis-cli",
}
REDIS_URL_VARIABLES = ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def _secret_names(service: dict) -> set[str]:
    return {entry["source"] for entry in service.get("secrets") or []}


def redis_access_violations(resolved: dict) -> list[str]:
    services = resolved["services"]
    found: list[str] = []
    problem = found.append
    redis = services.get("redis", {})
    if REDIS_SECRET not in (resolved.get("secrets") or {}):
        problem(f"no {REDIS_SECRET} secret is declared")
    if REDIS_SECRET not in _secret_names(redis):
        problem(f"redis does not get the {REDIS_SECRET} secret")
    if (redis.get("environment") or {}).get("REDIS_PASSWORD_FILE") != REDIS_SECRET_PATH:
        problem(f"redis must read its password from REDIS_PASSWORD_FILE={REDIS_SECRET_PATH}")
    entrypoint = redis.get("entrypoint") or []
    if "/usr/local/etc/redis/start.sh" not in entrypoint:
        problem(f"redis must start through start.sh (the password), entrypoint is {entrypoint}")
    mounts = {
        m["target"]: m.get("source", "") for m in redis.get("volumes", []) if m["type"] == "bind"
    }
    for target, name in REDIS_MOUNTS.items():
        source = mounts.get(target)
        if not source or (name and Path(source).name != name):
            problem(f"redis must mount containers/redis/{name or '<stack>.conf'} at {target}")
    config = Path(mounts.get("/usr/local/etc/redis/redis.conf", "/nonexistent"))
    if config.is_file():
        text = config.read_text()
        if not re.search(r"^protected-mode yes$", text, re.M) or re.search(
            r"^protected-mode no", text, re.M
        ):
            problem(f"redis config {config.name} must keep protected-mode yes")
        if re.search(r"^\s*(requirepass|user)\s", text, re.M):
            problem(f"redis config {config.name} holds a password: it belongs in the secret")
    else:
        problem(f"redis config {config} does not exist")
    for name, service in services.items():
        if name not in (*APP_SERVICES, "migrate"):
            continue
        env = service.get("environment") or {}
        if env.get("REDIS_PASSWORD_FILE") != REDIS_SECRET_PATH:
            problem(f"{name} lacks REDIS_PASSWORD_FILE={REDIS_SECRET_PATH} (Redis's password)")
        if REDIS_SECRET not in _secret_names(service):
            problem(f"{name} does not get the {REDIS_SECRET} secret")
        for variable in REDIS_URL_VARIABLES:
            value = str(env.get(variable) or "")
            if value.startswith("redis") and urlsplit(value).password:
                problem(f"{name}: {variable} carries a password; use the {REDIS_SECRET} secret")
    return found
