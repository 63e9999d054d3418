"""Web container health probe: GET /healthz here, exit 0 on 200 (standard library only).

Presents the first allowed host, since production does not list 127.0.0.1.
Usage: ``python /app/containers/healthcheck.py [PATH]`` (PATH defaults to /healthz).
"""

from __future__ import annotations

import http.client
import os
import sys


def probe_host(allowed_hosts: str) -> str:
    for host in (h.strip() for h in allowed_hosts.split(",")):
        if not host or host == "*":
            continue
        # ".example.com" allows example.com and its subdomains.
        return host.lstrip(".")
    return "localhost"


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    port = int(os.environ.get("PORT_WEB", "8000"))
    host = probe_host(os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", path, headers={"Host": host, "User-Agent": "admin2-healthcheck"})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"healthcheck: GET {path} on port {port}: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"healthcheck: GET {path} on port {port} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
