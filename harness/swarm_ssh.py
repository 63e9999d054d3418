"""SSH into the test swarm's nodes, as `just swarm-init` reaches real hosts.

One ``sshd`` per node namespace on its address, port 22, whose sessions' ``DOCKER_HOST`` is
that node's dockerd; the client is an ``ssh`` wrapper first on PATH that trusts exactly these
host keys and this key, never the operator's own SSH config or known_hosts."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.processes import REPO, require_binary, venv_tool, wait_until
from harness.swarm import CLI, Swarm


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "admin2-swarm",
                    "-f", str(path)], check=True)  # fmt: skip


class SwarmSsh:
    def __init__(self, bed: Swarm, workdir: Path):
        self.bed, self.workdir = bed, workdir
        self.user = getpass.getuser()
        self.host_key = workdir / "ssh_host_ed25519_key"
        self.client_key = workdir / "id_ed25519"
        self.bin = workdir / "bin"

    def start(self) -> None:
        sshd = require_binary("sshd", "Debian package openssh-server")
        ssh = require_binary("ssh", "Debian package openssh-client")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
        self.workdir.mkdir(parents=True, exist_ok=True)
        _keygen(self.host_key)
        _keygen(self.client_key)
        authorized = self.workdir / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        public = " ".join(self.host_key.with_suffix(".pub").read_text().split()[:2])
        known = self.workdir / "known_hosts"
        known.write_text("".join(f"{node.address} {public}\n" for node in self.bed.nodes))
        for node in self.bed.nodes:
            config = self.workdir / f"sshd_{node.index}.conf"
            config.write_text(self._sshd_config(node, authorized))
            subprocess.Popen(  # killed with the node's namespace (Swarm.down, Node.crash)
                ["nsenter", f"--net=/run/netns/{node.name}", sshd, "-D", "-e", "-f", str(config)],
                stdout=open(self.workdir / f"sshd_{node.index}.log", "ab"),  # noqa: SIM115
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        self.bin.mkdir(exist_ok=True)
        wrapper = self.bin / "ssh"
        wrapper.write_text(
            f"#!/bin/sh\nexec {ssh} -F /dev/null -o UserKnownHostsFile={known} "
            "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes "
            f'-o ConnectTimeout=10 -i {self.client_key} "$@"\n'
        )
        wrapper.chmod(0o755)
        for node in self.bed.nodes:
            wait_until(lambda node=node: self._answers(node), 30, f"sshd on {node.name}",
                       interval=0.3)  # fmt: skip

    def _sshd_config(self, node, authorized: Path) -> str:
        return "\n".join([
            f"ListenAddress {node.address}:22",
            f"HostKey {self.host_key}",
            f"PidFile {self.workdir / f'sshd_{node.index}.pid'}",
            f"AuthorizedKeysFile {authorized}",
            f"AllowUsers {self.user}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no",
            "X11Forwarding no", "AllowTcpForwarding no", "PrintMotd no",
            # This node's engine is the one a session's docker CLI talks to.
            f"SetEnv DOCKER_HOST=unix://{node.socket}",
            "",
        ])  # fmt: skip

    def _answers(self, node) -> bool:
        probe = self.bed.in_hub(str(self.bin / "ssh"), f"{self.user}@{node.address}", "true",
                                timeout=20, check=False)  # fmt: skip
        return probe.returncode == 0

    def hosts(self) -> list[str]:
        return [f"{self.user}@{node.address}" for node in self.bed.nodes]

    def swarm_init(self) -> float:
        """``just swarm-init`` over SSH from the hub (where the operator's machine would be)."""
        just = venv_tool("just")
        env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "DOCKER": CLI,
               "SWARM_DEFAULT_ADDR_POOL": "10.78.0.0/16"}  # fmt: skip
        env.pop("DOCKER_HOST", None)
        argv = ["env", *(f"{key}={value}" for key, value in env.items()), just, "--justfile",
                str(REPO / "justfile"), "swarm-init", *self.hosts()]  # fmt: skip
        started = time.monotonic()
        done = self.bed.in_hub(*argv, timeout=300, check=False)
        if done.returncode != 0:
            pytest.fail(f"just swarm-init failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        print(done.stdout, file=sys.stderr)
        return time.monotonic() - started
