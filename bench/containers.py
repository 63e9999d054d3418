"""Benchmark ``containers``: image sizes, cold and warm builds, seconds from ``up`` to healthy.

On this machine's Docker Engine, from one run: image sizes, cold and warm builds, the
production stack's ``up --wait`` to healthy, and a code deploy over SSH under traffic.
What each figure is: docs/benchmarks.md, "containers".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import deployed, markdown_table, publish  # noqa: E402
from harness import engine  # noqa: E402

TAG = "bench"


def build(target: str, tag: str, *extra: str, context: Path = REPO) -> float:
    started = time.monotonic()
    result = subprocess.run(
        [engine.docker_cli(), "build", "--file", str(context / "containers" / "Dockerfile"),
         "--target", target, "--tag", tag, *extra, str(context)],
        capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"},
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"build failed:\n{result.stderr[-3000:]}")
    return time.monotonic() - started


# python:3.11-slim-bookworm on amd64 as docker-library/repo-info publishes it (Virtual Size,
# repos/python/local/3.11-slim-bookworm.md, 3.11.16): the base this image ships on.
OFFICIAL_PYTHON_BASE_MB = 130.0


def size_mb(image: str) -> float:
    out = subprocess.run([engine.docker_cli(), "image", "inspect", "--format", "{{.Size}}", image],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return int(out.strip()) / 1e6


def python_base() -> str:
    """The image the Dockerfile's stages start from (its first FROM)."""
    from harness.dockerfile import stages

    return stages()["base"].base


def venv_mb(image: str) -> float:
    out = subprocess.run(
        [engine.docker_cli(), "run", "--rm", "--entrypoint", "du", image, "-sm", "/opt/venv"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(out.split()[0])


def changed_context(tmp: Path) -> Path:
    """This tree's build context with one line added to one source file."""
    context = tmp / "context"
    shutil.copytree(REPO, context, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "test-results", "__pycache__", "node_modules", ".hypothesis",
    ))  # fmt: skip
    marker = context / "src" / "admin2" / "admin2" / "__init__.py"
    # unique per run: the same change would be found in the build cache of an earlier run
    marker.write_text(marker.read_text() + f"\n# bench: a source change {time.time_ns()}\n")
    return context


def up_to_healthy() -> float:
    from harness.engine_stack import ComposeStack

    workdir = Path(tempfile.mkdtemp(prefix="admin2-bench-stack-"))
    workdir.chmod(0o755)
    stack = ComposeStack("production", workdir, TAG)
    try:
        return stack.up()
    finally:
        stack.down()
        shutil.rmtree(workdir, ignore_errors=True)


def code_deploy() -> dict:
    """First deploy, then a code-only release under a request loop through Nginx."""
    from harness.deploy_world import RequestLoop, destroy, make_world

    world = make_world(Path(tempfile.mkdtemp(prefix="admin2-bench-deploy-")))
    try:
        deployed(world.deploy(), "first")
        world.release("bench: code only", {"src/admin2/admin2/bench_release.py": "B = 1\n"})
        with RequestLoop(world) as loop:
            code = deployed(world.deploy(), "code")
        return {"deploy_s": round(code.seconds, 1),
                "deploy_switch_s": round(world.switch_seconds(), 1),
                "deploy_requests": loop.total, "deploy_failed_requests": loop.failed}  # fmt: skip
    finally:
        destroy(world)


def main() -> None:
    engine.require_engine()
    images = engine.ensure_images()
    print(f"registry images: {json.dumps(images)}", flush=True)
    production, staging = f"admin2:{TAG}", f"admin2-staging:{TAG}"
    cold = build("production", production, "--no-cache")
    warm = build("production", production)
    with tempfile.TemporaryDirectory() as tmp:
        source_change = build("production", f"admin2:{TAG}-changed",
                              context=changed_context(Path(tmp)))  # fmt: skip
    staging_build = build("staging", staging)
    healthy = up_to_healthy()
    deploy = code_deploy()
    production_mb, base_mb = size_mb(production), size_mb(python_base())
    over_base_mb = production_mb - base_mb
    run = {
        "production_image_mb": round(production_mb, 1),
        "production_venv_mb": round(venv_mb(production), 1),
        "production_over_base_mb": round(over_base_mb, 1),
        "python_base_mb": round(base_mb, 1),
        "production_on_official_base_mb": round(over_base_mb + OFFICIAL_PYTHON_BASE_MB, 1),
        "staging_image_mb": round(size_mb(staging), 1),
        "staging_venv_mb": round(venv_mb(staging), 1),
        "cold_build_s": round(cold, 1),
        "warm_build_s": round(warm, 1),
        "source_change_build_s": round(source_change, 1),
        "staging_build_after_production_s": round(staging_build, 1),
        "up_to_healthy_s": round(healthy, 1),
        **deploy,
        "base_images": images,
    }
    subprocess.run([engine.docker_cli(), "image", "rm", f"admin2:{TAG}-changed"],
                   capture_output=True, check=False)  # fmt: skip
    table = markdown_table(
        ["figure", "value"],
        [["production image", f"{run['production_image_mb']:.0f} MB "
                               f"(venv {run['production_venv_mb']:.0f} MB)"],
         ["production image over its Python base",
          f"{run['production_over_base_mb']:.0f} MB (base {run['python_base_mb']:.0f} MB)"],
         ["production image on the official base (its published "
          f"{OFFICIAL_PYTHON_BASE_MB:.0f} MB plus the line above)",
          f"{run['production_on_official_base_mb']:.0f} MB"],
         ["staging image", f"{run['staging_image_mb']:.0f} MB "
                            f"(venv {run['staging_venv_mb']:.0f} MB)"],
         ["cold build, production (`--no-cache`)", f"{run['cold_build_s']:.1f} s"],
         ["warm build, nothing changed", f"{run['warm_build_s']:.1f} s"],
         ["warm build, one source file changed", f"{run['source_change_build_s']:.1f} s"],
         ["staging build, its layers cached from earlier builds",
          f"{run['staging_build_after_production_s']:.1f} s"],
         ["`up --wait` to all healthy, production with TLS", f"{run['up_to_healthy_s']:.1f} s"],
         ["code deploy over SSH, whole", f"{run['deploy_s']:.1f} s"],
         ["deploy switch, new replicas to Nginx on the new release",
          f"{run['deploy_switch_s']:.1f} s"],
         ["requests failed through Nginx during the deploy",
          f"{run['deploy_failed_requests']} of {run['deploy_requests']}"]],
    )  # fmt: skip
    notes = (
        "Base images are the tests' local stand-ins (no registry here; docs/containers.md), "
        "built from Debian's packages and slimmed as Debian's official slim images are (no "
        "docs, manuals, translations or package lists): the Debian base weighs what "
        "debian:bookworm-slim does, and the Python stand-in carries Debian's python3.11 where "
        "the official image has its own build. The cold build "
        "downloads every wheel from PyPI again. The deploy figures are from the second of two "
        "deploys to a server checkout on this machine, a code-only release, with a request "
        "loop on /healthz through Nginx running throughout."
    )
    publish("containers", [run], table, notes)


if __name__ == "__main__":
    main()
