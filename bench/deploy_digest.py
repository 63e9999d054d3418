"""A code release deployed by digest (built once on the laptop, pulled by the server) against
the same kind of release built on the server, the old way, on one deploy world in one run.

``python bench/run.py deploy_digest`` (minutes: the Docker Engine, a registry on loopback).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import deployed, markdown_table, publish
from harness.deploy_world import RequestLoop, destroy, make_world


def main() -> None:
    world = make_world(Path(tempfile.mkdtemp(prefix="admin2-bench-digest-")))
    try:
        first = deployed(world.deploy(), "first")
        started = time.monotonic()
        world.release("bench: code only, by digest", {"src/admin2/admin2/bench_b.py": "B = 1\n"})
        release_s = time.monotonic() - started
        with RequestLoop(world) as digest_loop:
            digest = deployed(world.deploy(), "by digest")
        world.allow_server_builds()
        world.release(
            "bench: code only, built on the server", {"src/admin2/admin2/bench_c.py": "C = 1\n"},
            publish=False,
        )  # fmt: skip
        with RequestLoop(world) as build_loop:
            built = deployed(
                world.deploy(ADMIN2_REGISTRY="", DEPLOY_BUILD_ON_SERVER="yes"), "built on server"
            )
    finally:
        destroy(world)
    run = {
        "first_deploy_by_digest_s": round(first.seconds, 1),
        "release_on_laptop_s": round(release_s, 1),
        "deploy_by_digest_s": round(digest.seconds, 1),
        "deploy_built_on_server_s": round(built.seconds, 1),
        "by_digest_failed_requests": f"{digest_loop.failed} of {digest_loop.total}",
        "built_on_server_failed_requests": f"{build_loop.failed} of {build_loop.total}",
        # When and how the failures came (HH:MM:SS status or exception): a deploy's own gap
        # shows as one burst, a loaded machine's timeouts as a scatter.
        "by_digest_failures": digest_loop.failures[:40],
        "built_on_server_failures": build_loop.failures[:40],
    }
    labels = {
        "first_deploy_by_digest_s": "first deploy by digest (the whole image pulled), s",
        "release_on_laptop_s": "`just release` of a code change (laptop: build, push), s",
        "deploy_by_digest_s": "code deploy by digest (server: pull, migrate, switch), s",
        "deploy_built_on_server_s": "code deploy built on the server (the old way), s",
        "by_digest_failed_requests": "failed requests through Nginx, by digest",
        "built_on_server_failed_requests": "failed requests through Nginx, built on server",
    }
    table = markdown_table(["figure", "value"], [[labels[k], run[k]] for k in labels])
    notes = (
        "One deploy world (harness/deploy_world.py): sshd, a docker-registry and the "
        "server on this machine, one Docker Engine shared by the laptop and the server, so the "
        "server's build has the laptop's warm BuildKit cache, as a server that built the "
        "previous release would. The first deploy pulls the whole image from the registry "
        "(the laptop's copy is removed after the push)."
    )
    publish("deploy_digest", [run], table, notes)


if __name__ == "__main__":
    main()
