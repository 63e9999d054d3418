"""A production server on this machine for the deploy tests on the real Docker Engine.

Every part is real: sshd on 127.0.0.1, git, deploy/deploy.sh, Docker with Compose v2, a
registry on loopback (harness/loopback_registry.py) that `just release` pushes to and the server
pulls from by digest, and the production Compose file with local stand-ins for registry images
(pinned by their digests in that registry). Each release is a commit in the laptop's clone.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3

from harness import engine
from harness.engine_stack import ComposeStack
from harness.git import git
from harness.loopback_registry import LocalRegistry
from harness.processes import REPO, venv_tool
from harness.sshd import SshServer

EXCLUDED = (
    "containers/secrets/",
    "containers/certs/",
    "containers/.env.production",
    "containers/.env.staging",
    "deploy/.env",
    "test-results/",
)


# The operations files under test come from the working tree; the application from HEAD, so a
# colleague's half-made change elsewhere in this shared checkout cannot break the image build
# (ADMIN2_DEPLOY_SNAPSHOT=worktree takes everything from the working tree).
WORKTREE_PATHS = ("deploy/", "containers/", ".dockerignore", "tests/deploy/")


def _listed(*args: str) -> list[str]:
    out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def snapshot(target: Path) -> None:
    """This repository's files copied into target: tracked files (HEAD's, or the working
    tree's for the operations paths) and new files not ignored, never env files, secrets or
    certificates."""
    everything = os.environ.get("ADMIN2_DEPLOY_SNAPSHOT") == "worktree"
    committed = set(_listed("ls-tree", "-r", "-z", "--name-only", "HEAD"))
    listed = _listed("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in sorted(set(listed) | committed):
        if name.startswith(EXCLUDED) or name in EXCLUDED:
            continue
        destination = target / name
        if everything or name.startswith(WORKTREE_PATHS) or name not in committed:
            if not everything and not name.startswith(WORKTREE_PATHS):
                continue  # a colleague's new file outside the operations paths
            source = REPO / name
            if not source.is_file():
                continue  # deleted in the working tree
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
        else:
            blob = subprocess.run(
                ["git", "show", f"HEAD:{name}"], cwd=REPO, capture_output=True, check=True
            ).stdout
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(blob)
            if (REPO / name).exists() and os.access(REPO / name, os.X_OK):
                destination.chmod(0o755)


@dataclass
class EngineWorld:
    root: Path
    sshd: SshServer
    origin: Path
    laptop: Path
    server: Path
    bin_dir: Path
    backups: Path
    alerts: Path
    stack: ComposeStack
    registry: LocalRegistry
    laptop_bin: Path
    built: list[str] = field(default_factory=list)
    # commit -> REPOSITORY@DIGEST that `just release` printed for it (the app, the db image)
    digests: dict[str, str] = field(default_factory=dict)
    db_digests: dict[str, str] = field(default_factory=dict)

    # ---- git --------------------------------------------------------------------------------
    def release(
        self, message: str, changes: dict[str, str | None] | None = None, *, publish: bool = True
    ) -> str:
        """Commit changes (path -> new text, or None to delete) in the laptop and push; then
        `just release` it unless publish is False (a release the server builds, the old way)."""
        for name, text in (changes or {}).items():
            path = self.laptop / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        git(self.laptop, "add", "-A")
        git(self.laptop, "commit", "-q", "--allow-empty", "-m", message)
        git(self.laptop, "push", "-q", "origin", "HEAD:main")
        sha = git(self.laptop, "rev-parse", "HEAD")
        self.built.append(sha)
        if publish:
            self.publish(sha)
        return sha

    def allow_server_builds(self) -> None:
        """The server's docker without its guard: only for measuring the old way."""
        (self.bin_dir / "docker").unlink()
        (self.bin_dir / "docker").symlink_to(engine.docker_cli())

    @property
    def repository(self) -> str:
        return f"{self.registry.address}/e2e/admin2"

    def publish(self, sha: str) -> None:
        """`just release` in the laptop (build, tag, push), then the laptop's copies removed:
        the server must pull the image from the registry, not find the laptop's build."""
        env = {**self.env(), "PATH": f"{self.laptop_bin}:{os.environ['PATH']}"}
        with engine._lock():  # one builder at a time on this machine
            started = time.monotonic()
            result = subprocess.run(
                [str(self.laptop / "deploy" / "release-image.sh")],
                cwd=self.laptop, env=env, capture_output=True, text=True, timeout=1800,
                check=False,
            )  # fmt: skip
        assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        engine.log(f"just release {sha[:12]}: {time.monotonic() - started:.0f} s")
        *_, self.db_digests[sha], self.digests[sha] = result.stdout.strip().splitlines()
        assert self.digests[sha].startswith(f"{self.repository}@sha256:"), result.stdout
        assert self.db_digests[sha].startswith(f"{self.repository}-db@sha256:"), result.stdout
        engine.docker("image", "rm", f"admin2:{sha}", f"{self.repository}:{sha}")

    def read(self, name: str) -> str:
        return (self.laptop / name).read_text()

    # ---- the deploy scripts -----------------------------------------------------------------
    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOY_", "ADMIN2_"))}
        env.update(
            DEPLOY_HOST="127.0.0.1",
            DEPLOY_PORT=str(self.sshd.port),
            DEPLOY_USER=self.sshd.user,
            DEPLOY_PATH=str(self.server),
            DEPLOY_SSH_OPTS=" ".join(self.sshd.client_options()),
            # environment variables do not cross SSH: Debian's docker CLI (BuildKit) and
            # Compose v2 are put first on the server's PATH this way
            DEPLOY_REMOTE_PATH_PREFIX=str(self.bin_dir),
            DEPLOY_ENV_FILE=str(self.root / "no-deploy.env"),
            DEPLOY_HEALTH_TIMEOUT="150",
            DEPLOY_LOCK_TIMEOUT="5",
            DEPLOY_WEB_REPLICAS="1",
            DEPLOY_PULL_EVERY_DAYS="0",  # no registry here: the stand-ins cannot be pulled
            ADMIN2_REGISTRY=f"{self.registry.address}/e2e",
        )
        env.update(overrides)
        return env

    def deploy(self, *args: str, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
        started = time.monotonic()
        result = subprocess.run(
            [str(self.laptop / "deploy" / "deploy.sh"), *(args or ("deploy",))],
            cwd=self.laptop,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result.seconds = time.monotonic() - started  # type: ignore[attr-defined]
        engine.log(
            f"deploy.sh {' '.join(args or ('deploy',))}: exit {result.returncode} "
            f"in {result.seconds:.0f} s"
        )
        return result

    def on_server(
        self, *argv: str, timeout: float = 600, **env: str
    ) -> subprocess.CompletedProcess:
        """A script of the server's checkout, run there as the operator would (over SSH the
        environment would be the same: PATH with the server's docker first)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOY_", "ADMIN2_"))}
        full_env["PATH"] = f"{self.bin_dir}:{full_env['PATH']}"
        full_env["ADMIN2_HOST_STACK_FILE"] = str(self.root / "etc-admin2-stack")
        full_env.update(env)
        return subprocess.run(
            list(argv),
            cwd=self.server,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def state(self, name: str) -> str:
        path = self.server / ".deploy" / name
        return path.read_text().strip() if path.exists() else ""

    def releases_log(self) -> list[list[str]]:
        path = self.server / ".deploy" / "releases.log"
        return [line.split() for line in path.read_text().splitlines()] if path.exists() else []

    def switch_seconds(self) -> float:
        """From the last deploy's new replicas starting to Nginx answering on its release."""
        marks = ("new web replica(s)", "Nginx answers /healthz")
        stamps = {}
        for line in (self.server / ".deploy" / "deploy.log").read_text().splitlines():
            for mark in marks:
                if mark in line and line.startswith("["):
                    stamps[mark] = dt.datetime.fromisoformat(line[1:21].replace("Z", "+00:00"))
        return (stamps[marks[1]] - stamps[marks[0]]).total_seconds()

    # ---- the running stack ------------------------------------------------------------------
    def containers(self, service: str) -> list[str]:
        result = engine.docker(
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.compose.project={self.stack.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
            # not `compose run` one-offs (the backup's media tar): they vanish when done
            "--filter",
            "label=com.docker.compose.oneoff=False",
        )
        return result.stdout.decode().split()

    def exec(self, service: str, *argv: str, check: bool = True) -> str:
        (container, *_) = self.containers(service) or [None]
        assert container, f"no running {service} container"
        result = engine.docker("exec", container, *argv, check=check)
        return result.stdout.decode()

    def image_of(self, service: str) -> str:
        (container, *_) = self.containers(service)
        return (
            engine.docker("inspect", "--format", "{{.Config.Image}}", container)
            .stdout.decode()
            .strip()
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.stack.get(path, **kwargs)


class RequestLoop:
    """GETs through Nginx (HTTPS) in a thread, as fast as one client goes; counts failures."""

    def __init__(self, world: EngineWorld, path: str = "/healthz"):
        self.world, self.path = world, path
        self.total = self.failed = self.retried = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _get(self, session: requests.Session) -> tuple[bool, str]:
        try:
            response = self.world.get(self.path, session=session, timeout=10)
            return response.status_code == 200, f"{response.status_code}"
        except requests.RequestException as error:
            return False, type(error).__name__

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            ok, detail = self._get(session)
            if not ok and detail == "ConnectionError":
                # A reloading Nginx closes idle keep-alive connections; one may close as a
                # request is sent on it. HTTP clients retry an idempotent request once on a new
                # connection (RFC 9110, 9.2.2), and so does this one; a second failure counts.
                self.retried += 1
                session = requests.Session()
                ok, detail = self._get(session)
            self.total += 1
            if not ok:
                self.failed += 1
                self.failures.append(f"{time.strftime('%H:%M:%S')} {detail}")
            time.sleep(0.05)

    def __enter__(self) -> RequestLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def free_subnet() -> str:
    """A /24 for a deploy world's frontend network, apart from the Compose stacks' range."""
    return engine.reserve_subnet("10.214", range(100, 250))


# The production Compose file's third-party images (containers/image-pins), here the local
# stand-ins pushed to the test registry: the first release pins them by these digests.
PINNED = ("postgres:15-bookworm", "redis:7.4-bookworm", "nginx:1.28-bookworm")

# Only the loopback registry: any other pull, and any build, is refused on the server.
SERVER_DOCKER = """#!/bin/sh
# The deploy server's docker (harness/deploy_world.py): it never builds, and it reaches no
# registry but the test's own on loopback.
case "$1" in
  build | builder | buildx) echo "refused on the deploy server: docker $*" >&2; exit 97 ;;
  pull) for ref; do case "$ref" in -*|pull|127.0.0.1:*) ;; *)
    echo "refused on the deploy server: pull of $ref (not the loopback registry)" >&2; exit 97 ;;
    esac; done ;;
esac
exec {cli} "$@"
"""


def make_world(root: Path) -> EngineWorld:
    urllib3.disable_warnings()
    engine.require_engine()
    engine.ensure_images()
    sshd = SshServer(root / "sshd")
    (root / "sshd").mkdir()
    sshd.start()
    registry = LocalRegistry(root / "registry")
    try:
        registry.start()
        return _world_on(root, sshd, registry)
    except BaseException:
        sshd.stop()  # a setup that fails leaves no listener behind
        registry.stop()
        raise


def pin_standins(laptop: Path, registry: LocalRegistry) -> None:
    """Push the stand-ins to the registry and pin containers/image-pins to them, with the
    project's own `just pin-images`."""
    lines = ["# the test registry's copies of the local stand-ins (harness/deploy_world.py)"]
    for name in PINNED:
        repository = f"{registry.address}/library/{name.split(':')[0]}"
        engine.docker("tag", name, f"{repository}:{name.split(':')[1]}")
        # a loaded machine's registry sometimes drops a blob upload ("unexpected EOF"): again
        for attempt in (1, 2, 3):
            pushed = engine.docker(
                "push", f"{repository}:{name.split(':')[1]}", timeout=900, check=attempt == 3
            )
            if pushed.returncode == 0:
                break
        lines.append(f"{name} {repository} -")
    pins = laptop / "containers" / "image-pins"
    pins.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        ["python3", str(laptop / "deploy" / "lib" / "image_pins.py"), "pin", str(pins)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _world_on(root: Path, sshd: SshServer, registry: LocalRegistry) -> EngineWorld:
    origin, laptop, server = root / "origin.git", root / "laptop", root / "srv-admin2"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    laptop.mkdir()
    git(laptop, "init", "-q", "-b", "main")
    git(laptop, "remote", "add", "origin", str(origin))
    snapshot(laptop)
    pin_standins(laptop, registry)
    git(laptop, "add", "-A")
    git(laptop, "commit", "-q", "-m", "release A: this working tree")
    git(laptop, "push", "-q", "origin", "main")
    git(root, "clone", "-q", str(origin), str(server))

    # The operator's files on the server, generated by the containers harness.
    stack = ComposeStack("production", server / "containers", "unused")
    stack.file = server / "containers" / "docker-compose.production.yml"
    env = {k: v for k, v in stack.env.items() if k not in ("ADMIN2_IMAGE_TAG", "ADMIN2_ENV_FILE")}
    env["COMPOSE_PROJECT_NAME"] = stack.project
    # Outside the range the containers tests pick from and the engine's own pools, so a stack
    # started between this choice and the deploy's `up` cannot take the same subnet.
    env["ADMIN2_FRONTEND_SUBNET"] = free_subnet()
    (server / "containers" / ".env.production").write_text(
        "".join(f"{k}={v}\n" for k, v in env.items())
    )
    backups = root / "backups"
    alerts = root / "alerts.log"
    hook = root / "alert-hook"
    hook.write_text(f'#!/bin/sh\n{{ echo "SUBJECT: $1"; cat; echo; }} >>{alerts}\n')
    hook.chmod(0o755)
    (server / "deploy" / ".env").write_text(
        f"BACKUP_DIR={backups}\nADMIN2_ALERT_COMMAND={hook}\n"
        f"ADMIN2_HOST_STACK_FILE={root / 'etc-admin2-stack'}\n"
    )

    bin_dir = root / "server-bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(SERVER_DOCKER.format(cli=engine.docker_cli()))
    (bin_dir / "docker").chmod(0o755)
    (bin_dir / "docker-compose").symlink_to(venv_tool("docker-compose"))
    laptop_bin = root / "laptop-bin"  # the laptop builds: Debian's CLI, BuildKit
    laptop_bin.mkdir()
    (laptop_bin / "docker").symlink_to(engine.docker_cli())
    world = EngineWorld(
        root, sshd, origin, laptop, server, bin_dir, backups, alerts, stack, registry, laptop_bin
    )
    first = git(laptop, "rev-parse", "HEAD")
    world.built.append(first)
    world.publish(first)
    return world


def destroy(world: EngineWorld) -> None:
    if os.environ.get("ADMIN2_E2E_KEEP"):
        engine.log(f"kept the deploy world in {world.root} (project {world.stack.project})")
        return
    world.stack.down()
    for sha in world.built:
        engine.docker("image", "rm", f"admin2:{sha}", check=False)
        if sha in world.digests:
            engine.docker("image", "rm", world.digests[sha], check=False)
        if sha in world.db_digests:
            engine.docker("image", "rm", world.db_digests[sha], check=False)
    # The db image's tag sums the world's own pin of postgres (its registry's port): its own.
    db_tag = engine.db_image_tag(world.laptop)
    engine.docker("image", "rm", f"admin2-db:{db_tag}", f"{world.repository}-db:{db_tag}",
                  check=False)  # fmt: skip
    for name in PINNED:
        repository = f"{world.registry.address}/library/{name.split(':')[0]}"
        engine.docker("image", "rm", f"{repository}:{name.split(':')[1]}", check=False)
    world.registry.stop()
    world.sshd.stop()
