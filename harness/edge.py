"""The production Nginx in front of a native web server, built from the Compose files.

The containers area lays the site out exactly as the container renders it
(``harness/native.py``); here it gets TLS on, a throwaway certificate, and a loopback
port for the web service instead of the ``web`` replicas.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import compose
from harness.native import (
    nginx_tree,
    self_signed_certificate,
    start_nginx,
    world_readable_dir,
)
from harness.nginx import Nginx
from harness.processes import free_port


@dataclass
class Edge:
    url: str  # https://127.0.0.1:PORT, the site as staff reach it
    certificate: Path  # what clients verify the site against
    nginx: Nginx


@contextmanager
def production_edge(web_port: int, static_root: Path) -> Iterator[Edge]:
    nginx_env = compose.resolved("production")["services"]["nginx"]["environment"]
    with world_readable_dir("admin2-edge-") as root:
        volumes = {name: root / "volumes" / name for name in ("media", "certs")}
        for directory in volumes.values():
            directory.mkdir(parents=True)
        # Nginx workers run as nobody and pytest's tmp_path is private to root: serve a copy
        # of the collected files, as the release job copies them into the static volume.
        volumes["static"] = root / "volumes" / "static"
        shutil.copytree(static_root, volumes["static"])
        for path in [volumes["static"], *volumes["static"].rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        self_signed_certificate(
            volumes["certs"], nginx_env["NGINX_TLS_CERT"], nginx_env["NGINX_TLS_KEY"]
        )
        port, tls_port = free_port(), free_port()
        env = {"PORT_NGINX": str(port), "NGINX_TLS_PORT": str(tls_port), "NGINX_TLS": "on"}
        main = nginx_tree("production", root / "tree", web_port=web_port, volumes=volumes, env=env)
        (root / "run").mkdir()
        nginx = start_nginx(root / "run", main, port, tls_port)
        try:
            yield Edge(
                url=f"https://127.0.0.1:{tls_port}",
                certificate=volumes["certs"] / nginx_env["NGINX_TLS_CERT"],
                nginx=nginx,
            )
        finally:
            nginx.stop()
