"""Pebble, Let's Encrypt's ACME test server (Debian package `pebble`), on 127.0.0.1.

It validates HTTP-01 challenges at localhost:<http_port> (the production Nginx's plain port in
the deploy world) and keeps its state in memory. Its own HTTPS listener has a throwaway
certificate made by openssl; ``listener_ca`` is what a client must trust to talk to it.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

from harness.native import self_signed_certificate
from harness.processes import (
    ManagedProcess,
    free_port,
    port_open,
    require_binary,
    wait_until,
)


class Pebble:
    def __init__(self, workdir: Path, http_port: int):
        self.workdir, self.http_port = workdir, http_port
        self.port = self.management_port = 0
        self.process: ManagedProcess | None = None

    @property
    def directory(self) -> str:
        return f"https://localhost:{self.port}/dir"

    @property
    def listener_ca(self) -> Path:
        return self.workdir / "listener.pem"

    def start(self) -> Pebble:
        binary = require_binary("pebble", "Debian package pebble")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self_signed_certificate(self.workdir, "listener.pem", "listener-key.pem")
        self.port, self.management_port = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(self.listener_ca),
                "privateKey": str(self.workdir / "listener-key.pem"),
                "httpPort": self.http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (self.workdir / "pebble.json").write_text(json.dumps(config))
        # No random nonce rejections and no reused authorizations: every order is validated
        # over HTTP-01 for real; no sleeps before validation.
        env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
        self.process = ManagedProcess(
            [binary, "-config", str(self.workdir / "pebble.json")],
            env=env,
            log=self.workdir / "pebble.log",
        )
        wait_until(lambda: port_open(self.management_port), 30, "pebble's management port")
        return self

    def root_ca(self) -> Path:
        """Pebble's root (a new one at every start), to verify what it issued."""
        context = ssl.create_default_context(cafile=str(self.listener_ca))
        url = f"https://localhost:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            path = self.workdir / "root.pem"
            path.write_bytes(response.read())
        return path

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None
