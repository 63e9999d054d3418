"""A stack's Nginx, built natively from the same files and mounts Compose gives the container.

``nginx_tree`` lays the resolved ``nginx`` service's mounts out under a root directory,
renders the templates as the image does at start, then moves container paths under the root
and the ``web`` service to a loopback port.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from harness import compose
from harness.nginx import Nginx, render_templates
from harness.processes import ManagedProcess, free_port, require_binary, wait_until


@contextmanager
def world_readable_dir(prefix: str):
    """A temporary directory Nginx workers (``nobody``, as in the container: not root) can
    traverse; pytest's own tmp_path is private to root."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _rewrite(text: str, rules: list[tuple[str, str]], counts: dict[str, int]) -> str:
    for pattern, replacement in rules:
        text, n = re.subn(pattern, replacement, text)
        counts[pattern] = counts.get(pattern, 0) + n
    return text


def nginx_tree(
    stack: str,
    root: Path,
    *,
    web_port: int,
    volumes: dict[str, Path],
    env: dict[str, str],
) -> str:
    """Lay out the stack's Nginx under ``root``; return the native main configuration."""
    service = compose.resolved(stack)["services"]["nginx"]
    environment = {**service["environment"], **env}
    # The monitoring profile's stub_status port: a free one here, so native Nginxes running
    # side by side do not collide on the container's fixed port.
    if "NGINX_STATUS_PORT" in environment and "NGINX_STATUS_PORT" not in env:
        environment["NGINX_STATUS_PORT"] = str(free_port())
    for mount in service["volumes"]:
        target = root / mount["target"].lstrip("/")
        if mount["type"] == "bind":
            source = Path(mount["source"])
            if not source.exists():
                if mount["target"] == "/etc/nginx/certs":
                    source.mkdir(parents=True, exist_ok=True)
                else:
                    pytest.fail(f"nginx bind mount {source} does not exist")
            target.parent.mkdir(parents=True, exist_ok=True)
            if mount["target"] == "/etc/nginx/certs" and "certs" in volumes:
                target.symlink_to(volumes["certs"])
            elif source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy(source, target)
        else:
            if mount["source"] not in volumes:
                pytest.fail(f"no directory given for the nginx volume {mount['source']}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(volumes[mount["source"]])
    etc = root / "etc" / "nginx"
    # The image ships mime.types; Debian's is the same list.
    shutil.copy("/etc/nginx/mime.types", etc / "mime.types")
    (root / "var" / "log" / "nginx").mkdir(parents=True)

    render_templates(
        etc / "templates", etc / "conf.d", environment,
        name_filter=environment.get("NGINX_ENVSUBST_FILTER"),
    )  # fmt: skip

    port_web = environment["PORT_WEB"]
    rules = [
        (r"/etc/nginx/", f"{etc}/"),
        (r"/var/log/nginx/", f"{root}/var/log/nginx/"),
        (r"root /usr/share/nginx;", f"root {root}/usr/share/nginx;"),
        (r"root /app;", f"root {root}/app;"),
        # Docker's DNS name of the web replicas -> the native Gunicorn. (`resolve` needs
        # Nginx >= 1.27.3, the image's; Debian's 1.22 has no use for it on an address.)
        (rf"server web:{port_web} resolve;", f"server 127.0.0.1:{web_port};"),
        # Published ports listen on every interface in the container; here loopback only.
        (r"listen (\d+)", r"listen 127.0.0.1:\1"),
    ]
    counts: dict[str, int] = {}
    for path in sorted(etc.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.suffix in {".conf", ""}:
            if path.name in {"mime.types"} or "templates" in path.parts or "certs" in path.parts:
                continue
            path.write_text(_rewrite(path.read_text(), rules, counts))
    # Every rewrite must apply: a template change that would silently escape the native run
    # fails here instead.
    unused = [pattern for pattern, count in counts.items() if count == 0]
    if unused:
        pytest.fail(f"native rewrites that matched nothing (templates changed?): {unused}")
    return (etc / "nginx.conf").read_text()


def start_nginx(workdir: Path, main_config: str, *ports: int) -> Nginx:
    nginx = Nginx(workdir, main_config)
    nginx.start(*ports)
    return nginx


def self_signed_certificate(directory: Path, cert: str, key: str, *, days: int = 90) -> None:
    """A throwaway certificate for 127.0.0.1/localhost, made by the openssl CLI. Valid for long
    enough by default that a monitored stack's certificate-expiry alert stays quiet."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl = shutil.which("openssl") or pytest.fail("openssl is not installed")
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(directory / key), "-out", str(directory / cert)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"openssl could not make a test certificate: {result.stderr}")


def healthcheck_argv(
    test: list[str], *, after: str | None = None, extra: list[str] = (), paths: dict | None = None
) -> list[str]:
    """A Compose health check ``test`` as a native argv: ``CMD`` form only (exec, no shell),
    ``extra`` arguments inserted after the word ``after`` (the loopback host and port the
    container did not need), and container path prefixes swapped per ``paths``."""
    if not test or test[0] != "CMD":
        pytest.fail(f"health checks are exec form ['CMD', ...], got {test}")
    argv = list(test[1:])
    if after is not None:
        index = argv.index(after) + 1
        argv[index:index] = list(extra)
    for old, new in (paths or {}).items():
        argv = [new + arg[len(old) :] if arg.startswith(old) else arg for arg in argv]
    return argv


def service_env(
    stack: str, service: str, workdir: Path, *, redis_url: str | None = None, **overrides: str
) -> dict[str, str]:
    """A service's environment exactly as Compose resolves it, moved to this machine:
    secret files Compose would mount at /run/secrets/ are generated under ``workdir``, /app
    paths point under ``workdir``, the Compose hosts ``db`` and ``redis`` become loopback
    servers, then ``overrides`` apply."""
    environment = dict(compose.resolved(stack)["services"][service]["environment"])
    for name, value in list(environment.items()):
        if value.startswith("/run/secrets/"):
            secret = workdir / "secrets" / value.rsplit("/", 1)[1]
            secret.parent.mkdir(exist_ok=True)
            if not secret.exists():
                secret.write_text(secrets.token_urlsafe(64) + "\n")
            environment[name] = str(secret)
        elif value.startswith("/app/"):
            environment[name] = str(workdir / value.removeprefix("/app/"))
        elif redis_url and value.startswith("redis://redis:6379/"):
            environment[name] = redis_url.rstrip("/") + "/" + value.rsplit("/", 1)[1]
    if environment.get("POSTGRES_HOST") == "db":
        environment["POSTGRES_HOST"] = "127.0.0.1"
    environment.update(overrides)
    return environment


REDIS_CONFIGS = {
    "production": compose.CONTAINERS / "redis" / "redis.production.conf",
    "staging": compose.CONTAINERS / "redis" / "redis.staging.conf",
}
REDIS_CONFIG_TARGET = "/usr/local/etc/redis/redis.conf"
# Where the Compose files mount the authenticating redis-cli: ahead of the image's on PATH.
REDIS_CLI_TARGET = "/usr/local/sbin/redis-cli"


def bind_source(service: dict, target: str) -> Path:
    """The host file a resolved service bind-mounts at ``target``."""
    for mount in service.get("volumes", []):
        if mount["type"] == "bind" and mount["target"] == target:
            return Path(mount["source"])
    pytest.fail(f"nothing is bind-mounted at {target}")


def redis_password_file(workdir: Path) -> Path:
    """A generated ``redis_password`` secret, as deploy/secrets.sh makes one."""
    secret = workdir / "redis_password"
    secret.write_text(secrets.token_urlsafe(32) + "\n")
    secret.chmod(0o444)
    return secret


def start_redis(stack: str, workdir: Path, port: int, password_file: Path) -> ManagedProcess:
    """The stack's redis service on this machine: its entrypoint and command as Compose
    resolves them (containers/redis/start.sh, which reads the password from the secret file),
    with the stack's configuration file; only where it listens (loopback, ``port``), where
    it keeps its data (``workdir``) and where the secret is (``password_file``) differ."""
    binary = require_binary("redis-server", "apt-get install redis-server")
    service = compose.resolved(stack)["services"]["redis"]
    # Redis changes into `dir` while reading the file, before any command-line override:
    # the native copy names the work directory instead of the container's /data volume.
    source = bind_source(service, REDIS_CONFIG_TARGET)
    text = source.read_text()
    if text.count("\ndir /data\n") != 1:
        pytest.fail(f"{source.name} no longer says `dir /data`")
    config = workdir / source.name
    config.write_text(text.replace("\ndir /data\n", f"\ndir {workdir}\n"))
    mounts = {m["target"]: m["source"] for m in service["volumes"] if m["type"] == "bind"}
    mounts[REDIS_CONFIG_TARGET] = str(config)
    argv = [
        mounts.get(arg, arg) for arg in [*(service.get("entrypoint") or []), *service["command"]]
    ]
    argv = [binary if arg == "redis-server" else arg for arg in argv]
    environment = dict(service.get("environment") or {})
    if environment.get("REDIS_PASSWORD_FILE") != "/run/secrets/redis_password":
        pytest.fail(f"the {stack} redis service does not read the redis_password secret")
    environment["REDIS_PASSWORD_FILE"] = str(password_file)
    argv += ["--port", str(port), "--bind", "127.0.0.1"]
    process = ManagedProcess(argv, env=environment, log=workdir / "redis.log")
    password = password_file.read_text().strip()
    client = redis.Redis(port=port, password=password, socket_connect_timeout=0.5)

    def pings():
        try:
            return client.ping()
        except redis.RedisError:
            return not process.alive()

    wait_until(pings, 15, f"redis-server with {config.name}")
    if not process.alive():
        pytest.fail(process.output())
    return process


def redis_healthcheck(stack: str, port: int, password_file: Path) -> tuple[list[str], dict]:
    """The redis service's health check as Compose runs it, on this machine: the mounted
    redis-cli (it finds the real one on PATH) with the secret file, against ``port``."""
    service = compose.resolved(stack)["services"]["redis"]
    argv = healthcheck_argv(
        service["healthcheck"]["test"],
        after="redis-cli",
        extra=["-h", "127.0.0.1", "-p", str(port)],
    )
    argv[0] = str(bind_source(service, REDIS_CLI_TARGET)) if argv[0] == "redis-cli" else argv[0]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "REDIS_PASSWORD_FILE": str(password_file)}
    return argv, env
