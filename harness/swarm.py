"""A Docker Swarm of N ``dockerd`` in network namespaces on this machine, for tests and bench.

Layout, and the traps behind it, are in docs/scaling.md ("The test bed"): a hub namespace
holds the bridge and the registry; each node namespace one dockerd; the host's own network,
firewall and engine are never touched (the host engine is only read, by ``docker save``).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import engine, registry_cache
from harness.registry import Registry

DOCKERD = "/usr/sbin/dockerd"
CLI = "/usr/bin/docker"  # Debian's 20.10 CLI, as the nodes run (the 28.x CLI works too)
SUBNET = "10.77.0"  # inside the hub namespace only: parallel beds never see each other
REGISTRY = f"{SUBNET}.1:5000"
OVERLAY_POOL = "10.78.0.0/16"


class Node:
    def __init__(self, bed: Swarm, index: int):
        self.bed, self.index = bed, index
        self.name = f"{bed.prefix}-n{index}"  # netns, hostname and swarm node name
        self.netns = self.name
        self.address = f"{SUBNET}.{10 + index}"
        self.root = bed.state / f"n{index}"
        self.run = bed.run / f"n{index}"  # short: unix socket paths are limited to 108 bytes
        self.socket = bed.run / f"n{index}.sock"
        self.cgroup = f"{bed.prefix}-n{index}"
        self.veth = f"{bed.prefix}v{index}"
        self.process: subprocess.Popen | None = None
        self.extra_config: dict = {}

    def docker(self, *args: str, timeout: float = 300, check: bool = True, stdin=None,
               stdin_text: str | None = None) -> subprocess.CompletedProcess:  # fmt: skip
        result = subprocess.run(
            [CLI, "-H", f"unix://{self.socket}", *args], capture_output=True, text=True,
            timeout=timeout, check=False, stdin=stdin, input=stdin_text,
        )  # fmt: skip
        if check and result.returncode != 0:
            pytest.fail(f"{self.name}: docker {' '.join(args[:5])} failed:\n"
                        f"{result.stdout[-3000:]}{result.stderr[-3000:]}")  # fmt: skip
        return result

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "daemon.json"
        config.write_text(json.dumps({
            **self.extra_config,
            # Everything that would otherwise be shared with the host's engine, moved.
            "deprecated-key-path": str(self.root / "key.json"),
            "insecure-registries": [REGISTRY],
            "cgroup-parent": f"/{self.cgroup}",
            # No resolver answers here, on purpose: no name leaves the bed.
            "dns": [f"{SUBNET}.1"],
            "log-driver": "json-file", "log-opts": {"max-size": "1m", "max-file": "2"},
        }))  # fmt: skip
        # nsenter, not `ip netns exec` (which remounts /sys and hides the cgroup mounts); a
        # UTS namespace of its own, because swarm names a node after its hostname.
        script = (
            f"hostname {self.name} && exec {DOCKERD} --config-file {config} "
            f"-H unix://{self.socket} --data-root {self.root / 'data'} "
            f"--exec-root {self.run} --pidfile {self.run}.pid"
        )
        with open(self.root / "dockerd.log", "ab") as log:
            self.process = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.netns}", "unshare", "--uts",
                 "/bin/sh", "-c", script],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def wait_api(self, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            # A dockerd still starting may accept the connection and answer only later.
            with contextlib.suppress(subprocess.TimeoutExpired):
                if self.docker("version", timeout=10, check=False).returncode == 0:
                    return
            if self.process and self.process.poll() is not None:
                break
            time.sleep(0.2)
        log = (self.root / "dockerd.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"{self.name}: dockerd did not answer\n{log}")

    def pid(self) -> int | None:
        try:
            return int(Path(f"{self.run}.pid").read_text())
        except (OSError, ValueError):
            return None

    def crash(self) -> None:
        """A node lost as hardware is: its link down, then every process it ran killed."""
        _ip("-n", self.bed.hub, "link", "set", self.veth, "down")
        self.kill_everything()

    def kill_everything(self) -> None:
        pids = set(_cgroup_pids(self.cgroup)) | set(_netns_pids(self.name))
        for pid in pids:
            _forget_shim_socket(pid, str(self.bed.run))
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)

    def pull(self, names: list[str]) -> None:
        for name in names:
            self.docker("pull", "-q", name, timeout=900)

    def revive(self) -> None:
        _ip("-n", self.bed.hub, "link", "set", self.veth, "up")
        self.start()
        self.wait_api()


class Swarm:
    """``up()`` builds everything from nothing; ``down()`` removes all of it."""

    def __init__(self, size: int = 3):
        token = uuid.uuid4().hex[:4]
        self.prefix = f"a2s{token}"
        self.hub = f"{self.prefix}-hub"
        self.bridge = f"{self.prefix}br"
        self.state = Path(f"/var/tmp/admin2-swarm/{token}")
        self.run = Path(f"/run/a2s/{token}")
        self.nodes = [Node(self, i) for i in range(1, size + 1)]
        self.cache = registry_cache.RegistryCache()
        self.registry = Registry(self.state / "registry", REGISTRY, netns=self.hub,
                                 storage=self.cache.storage)  # fmt: skip
        self.timings: dict[str, float] = {}
        self.digests: dict[str, str] = {}
        self.seed = None

    @property
    def manager(self) -> Node:
        """The first node whose API answers (the bed's tests may stop any one node)."""
        for node in self.nodes:
            if node.docker("info", "--format", "{{.Swarm.ControlAvailable}}", timeout=10,
                           check=False).stdout.strip() == "true":  # fmt: skip
                return node
        pytest.fail("no swarm manager answers")

    def up(self, images: dict[str, str], join: bool = True) -> None:
        """Network, registry, ``images`` pushed ({key: host image}; their names by digest
        in ``self.digests``), dockerd on every node; ``join=False`` leaves forming the swarm
        to the caller (``just swarm-init`` over SSH, harness/swarm_ssh.py)."""
        for tool in (DOCKERD, CLI, "/usr/bin/nsenter", "/usr/bin/unshare"):
            if not Path(tool).exists():
                pytest.fail(f"{tool} is missing (scripts/ensure-system-deps)")
        self.state.mkdir(parents=True, exist_ok=True)
        self.run.mkdir(parents=True, exist_ok=True)
        self._timed("network", self._network)
        self.registry.start()
        self.digests = self.push(images)
        self._timed("dockerd", self._daemons)
        if join:
            self._timed("swarm", self._join)

    def _timed(self, what: str, step) -> None:
        started = time.monotonic()
        step()
        self.timings[what] = round(time.monotonic() - started, 1)

    def _network(self) -> None:
        # The bridge lives in a namespace of its own: in the host's, the engine's FORWARD
        # policy DROP (with br_netfilter) drops the bridged frames.
        _ip("netns", "add", self.hub)
        _ip("-n", self.hub, "link", "set", "lo", "up")
        _ip("-n", self.hub, "link", "add", self.bridge, "type", "bridge")
        _ip("-n", self.hub, "addr", "add", f"{SUBNET}.1/24", "dev", self.bridge)
        _ip("-n", self.hub, "link", "set", self.bridge, "up")
        for node in self.nodes:
            _ip("netns", "add", node.name)
            _ip("-n", node.name, "link", "set", "lo", "up")
            _ip("-n", self.hub, "link", "add", node.veth, "type", "veth", "peer", "name",
                "eth0", "netns", node.name)  # fmt: skip
            _ip("-n", self.hub, "link", "set", node.veth, "master", self.bridge, "up")
            _ip("-n", node.name, "addr", "add", f"{node.address}/24", "dev", "eth0")
            _ip("-n", node.name, "link", "set", "eth0", "up")

    def _daemons(self) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_api()

    def _join(self) -> None:
        first, *others = self.nodes
        first.docker("swarm", "init", "--advertise-addr", first.address,
                     "--listen-addr", f"{first.address}:2377",
                     "--default-addr-pool", OVERLAY_POOL,
                     "--default-addr-pool-mask-length", "24")  # fmt: skip
        token = first.docker("swarm", "join-token", "-q", "manager").stdout.strip()
        for node in others:  # every node a manager: any two keep the quorum
            node.docker("swarm", "join", "--token", token, "--advertise-addr", node.address,
                        "--listen-addr", f"{node.address}:2377",
                        f"{first.address}:2377")  # fmt: skip

    def push(self, images: dict[str, str]) -> dict[str, str]:
        """Host-engine images into the registry through the seed, and the seed's image store
        into every node's data-root (before the nodes start): {key: local name} ->
        {key: name@digest}. What an earlier run pushed with the same content is skipped."""
        from harness.swarm_seed import Seed  # it builds on Node

        started = time.monotonic()
        ids = {key: registry_cache.image_id(local) for key, local in images.items()}
        with self.cache.locked() as cache:
            pushed = {key: cache.pushed(ids[key], REGISTRY) for key in images}
            cache.make_room(list(pushed.values()).count(None))
            self.seed = Seed(self, cache.root / "seed")
            self.seed.start()
            self.seed.wait_api()
            missing = self.seed.bring(images, ids, pushed)
            cache.remember({ids[key]: pushed[key] for key in missing}, REGISTRY)
            self.seed.stop()
            self.timings["push"] = round(time.monotonic() - started, 1)
            self._timed("seed_nodes", lambda: [self.seed.link_into(n.root / "data")
                                               for n in self.nodes])  # fmt: skip
        engine.log(f"swarm push: {len(images) - len(missing)} of {len(images)} images cached")
        return pushed

    def pull(self, names: list[str]) -> None:
        """Every node pulls ``names``, the nodes at once (timed on its own)."""
        started = time.monotonic()
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            futures = [pool.submit(node.pull, names) for node in self.nodes]
        for future in futures:
            future.result()
        self.timings["pull"] = round(time.monotonic() - started, 1)

    def in_hub(self, *argv: str, timeout: float = 120, check: bool = True,
               input: str | None = None) -> subprocess.CompletedProcess:  # fmt: skip
        """Run a program in the hub namespace: the one place that reaches every node."""
        result = subprocess.run(
            ["nsenter", f"--net=/run/netns/{self.hub}", *argv], capture_output=True,
            text=True, timeout=timeout, check=False, input=input,
        )  # fmt: skip
        if check and result.returncode != 0:
            pytest.fail(f"in hub: {' '.join(argv[:4])} failed:\n"
                        f"{result.stdout[-3000:]}{result.stderr[-3000:]}")  # fmt: skip
        return result

    def hub_popen(self, *argv: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["nsenter", f"--net=/run/netns/{self.hub}", *argv], **kwargs)

    def _every_dockerd(self) -> list[Node]:
        return [*self.nodes, self.seed] if self.seed else list(self.nodes)

    def down(self) -> None:
        started = time.monotonic()
        # Everything goes, so nothing is stopped gracefully: every node crashes at once (a
        # graceful stop of managers that lose their quorum takes minutes on a busy machine).
        for _ in range(2):  # a second pass for what started during the first
            for node in self._every_dockerd():
                node.kill_everything()
            time.sleep(1)
        self.registry.stop()
        engine.log(f"swarm {self.prefix}: processes gone after {time.monotonic() - started:.1f} s")
        for mount in _mounts_below(self.run, self.state):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        for node in self.nodes:
            _ip("netns", "del", node.name, check=False)
        _ip("netns", "del", self.hub, check=False)
        for node in self._every_dockerd():
            for hierarchy in Path("/sys/fs/cgroup").glob(f"*/{node.cgroup}"):
                for directory in [*sorted(hierarchy.rglob("*"), reverse=True), hierarchy]:
                    if directory.is_dir():
                        with contextlib.suppress(OSError):
                            directory.rmdir()
        # The nodes' image layers take minutes to delete on a busy machine: rm runs on after
        # the tests (the names are this bed's own, so nothing waits for them).
        subprocess.Popen(["rm", "-rf", str(self.run), str(self.state)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _ip(*args: str, check: bool = True) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"ip {' '.join(args)} failed: {result.stderr}")


def _cgroup_pids(cgroup: str) -> list[int]:
    pids = []
    for procs in Path(f"/sys/fs/cgroup/pids/{cgroup}").rglob("cgroup.procs"):
        with contextlib.suppress(OSError):
            pids += [int(p) for p in procs.read_text().split()]
    return pids


def _netns_pids(netns: str) -> list[int]:
    result = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True,
                            check=False)  # fmt: skip
    return [int(p) for p in result.stdout.split()]


def _forget_shim_socket(pid: int, ours: str) -> None:
    """A SIGKILLed containerd shim leaves its socket in the *shared* /run/containerd/s; its
    name is sha256 of "<containerd address>/<namespace>/<id>". Only ours are removed."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return
    if not argv or "containerd-shim" not in argv[0]:
        return
    options = {flag: value for flag, value in itertools.pairwise(argv)
               if flag.startswith("-")}  # fmt: skip
    address, namespace, ident = (options.get(k) for k in ("-address", "-namespace", "-id"))
    if address and namespace and ident and address.startswith(ours):
        digest = hashlib.sha256(f"{address}/{namespace}/{ident}".encode()).hexdigest()
        Path(f"/run/containerd/s/{digest}").unlink(missing_ok=True)


def _mounts_below(*roots: Path) -> list[str]:
    mounts = []
    for line in Path("/proc/mounts").read_text().splitlines():
        target = line.split()[1]
        if any(target == str(r) or target.startswith(f"{r}/") for r in roots):
            mounts.append(target)
    return sorted(mounts, reverse=True)
