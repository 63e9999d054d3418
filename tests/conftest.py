from __future__ import annotations

import os

import pytest

from tests.support.services import port_open


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The machine's Redis on 127.0.0.1:6379, or a private redis-server on a free port."""
    from tests.support.redis import RedisServer

    configured = os.environ.get("ADMIN2_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    if port_open(6379):
        yield "redis://127.0.0.1:6379/15"
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url(15)
    server.stop()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "staff", "staff@example.com", "staff-password-1", is_staff=True
    )


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1")
