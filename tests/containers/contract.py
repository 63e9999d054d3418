"""The seed's container contract (sections 1 to 6) as data, and a checker naming each deviation.

``violations(stack, resolved, raw)`` reads a stack as Compose resolves it (``compose.resolved``)
and as written (``compose.raw``) and returns one sentence per broken promise; an empty list
means the stack keeps the contract. The tests feed it the real files and mutated copies.
"""

from __future__ import annotations

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

APP_SERVICES = ("web", "celery", "celery-beat")
REQUIRED_SERVICES = {
    "staging": {"web", "celery", "celery-beat", "redis", "nginx", "migrate", "clickhouse"},
    "production": {"web", "celery", "celery-beat", "redis", "db", "nginx", "migrate"},
}

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


def violations(stack: str, resolved: dict, raw: dict) -> list[str]:
    seed = SEED[stack]
    services = resolved["services"]
    raw_services = raw.get("services", {})
    found: list[str] = []
    problem = found.append

    missing = REQUIRED_SERVICES[stack] - set(services)
    if missing:
        problem(f"services missing: {sorted(missing)}")
    clickhouse = services.get("clickhouse")
    if stack == "staging" and clickhouse and clickhouse.get("profiles") != ["clickhouse"]:
        problem("clickhouse must sit behind the `clickhouse` profile")

    # --- ports: Nginx public on the seed port, Redis on the host's loopback only ----------
    for name, service in services.items():
        for port in service.get("ports", []):
            published = int(port.get("published", 0) or 0)
            if name == "nginx":
                if port.get("host_ip") not in (None, "", "0.0.0.0"):  # noqa: S104
                    problem(f"nginx port {published} should be public, not {port['host_ip']}")
            elif name == "redis":
                if port.get("host_ip") != "127.0.0.1":
                    problem(f"redis port {published} must be bound to 127.0.0.1")
            else:
                problem(f"{name} publishes port {published}: only nginx and redis may")
    nginx_ports = {
        (int(p["published"]), p["target"]) for p in services.get("nginx", {}).get("ports", [])
    }
    if (seed["nginx_port"], seed["nginx_port"]) not in nginx_ports:
        problem(f"nginx must publish {seed['nginx_port']} (seed), publishes {sorted(nginx_ports)}")
    nginx_env = services.get("nginx", {}).get("environment") or {}
    if str(nginx_env.get("PORT_NGINX")) != str(seed["nginx_port"]):
        problem(f"nginx PORT_NGINX is {nginx_env.get('PORT_NGINX')}, seed {seed['nginx_port']}")
    redis_ports = {
        (int(p["published"]), p["target"]) for p in services.get("redis", {}).get("ports", [])
    }
    if redis_ports != {(seed["redis_port"], 6379)}:
        problem(f"redis must map host {seed['redis_port']} to 6379, maps {sorted(redis_ports)}")

    # --- volumes ------------------------------------------------------------------------
    declared = set(resolved.get("volumes", {}))
    wanted = {
        "redis": (seed["redis_volume"], "/data"),
        "nginx": [("static", "/app/static"), ("media", "/app/media")],
        "web": ("media", "/app/media"),
        **seed["state"],
    }
    for name, pairs in wanted.items():
        for volume, target in pairs if isinstance(pairs, list) else [pairs]:
            if volume not in declared:
                problem(f"volume {volume} is not declared")
            if _mounts(services.get(name, {})).get(target) != volume:
                problem(f"{name} must mount volume {volume} at {target}")
    if stack == "production":
        for name in (*APP_SERVICES, "migrate"):
            for target, source in _mounts(services.get(name, {})).items():
                if source.startswith("/") and target.startswith("/app"):
                    problem(f"{name} mounts host path {source} at {target}: no source mounts")
    else:
        if "/app" not in _mounts(services.get("web", {})):
            problem("staging web must mount the source tree at /app (hot reload)")

    # --- health checks ------------------------------------------------------------------
    for name, expected in (("redis", REDIS_HEALTHCHECK), ("db", DB_HEALTHCHECK)):
        if name not in services:
            continue
        written = raw_services.get(name, {}).get("healthcheck")
        if written != expected:
            problem(f"{name} health check must be exactly the seed's {expected}, is {written}")
    for name, service in services.items():
        if name != "migrate" and not service.get("healthcheck", {}).get("test"):
            problem(f"{name} has no health check")

    # --- dependencies -------------------------------------------------------------------
    for name, service in services.items():
        for target, dep in (service.get("depends_on") or {}).items():
            condition = dep.get("condition")
            allowed = "service_completed_successfully" if target == "migrate" else "service_healthy"
            if condition != allowed:
                problem(f"{name} depends on {target} with {condition}, must be {allowed}")
    needs = ["redis", "migrate"] + (["db"] if stack == "production" else [])
    for name in APP_SERVICES:
        have = set(services.get(name, {}).get("depends_on") or {})
        if set(needs) - have:
            problem(f"{name} must depend on {sorted(set(needs) - have)}")
    if "web" not in (services.get("nginx", {}).get("depends_on") or {}):
        problem("nginx must depend on web")
    if stack == "production" and "db" not in (services["migrate"].get("depends_on") or {}):
        problem("migrate must depend on db")

    # --- environment --------------------------------------------------------------------
    for name in (*APP_SERVICES, "migrate"):
        for variable in SEED_APP_ENV[stack]:
            if not _has_env(services.get(name, {}), variable):
                problem(f"{name} lacks {variable} (seed section 5)")
    for variable in SEED_NGINX_ENV:
        if not _has_env(services.get("nginx", {}), variable):
            problem(f"nginx lacks {variable} (seed section 5)")
    web_port = (services.get("web", {}).get("environment") or {}).get("PORT_WEB")
    if web_port != nginx_env.get("PORT_WEB"):
        problem(f"web listens on PORT_WEB={web_port}, nginx proxies to {nginx_env.get('PORT_WEB')}")

    # --- isolation, restarts, limits, logs (seed sections 6 and 9) -----------------------
    internal = {n for n, net in resolved.get("networks", {}).items() if net.get("internal")}
    if not internal:
        problem("no internal network")
    for name in ("redis", "db") if stack == "production" else ("redis",):
        nets = set(services.get(name, {}).get("networks") or {})
        if not nets & internal:
            problem(f"{name} must be on an internal network")
        if "frontend" in nets:
            problem(f"{name} must not share the frontend network with nginx")
    if set(services.get("nginx", {}).get("networks") or {}) & internal:
        problem("nginx must not reach the internal network")
    for name, service in services.items():
        if name == "web" and service.get("container_name"):
            problem("web has a container_name: it could not scale to several replicas")
        if service.get("network_mode") == "host":
            problem(f"{name} uses the host network")
        if name != "migrate" and service.get("restart") not in ("unless-stopped", "always"):
            problem(f"{name} needs a restart policy, has {service.get('restart')}")
        limits = (service.get("deploy") or {}).get("resources", {}).get("limits", {})
        if not (limits.get("cpus") and limits.get("memory")):
            problem(f"{name} needs CPU and memory limits")
        logging = service.get("logging") or {}
        options = logging.get("options") or {}
        if logging.get("driver") != "json-file" or not {"max-size", "max-file"} <= set(options):
            problem(f"{name} needs json-file logging with max-size and max-file")

    # --- processes ------------------------------------------------------------------------
    web = " ".join(services.get("web", {}).get("command") or [])
    celery = " ".join(services.get("celery", {}).get("command") or [])
    if stack == "production":
        if "gunicorn" not in web or "containers/gunicorn.conf.py" not in web:
            problem("production web must run Gunicorn with containers/gunicorn.conf.py")
        if "-P eventlet" not in celery:
            problem("production celery must use the eventlet pool")
    else:
        if "runserver" not in web:
            problem("staging web must run the dev server")
        if "-P prefork" not in celery or "watchfiles" not in celery:
            problem("staging celery must use the standard pool, restarted on code changes")
    return found
