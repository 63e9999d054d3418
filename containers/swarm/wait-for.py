"""Entrypoint wait for the swarm stack: block until every host:port accepts, then exec.

Swarm has no ``depends_on`` conditions, so a task waits here (up to ADMIN2_WAIT_SECONDS,
default 300) and fails after; swarm restarts it. Usage: wait-for.py db:5432 redis:6379 -- CMD
"""

import os
import socket
import sys
import time


def main(argv: list[str]) -> None:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.exit("usage: wait-for.py HOST:PORT... -- COMMAND [ARG...]")
    split = argv.index("--")
    targets, command = argv[:split], argv[split + 1 :]
    deadline = time.monotonic() + float(os.environ.get("ADMIN2_WAIT_SECONDS", "300"))
    for target in targets:
        host, _, port = target.rpartition(":")
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    sys.exit(f"wait-for: {target} still unreachable: {error}")
                time.sleep(1)
        print(f"wait-for: {target} accepts connections", flush=True)
    os.execvp(command[0], command)  # noqa: S606 (an exec wrapper: argv as given)


if __name__ == "__main__":
    main(sys.argv[1:])
