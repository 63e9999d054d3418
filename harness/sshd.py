"""A private OpenSSH server on 127.0.0.1 for the deploy tests: the "production server".

Debian's `/usr/sbin/sshd` in the foreground with a temporary configuration: a generated host
key, key-based login for the current user only (root included, with a key), nothing else.
The client side gets a matching known_hosts file, so host-key checking stays on.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

from harness.processes import (
    ManagedProcess,
    free_port,
    port_open,
    require_binary,
    wait_until,
)


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "admin2-tests", "-f", str(path)],
        check=True,
    )


class SshServer:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.user = getpass.getuser()
        self.port = 0
        self.host_key = workdir / "ssh_host_ed25519_key"
        self.client_key = workdir / "id_ed25519"
        self.known_hosts = workdir / "known_hosts"
        self.config = workdir / "sshd_config"
        self.process: ManagedProcess | None = None

    def start(self) -> SshServer:
        sshd = require_binary("sshd", "Debian package openssh-server")
        require_binary("ssh", "Debian package openssh-client")
        if os.geteuid() == 0:
            # sshd refuses to start as root without its privilege-separation directory.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        _keygen(self.host_key)
        _keygen(self.client_key)
        authorized = self.workdir / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        self.port = free_port()
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.workdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    f"AllowUsers {self.user}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "UsePAM no",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    "PrintMotd no",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        self.process = ManagedProcess(
            [sshd, "-D", "-e", "-f", str(self.config)], log=self.workdir / "sshd.log"
        )
        wait_until(self._answers, 15, f"sshd on 127.0.0.1:{self.port}")
        public = self.host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        return self

    def _answers(self) -> bool:
        if self.process and not self.process.alive():
            raise AssertionError(f"sshd exited:\n{self.process.output()}")
        return port_open(self.port)

    def client_options(self) -> list[str]:
        """ssh options that trust exactly this server and use exactly this key."""
        return [
            "-F",
            "/dev/null",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-i",
            str(self.client_key),
        ]

    def ssh(self, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        target = f"{self.user}@127.0.0.1"
        return subprocess.run(
            ["ssh", *self.client_options(), "-p", str(self.port), target, command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def log(self) -> str:
        log = self.workdir / "sshd.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.process:
            self.process.stop()
