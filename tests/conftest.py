"""Fixtures every area shares, and the hooks that time the run and spread it over workers."""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from pathlib import Path

import pytest

from harness.processes import port_open
from tests.support import tiers
from tests.support.budget import Timings

# Figures that tests gather in module-level state, printed as sections at the end of the run.
# Under pytest-xdist each worker gathers its own; the controller merges them (below).
FIGURES = {
    "tests.fuzz.tally": "fuzz: inputs tried and server errors seen",
    "tests.faults.measured": "faults: what the tests measured",
}


def pytest_configure(config):
    if not _is_worker(config) and config.getoption("numprocesses", None):
        # Workers inherit the environment: they tell the scheduler here how tests group.
        units = Path(tempfile.mkdtemp(prefix="admin2-units-")) / "units.json"
        os.environ[tiers.UNITS_FILE] = str(units)


def pytest_addoption(parser):
    parser.addoption(
        "--database-facing", action="store_true",
        help="run only the tests that use the Django database (the SQLite pass)",
    )  # fmt: skip


_timings = Timings()
_started = time.monotonic()


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if config.getoption("database_facing"):
        kept = [item for item in items if tiers.database_facing(item)]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    tiers.heaviest_first(items)
    if _is_worker(config):
        tiers.publish_units(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    config.option.loadscopereorder = False  # keep heaviest_first's order
    return tiers.UnitScheduling(config, log)


def pytest_runtest_logreport(report):
    _timings.add(report)


def pytest_sessionfinish(session):
    config = session.config
    if _is_worker(config):
        config.workeroutput["admin2_figures"] = {
            name: importlib.import_module(name).export() for name in FIGURES
        }
        return
    target = os.environ.get("ADMIN2_TEST_TIMINGS")
    if target:
        label = os.environ.get("ADMIN2_TEST_DB", "postgres")
        _timings.write(Path(target), label, time.monotonic() - _started)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for name, exported in getattr(node, "workeroutput", {}).get("admin2_figures", {}).items():
        importlib.import_module(name).merge(exported)


def pytest_terminal_summary(terminalreporter):
    for name, title in FIGURES.items():
        lines = importlib.import_module(name).summary_lines()
        if lines:
            terminalreporter.section(title)
            for line in lines:
                terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The machine's Redis on 127.0.0.1:6379, or a private redis-server on a free port."""
    from harness.redis import RedisServer

    configured = os.environ.get("ADMIN2_TEST_REDIS_URL")
    if configured:
        yield _with_stack_password(configured)
        return
    if port_open(6379):
        yield f"redis://127.0.0.1:6379/{15 - _worker_number()}"
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url(15)
    server.stop()


def _worker_number() -> int:
    """0 without pytest-xdist; n on worker ``gw<n>``, so workers never share a Redis database."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def _with_stack_password(url: str) -> str:
    """In the devcontainer the stack's Redis wants the stack's password (REDIS_PASSWORD_FILE)."""
    from urllib.parse import quote

    from settings.env import env_str, url_password

    password = env_str("REDIS_PASSWORD", "", secret=True)
    if not password or url_password(url):
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://:{quote(password, safe='')}@{rest}"


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "staff", "staff@example.com", "staff-password-1", is_staff=True
    )


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1")


@pytest.fixture
def logged_in(client, db):
    """``logged_in(*permissions, username=...)``: a staff user holding exactly those
    permissions ("app_label.codename"), logged in on ``client``; returns the user."""
    from tests.support.users import make_user

    def log_in(*permissions: str, username: str = "staff-user", superuser: bool = False):
        user = make_user(username, *permissions, superuser=superuser)
        client.force_login(user)
        return user

    return log_in


@pytest.fixture
def smtp_sink():
    """``(port, inbox)`` of a local SMTP sink; ``inbox.messages`` holds what arrived."""
    from harness.smtp import start_sink

    controller, inbox = start_sink()
    yield controller.port, inbox
    controller.stop()
