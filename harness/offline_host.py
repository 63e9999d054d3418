"""A production server cut off from the internet: a dockerd and an sshd in a network namespace
with loopback only (no route, no resolver). Two TCP forwards are all its network: the laptop's
registry port (out, to the registry on this machine's 127.0.0.1) and SSH (in, from a port on
this machine's 127.0.0.1). The dockerd is harness/swarm.py's node; docs/containers.md says why.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

from harness import swarm
from harness.processes import free_port, require_binary, wait_until

# Tries each (host, port) from inside the namespace: a name first needs a resolver, an address
# a route. System Python, so that nothing of the checkout's venv is needed there.
PROBE = r"""
import json, socket, sys
seen = {}
for host, port in json.loads(sys.argv[1]):
    key = f"{host}:{port}"
    try:
        address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][:2]
    except OSError as error:
        seen[key] = f"no address: {error}"
        continue
    try:
        with socket.create_connection(address, timeout=5):
            seen[key] = "connected"
    except OSError as error:
        seen[key] = f"no connection: {error}"
print(json.dumps(seen))
"""


class OfflineHost:
    """``up()`` makes the namespace, its dockerd, its sshd and the two forwards; ``down()``
    removes all of it. ``registry_port`` is the port of the registry on 127.0.0.1 here, which
    the server sees at the same address (so an image's name is the same on both sides)."""

    def __init__(self, root: Path, registry_port: int):
        token = uuid.uuid4().hex[:4]
        self.root, self.registry_port = root, registry_port
        bed = SimpleNamespace(prefix=f"a2off{token}", state=root / "engine",
                              run=Path(f"/run/a2off/{token}"), hub=None)  # fmt: skip
        self.run = bed.run
        self.node = swarm.Node(bed, 1)  # what swarm.Node reads of its bed: prefix..hub
        self.netns = self.node.netns
        self.ssh_port = 0  # on this machine's 127.0.0.1, forwarded to the server's port 22
        self.user = getpass.getuser()
        self.host_key = root / "ssh_host_ed25519_key"
        self.client_key = root / "id_ed25519"
        self.known_hosts = root / "known_hosts"
        self._forwards: list[subprocess.Popen] = []

    # ---- up and down --------------------------------------------------------------------------
    def up(self) -> None:
        for tool in ("socat", "sshd", "ssh", "nsenter"):
            require_binary(tool, f"Debian's {tool} (scripts/ensure-system-deps)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.run.mkdir(parents=True, exist_ok=True)
        swarm._ip("netns", "add", self.netns)
        swarm._ip("-n", self.netns, "link", "set", "lo", "up")
        self.node.start()
        self._forward_registry()
        self._start_sshd()
        self.node.wait_api()
        wait_until(self._ssh_answers, 30, f"sshd in {self.netns}", interval=0.3)

    def _forward_registry(self) -> None:
        """Inside, 127.0.0.1:<registry port> leads to the registry on this machine's loopback:
        each connection is relayed by a socat that enters this process's own namespace."""
        relay = self._script("to-registry", f"exec nsenter --net=/proc/{os.getpid()}/ns/net "
                             f"socat STDIO TCP:127.0.0.1:{self.registry_port}")  # fmt: skip
        self._forward(["nsenter", f"--net=/run/netns/{self.netns}", "socat",
                       f"TCP-LISTEN:{self.registry_port},bind=127.0.0.1,reuseaddr,fork",
                       f"EXEC:{relay}"])  # fmt: skip

    def _start_sshd(self) -> None:
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "admin2-offline",
                            "-f", str(key)], check=True)  # fmt: skip
        authorized = self.root / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
        config = self.root / "sshd_config"
        config.write_text("\n".join([
            "ListenAddress 127.0.0.1:22", f"HostKey {self.host_key}",
            f"PidFile {self.root / 'sshd.pid'}", f"AuthorizedKeysFile {authorized}",
            f"AllowUsers {self.user}", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
            "StrictModes no", "UsePAM no", "X11Forwarding no", "AllowTcpForwarding no",
            "PrintMotd no",
            # The server's engine is the one its sessions' docker CLI and Compose talk to.
            f"SetEnv DOCKER_HOST=unix://{self.node.socket}", "",
        ]))  # fmt: skip
        with open(self.root / "sshd.log", "ab") as log:
            self._forwards.append(subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.netns}", "/usr/sbin/sshd", "-D", "-e",
                 "-f", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True,
            ))  # fmt: skip
        self.ssh_port = free_port()
        relay = self._script("to-sshd", f"exec nsenter --net=/run/netns/{self.netns} "
                             "socat STDIO TCP:127.0.0.1:22")  # fmt: skip
        self._forward(["socat", f"TCP-LISTEN:{self.ssh_port},bind=127.0.0.1,reuseaddr,fork",
                       f"EXEC:{relay}"])  # fmt: skip
        public = " ".join(self.host_key.with_suffix(".pub").read_text().split()[:2])
        self.known_hosts.write_text(f"[127.0.0.1]:{self.ssh_port} {public}\n")

    def _script(self, name: str, line: str) -> Path:
        path = self.run / name
        path.write_text(f"#!/bin/sh\n{line}\n")
        path.chmod(0o755)
        return path

    def _forward(self, argv: list[str]) -> None:
        with open(self.root / "forwards.log", "ab") as log:
            self._forwards.append(subprocess.Popen(argv, stdout=log, stderr=log,
                                                   stdin=subprocess.DEVNULL,
                                                   start_new_session=True))  # fmt: skip

    def _ssh_answers(self) -> bool:
        return self.ssh("true", timeout=20).returncode == 0

    def down(self) -> None:
        for process in self._forwards:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        for _ in range(20):  # again for what started meanwhile, until the cgroup is empty
            self.node.kill_everything()
            if not swarm._cgroup_pids(self.node.cgroup):
                break
            time.sleep(0.5)
        for mount in swarm._mounts_below(self.run, self.root):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        swarm._ip("netns", "del", self.netns, check=False)
        for hierarchy in Path("/sys/fs/cgroup").glob(f"*/{self.node.cgroup}"):
            for directory in [*sorted(hierarchy.rglob("*"), reverse=True), hierarchy]:
                if directory.is_dir():
                    with contextlib.suppress(OSError):
                        directory.rmdir()
        # Image layers take a while to delete on a busy machine: rm runs on after the test.
        subprocess.Popen(["rm", "-rf", str(self.run), str(self.root / "engine")],
                         start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)  # fmt: skip

    # ---- what the tests do there --------------------------------------------------------------
    def client_options(self) -> list[str]:
        """ssh options that trust exactly this server and use exactly this key (as SshServer)."""
        return ["-F", "/dev/null", "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-i", str(self.client_key)]  # fmt: skip

    @property
    def port(self) -> int:  # SshServer's name for it: harness.deploy_world reads it
        return self.ssh_port

    def ssh(self, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", *self.client_options(), "-p", str(self.ssh_port),
             f"{self.user}@127.0.0.1", command],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def log(self) -> str:
        log = self.root / "sshd.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        """SshServer's: the sshd goes with the namespace in ``down()``."""

    def inside(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", *argv],
                              capture_output=True, text=True, timeout=timeout,
                              check=False)  # fmt: skip

    def probe(self, targets: list[tuple[str, int]]) -> dict[str, str]:
        """{host:port: "connected" | why not} for connections made inside the namespace."""
        done = self.inside("python3", "-c", PROBE, json.dumps(targets), timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def docker(self, *args: str, timeout: float = 300, check: bool = True):
        return self.node.docker(*args, timeout=timeout, check=check)
