"""A stand-in `docker` CLI for the deploy tests that run without a Docker engine.

Not a fake of the deploy: the real deploy script runs over real SSH against it. It replaces
only the engine, with just enough state (a JSON file) to answer what the deploy asks, and
logs every call so the tests can assert the order of operations.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

# Set by the wrapper script the tests put on the remote PATH: environment variables do not
# cross SSH.
STATE_DIR = Path(os.environ["STANDIN_DOCKER_STATE"])
STATE_FILE = STATE_DIR / "state.json"
LOG_FILE = STATE_DIR / "calls.jsonl"
IMAGE = "admin2"
# From deploy/services, the one list (read here directly: this runs as a script, outside the
# test package): the admin2 image's services, and what `up` with no names starts.
_SERVICES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "services"
_ROWS = [
    line.split()
    for line in _SERVICES_FILE.read_text().splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
_PRODUCTION = [row for row in _ROWS if "production" in row[1].split(",")]
APP_SERVICES = {name for name, _, image, _ in _PRODUCTION if image == "app"}
ALL_SERVICES = [name for name, _, _, role in _PRODUCTION if role != "job"]


def load() -> dict:
    if STATE_FILE.exists():
        return json.loads(STATE_FILE.read_text())
    return {"images": [], "containers": [], "seq": 0}


def save(state: dict) -> None:
    STATE_FILE.write_text(json.dumps(state, indent=1))


def git_head(cwd: Path) -> str | None:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else None


def lock_held(cwd: Path) -> bool | None:
    lock = cwd / ".deploy" / "lock"
    if not lock.exists():
        return None
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def record(argv: list[str]) -> None:
    # Each call with what the "server" looked like at that moment (checked-out commit, whether
    # the deploy lock is held), so the tests can assert the order of operations.
    cwd = Path.cwd()
    entry = {
        "argv": argv,
        "tag": (
            argv[argv.index("--tag") + 1].split(":", 1)[1]
            if argv[:1] == ["build"]
            else os.environ.get("ADMIN2_IMAGE_TAG")
        ),
        "head": git_head(cwd),
        "lock_held": lock_held(cwd),
    }
    with open(LOG_FILE, "a") as log:
        log.write(json.dumps(entry) + "\n")


# Failure switches, files in the state directory: `unhealthy-tag` (containers of the image tag
# written in it report unhealthy and their in-container /readyz probe fails) and
# `fail-migrate` (`compose run --rm migrate` exits 1).
def unhealthy_tag() -> str | None:
    flag = STATE_DIR / "unhealthy-tag"
    return flag.read_text().strip() if flag.exists() else None


def new_container(state: dict, service: str, tag: str) -> dict:
    state["seq"] += 1
    container = {"id": f"c{state['seq']:04d}{service.replace('-', '')}", "service": service}
    container["tag"] = tag if service in APP_SERVICES else "-"
    container["running"] = True
    state["containers"].append(container)
    return container


def find(state: dict, ident: str) -> dict | None:
    return next((c for c in state["containers"] if c["id"] == ident), None)


def fail(message: str, code: int = 1) -> int:
    print(f"stand-in docker: {message}", file=sys.stderr)
    return code


def compose(state: dict, args: list[str]) -> int:
    while args and args[0].startswith("-"):
        # global options: -f FILE, --env-file FILE, -p NAME, --profile NAME
        args = args[2:]
    if not args:
        return fail("compose: no subcommand")
    sub, rest = args[0], args[1:]
    tag = os.environ.get("ADMIN2_IMAGE_TAG", "latest")
    if sub == "version":
        print("Docker Compose version v2 (stand-in)")
        return 0
    if sub == "build":
        if tag not in state["images"]:
            state["images"].append(tag)
        print(f"built {IMAGE}:{tag}")
        return 0
    if sub == "run" and rest[-2:] == ["migrate", "--check"]:
        return 0  # no migration pending: no pre-migration backup
    if sub == "run" and rest[-3:] == ["nginx", "nginx", "-t"]:
        return 0  # the release's Nginx configuration is fine
    if sub == "run":
        if (STATE_DIR / "fail-migrate").exists():
            return fail("migrate: django.db.utils.OperationalError (stand-in failure)")
        if tag not in state["images"]:
            return fail(f"pull access denied for {IMAGE}:{tag}")
        return 0
    if sub == "up":
        return compose_up(state, rest, tag)
    if sub == "ps":
        services = [a for a in rest if not a.startswith("-")]
        for c in state["containers"]:
            if c["running"] and (not services or c["service"] in services):
                print(c["id"] if "-q" in rest else f"{c['id']} {c['service']} {c['tag']}")
        return 0
    if sub == "exec":
        service = next(a for a in rest if not a.startswith("-"))
        running = [c for c in state["containers"] if c["service"] == service and c["running"]]
        return 0 if running else fail(f"service {service!r} is not running")
    return fail(f"unsupported compose command: {sub}", 2)


def compose_up(state: dict, rest: list[str], tag: str) -> int:
    scale: dict[str, int] = {}
    services: list[str] = []
    index = 0
    while index < len(rest):
        arg = rest[index]
        if arg == "--scale":
            name, count = rest[index + 1].split("=")
            scale[name] = int(count)
            index += 2
            continue
        if not arg.startswith("-"):
            services.append(arg)
        index += 1
    no_recreate = "--no-recreate" in rest
    for service in services or ALL_SERVICES:
        if service in APP_SERVICES and tag not in state["images"]:
            return fail(f"pull access denied for {IMAGE}:{tag}")
        mine = [c for c in state["containers"] if c["service"] == service and c["running"]]
        wanted = scale.get(service, max(1, len(mine)))
        if not no_recreate:
            for c in mine:
                if service in APP_SERVICES and c["tag"] != tag:
                    state["containers"].remove(c)
                    new_container(state, service, tag)
            mine = [c for c in state["containers"] if c["service"] == service and c["running"]]
        for _ in range(wanted - len(mine)):
            new_container(state, service, tag)
    return 0


def main(argv: list[str]) -> int:
    record(argv)
    state = load()
    try:
        if not argv:
            return fail("no command", 2)
        command, rest = argv[0], argv[1:]
        if command == "compose":
            return compose(state, rest)
        if command == "inspect":
            return inspect(state, rest)
        if command == "build":
            # docker build --tag admin2:TAG ... (BuildKit, as the release script builds)
            tag = rest[rest.index("--tag") + 1].split(":", 1)[1]
            if tag not in state["images"]:
                state["images"].append(tag)
            print(f"built {IMAGE}:{tag}")
            return 0
        if command == "builder":
            return 0  # builder prune
        if command == "exec":
            container = find(state, rest[0])
            if not container or not container["running"]:
                return fail(f"no running container {rest[0]}")
            return 1 if container["tag"] == unhealthy_tag() else 0
        if command in ("stop", "rm"):
            ids = [a for a in rest if not a.startswith("-") and not a.isdigit()]
            for ident in ids:
                container = find(state, ident)
                if not container:
                    return fail(f"no such container: {ident}")
                if command == "stop":
                    container["running"] = False
                else:
                    state["containers"].remove(container)
                print(ident)
            return 0
        if command == "logs":
            print("(stand-in) gunicorn: worker failed to boot")
            return 0
        if command == "image":
            return image(state, rest)
        return fail(f"unsupported command: {command}", 2)
    finally:
        save(state)


def inspect(state: dict, rest: list[str]) -> int:
    ids = [a for i, a in enumerate(rest) if not a.startswith("-") and rest[i - 1] != "--format"]
    for ident in ids:
        container = find(state, ident)
        if not container:
            return fail(f"no such object: {ident}")
        if "{{.State.Status}}" in rest:
            print("running" if container["running"] else "exited")
        elif not container["running"]:
            print("exited")
        elif container["tag"] == unhealthy_tag():
            print("unhealthy")
        else:
            print("healthy")
    return 0


def image(state: dict, rest: list[str]) -> int:
    sub, args = rest[0], rest[1:]
    if sub == "ls":
        for tag in state["images"]:
            print(tag)
        return 0
    reference = args[-1]
    tag = reference.split(":", 1)[1]
    if sub == "inspect":
        return 0 if tag in state["images"] else fail(f"no such image: {reference}")
    if sub == "rm":
        if any(c["tag"] == tag for c in state["containers"]):
            return fail(f"image {reference} is used by a container")
        if tag not in state["images"]:
            return fail(f"no such image: {reference}")
        state["images"].remove(tag)
        print(f"Untagged: {reference}")
        return 0
    return fail(f"unsupported image command: {sub}", 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
