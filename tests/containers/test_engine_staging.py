"""The staging stack on the real Docker Engine, with its source mounted as the Compose file
says (``..:/app``): a copy of this checkout, so the test can edit it. Through Nginx on its
published 127.0.0.1 port, a change to a view and to a template shows without restarting any
container, and the Celery worker (watchfiles) restarts its process on a Python change.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from harness import engine
from harness.engine_stack import ComposeStack
from harness.processes import REPO, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.timeout(900)]


def copy_checkout(target: Path) -> None:
    """Tracked and new (not ignored) files of this checkout, as the staging mount sees them."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=False,
    )  # fmt: skip
    if listing.returncode == 0:
        listed = listing.stdout.decode().split("\0")
    else:  # an exported tree without .git: everything but local state
        skip = {".git", ".venv", "var", "test-results", "__pycache__", "node_modules"}
        listed = [
            str(path.relative_to(REPO)) for path in REPO.rglob("*")
            if path.is_file() and not skip & set(path.relative_to(REPO).parts)
        ]  # fmt: skip
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and not name.startswith(("containers/secrets/", "containers/certs/")):
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    for path in [target, *target.rglob("*")]:  # the container user (10001) reads it all
        if path.is_dir():
            path.chmod(0o755)


@pytest.fixture(scope="module")
def staging():
    engine.require_engine()
    engine.ensure_images()
    engine.build_app("staging", f"admin2-staging:{engine.TEST_TAG}")
    workdir = Path(tempfile.mkdtemp(prefix="admin2-e2e-staging-"))
    workdir.chmod(0o755)
    checkout = workdir / "checkout"
    copy_checkout(checkout)
    stack = ComposeStack("staging", workdir / "stack", engine.TEST_TAG)
    stack.file = checkout / "containers" / "docker-compose.staging.yml"
    stack.checkout = checkout
    try:
        started = time.monotonic()
        stack.up()
        engine.log(f"staging.up_to_healthy: {time.monotonic() - started:.1f} s")
        yield stack
    finally:
        if stack.down_unless_kept():
            shutil.rmtree(workdir, ignore_errors=True)


def get(stack: ComposeStack, path: str) -> requests.Response:
    return requests.get(f"{stack.http}{path}", timeout=20)


def started_at(stack: ComposeStack, service: str) -> tuple[str, int]:
    state = stack.inspect(service)
    return state["State"]["StartedAt"], state["RestartCount"]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def test_staging_is_healthy_and_serves_through_nginx_on_loopback(staging):
    for service in ("web", "celery", "celery-beat", "redis", "nginx"):
        assert staging.health(service) == "healthy", service
    assert get(staging, "/healthz").text == "ok\n"
    assert get(staging, "/admin/login/").status_code == 200
    bindings = staging.inspect("nginx")["HostConfig"]["PortBindings"]
    assert all(b["HostIp"] == "127.0.0.1" for v in bindings.values() for b in v)


def test_a_view_change_in_the_mounted_source_shows_without_a_restart(staging):
    before = started_at(staging, "web")
    views = staging.checkout / "src" / "admin2" / "admin2" / "views.py"
    edit(views, 'return HttpResponse("ok\\n", content_type="text/plain")',
         'return HttpResponse("ok, reloaded\\n", content_type="text/plain")')  # fmt: skip

    def reloaded():
        try:
            return get(staging, "/healthz").text == "ok, reloaded\n"
        except requests.RequestException:
            return False  # the dev server is restarting its process

    wait_until(reloaded, 60, "the dev server to serve the changed view")
    assert started_at(staging, "web") == before


def test_a_template_change_shows_without_a_restart(staging):
    before = started_at(staging, "web")
    templates = staging.checkout / "src" / "admin2" / "admin2" / "templates"
    template = templates / "admin2" / "login.html"
    marker = "<!-- staging-hot-reload-marker -->"
    edit(template, '<div id="content-main">', f'<div id="content-main">{marker}')
    wait_until(lambda: "staging-hot-reload-marker" in get(staging, "/admin/login/").text,
               60, "the changed template")  # fmt: skip
    assert started_at(staging, "web") == before


def worker_pids(stack: ComposeStack) -> set[str]:
    """Host PIDs of the Celery worker processes watchfiles runs in the celery container."""
    top = engine.docker("top", stack.container("celery"), "-eo", "pid,args").stdout.decode()
    return {line.split()[0] for line in top.splitlines()[1:] if "admin2_tasks worker" in line
            and "watchfiles" not in line}  # fmt: skip


def test_the_celery_worker_restarts_its_process_on_a_python_change(staging):
    before = started_at(staging, "celery")
    old = wait_until(lambda: worker_pids(staging), 60, "the worker processes")
    tasks = staging.checkout / "src" / "admin2_tasks" / "admin2_tasks" / "tasks.py"
    tasks.write_text(tasks.read_text() + "\n# staging: a change watchfiles sees\n")

    def restarted():
        now = worker_pids(staging)
        return now and not now & old

    wait_until(restarted, 90, "watchfiles to restart the worker process")
    assert started_at(staging, "celery") == before  # the process, not the container
    staging.wait_healthy("celery", 120)
