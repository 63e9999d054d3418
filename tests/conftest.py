from __future__ import annotations

import os

import pytest

from tests.support.processes import port_open


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The machine's Redis on 127.0.0.1:6379, or a private redis-server on a free port."""
    from tests.support.redis import RedisServer

    configured = os.environ.get("ADMIN2_TEST_REDIS_URL")
    if configured:
        yield _with_stack_password(configured)
        return
    if port_open(6379):
        yield "redis://127.0.0.1:6379/15"
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url(15)
    server.stop()


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
    from tests.support.smtp import start_sink

    controller, inbox = start_sink()
    yield controller.port, inbox
    controller.stop()
