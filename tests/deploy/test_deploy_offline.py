"""`just deploy-prod` to a server cut off from package registries (harness/offline_host.py):
its dockerd pulls the release (pushed by `just release` from this machine's engine, the
laptop) and the pinned stand-ins by digest, and builds nothing. The monitoring profile is off
here: its stand-ins are not pinned (the deploy engine test runs it). docs/operations.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from harness import engine, registry_cache
from harness.deploy_world import EngineWorld, _world_on, destroy
from harness.offline_host import PROBE, OfflineHost
from harness.processes import REPO, free_port, venv_tool, wait_until
from harness.registry import Registry
from harness.swarm import CLI

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.own_engines,  # a dockerd of its own: beside the swarm, off the deploy unit
    pytest.mark.timeout(1800),
]

FIGURES = REPO / "test-results" / "deploy-offline.json"
# What a server reaches for when it builds, by name and by address (151.101.0.223 is one of
# pypi.org's, 199.232.18.132 one of deb.debian.org's): none of it may answer from inside.
OUTSIDE = [("pypi.org", 443), ("deb.debian.org", 80), ("registry-1.docker.io", 443),
           ("ghcr.io", 443), ("151.101.0.223", 443), ("199.232.18.132", 80)]  # fmt: skip


class Offline:
    def __init__(self, world: EngineWorld, host: OfflineHost, registry: Registry):
        self.world, self.host, self.registry = world, host, registry

    def just(self, recipe: str, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
        """A just recipe in the laptop's checkout, with the laptop's docker first on PATH."""
        env = {**self.world.env(), "PATH": f"{self.world.laptop_bin}:{os.environ['PATH']}"}
        started = time.monotonic()
        result = subprocess.run(
            [venv_tool("just"), "--justfile", str(self.world.laptop / "justfile"), recipe, *args],
            cwd=self.world.laptop, env=env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
        result.seconds = time.monotonic() - started  # type: ignore[attr-defined]
        engine.log(f"just {recipe}: exit {result.returncode} in {result.seconds:.0f} s")
        return result

    def login_page(self) -> tuple[str, str]:
        """(status, body) of the login page through the server's Nginx, asked on the server."""
        url = f"https://localhost:{self.world.stack.ports['tls']}/admin/login/"
        done = self.host.inside("curl", "-sk", "--max-time", "20", "-w", "\n%{http_code}", url)
        body, _, status = done.stdout.rpartition("\n")
        return status, body

    def _web(self) -> str:
        labels = [f"com.docker.compose.project={self.world.stack.project}",
                  "com.docker.compose.service=web"]  # fmt: skip
        filters = [arg for label in labels for arg in ("--filter", f"label={label}")]
        ids = self.host.docker("ps", "-q", *filters).stdout.split()
        assert ids, "no web container on the server"
        return ids[0]

    def web_image(self) -> str:
        return self.host.docker("inspect", "--format", "{{.Config.Image}}",
                                self._web()).stdout.strip()  # fmt: skip

    def exec_web(self, *argv: str) -> str:
        return self.host.docker("exec", self._web(), *argv).stdout


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy-offline")
    engine.require_engine()
    engine.ensure_images()
    # The swarm's registry storage, kept across runs: layers pushed before are not pushed again.
    registry = Registry(root / "registry", f"127.0.0.1:{free_port()}",
                        storage=registry_cache.RegistryCache().storage)  # fmt: skip
    host = OfflineHost(root / "server-host", int(registry.address.rsplit(":", 1)[1]))
    world = None
    try:
        registry.start()
        wait_until(lambda: _answers(registry.address), 30, f"registry on {registry.address}")
        host.up()
        (root / "world").mkdir()
        world = _world_on(root / "world", host, registry)  # type: ignore[arg-type]
        # The server's own docker CLI: no guard against builds (the engine shows there was
        # none), and its own dockerd (sshd sets DOCKER_HOST for every session).
        (world.bin_dir / "docker").unlink()
        (world.bin_dir / "docker").symlink_to(CLI)
        env_file = world.server / "containers" / ".env.production"
        lines = [line for line in env_file.read_text().splitlines()
                 if not line.startswith("COMPOSE_PROFILES=")]  # fmt: skip
        env_file.write_text("\n".join([*lines, "COMPOSE_PROFILES=", ""]))
        yield Offline(world, host, registry)
    finally:
        if world is not None:
            destroy(world)
        registry.stop()
        host.down()


def test_the_server_reaches_the_registry_and_nothing_else(offline):
    host = offline.host
    # Loopback and the bridge its own dockerd made (docker0): no link leaves the namespace.
    links = host.inside("ip", "-o", "link", "show").stdout.splitlines()
    assert sorted(line.split(":")[1].strip() for line in links) == ["docker0", "lo"], links
    routes = host.inside("ip", "route", "show").stdout.splitlines()
    assert routes and all("dev docker0" in route for route in routes), routes

    # The deploy's SSH sessions run there too.
    assert host.ssh("ip -o link show").stdout.splitlines() == links

    seen = host.probe([*OUTSIDE, ("127.0.0.1", host.registry_port)])

    assert seen.pop(f"127.0.0.1:{host.registry_port}") == "connected"
    answer = host.inside("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                         f"http://127.0.0.1:{host.registry_port}/v2/")  # fmt: skip
    assert answer.stdout == "200", "the registry answers from inside"
    for (name, _), outcome in zip(OUTSIDE, seen.values(), strict=True):
        by_name = not name[0].isdigit()
        assert outcome.startswith("no address" if by_name else "no connection"), (name, outcome)
    # The server's engine is as cut off as its shell: Docker Hub is out of its reach.
    pulled = host.docker("pull", "docker.io/library/debian:bookworm", check=False, timeout=120)
    assert pulled.returncode != 0 and "registry-1.docker.io" in pulled.stderr, pulled.stdout


def test_just_deploy_prod_pulls_the_release_by_digest_and_serves_offline(offline):
    world = offline.world
    first = world.built[0]
    reference = world.digests[first]

    result = offline.just("deploy-prod")

    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    engine.record_timing(FIGURES, "offline_first_deploy_seconds", result.seconds)
    assert f"pulling {reference}" in result.stdout
    for name, pinned in _pins(world.laptop / "containers" / "image-pins").items():
        assert f"pulling the pinned {pinned} for {name}" in result.stdout
    assert world.state("current") == first
    assert world.releases_log()[-1][1:4] == ["deploy", first, "ok"]
    assert world.releases_log()[-1][5] == reference.split("@")[1], "the digest is recorded"
    assert offline.web_image() == f"admin2:{first}"
    status, body = offline.login_page()
    assert status == "200" and 'name="password"' in body, (status, body[-2000:])
    # The release that runs there is as cut off as the server's shell.
    seen = offline.exec_web("python3", "-c", PROBE, json.dumps(OUTSIDE[:2]))
    assert all(o.startswith("no address") for o in json.loads(seen).values()), seen


def test_the_server_never_built_and_every_image_came_from_the_registry(offline):
    tags = _only_pulled_images(offline)
    assert f"admin2:{offline.world.built[0]}" in tags, tags


def _only_pulled_images(offline) -> set[str]:
    """The server's image tags, once no build cache and no image without a registry digest
    (the pinned ones with their pins) are asserted."""
    host, world = offline.host, offline.world
    usage = host.docker("system", "df", "--format", "{{json .}}").stdout.splitlines()
    build_cache = next(json.loads(row) for row in usage if "Build Cache" in row)
    assert build_cache["TotalCount"] == "0", build_cache
    ids = host.docker("image", "ls", "-a", "-q", "--no-trunc").stdout.split()
    inspected = json.loads(host.docker("image", "inspect", *ids).stdout)
    pins = _pins(world.laptop / "containers" / "image-pins")
    for image in inspected:
        # Pulled, never built or loaded: each image has a digest in the release registry.
        assert image["RepoDigests"], image["RepoTags"]
        assert all(d.startswith(f"{world.registry.address}/") for d in image["RepoDigests"])
        for tag in image["RepoTags"]:
            if tag in pins:
                assert pins[tag] in image["RepoDigests"], (tag, image["RepoDigests"])
    tags = {tag for image in inspected for tag in image["RepoTags"]}
    assert set(pins) <= tags, tags
    return tags


def _pins(path: Path) -> dict[str, str]:
    """{NAME: SOURCE@DIGEST} of containers/image-pins."""
    pins = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, source, digest = line.split()
            pins[name] = f"{source}@{digest}"
    return pins


def test_a_rollback_to_the_earlier_digest_works_with_the_registry_and_git_gone(offline):
    world = offline.world
    first = world.state("current")
    second = world.release("release B: code only",
                           {"src/admin2/admin2/e2e_release.py": 'RELEASE = "B"\n'},
                           publish=False)  # fmt: skip
    with engine._lock():  # one builder at a time on this machine
        released = offline.just("release")
    assert released.returncode == 0, released.stderr[-6000:]
    engine.record_timing(FIGURES, "offline_release_seconds", released.seconds)
    reference = released.stdout.strip().splitlines()[-1]
    assert reference.startswith(f"{world.repository}@sha256:"), released.stdout
    world.digests[second] = reference
    engine.docker("image", "rm", f"admin2:{second}", f"{world.repository}:{second}")
    deployed = offline.just("deploy-prod")
    assert deployed.returncode == 0, deployed.stdout[-6000:]
    assert f"pulling {reference}" in deployed.stdout
    assert offline.web_image() == f"admin2:{second}"
    offline.registry.stop()
    gone = offline.host.inside("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                               f"http://{world.registry.address}/v2/")  # fmt: skip
    assert gone.stdout == "000", "the registry is out of reach now"
    shutil.move(world.origin, world.origin.with_name("origin-gone.git"))  # the git server too

    result = offline.just("rollback")

    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    engine.record_timing(FIGURES, "offline_rollback_seconds", result.seconds)
    assert "pulling" not in result.stdout and "building images" not in result.stdout
    assert "no fetch needed" in result.stdout
    assert world.state("current") == first
    assert world.releases_log()[-1][1:4] == ["rollback", first, "ok"]
    assert world.releases_log()[-1][5] == world.digests[first].split("@")[1]
    assert offline.web_image() == f"admin2:{first}"
    status, body = offline.login_page()
    assert status == "200" and 'name="password"' in body, status
    assert {f"admin2:{first}", f"admin2:{second}"} <= _only_pulled_images(offline)
