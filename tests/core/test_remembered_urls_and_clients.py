"""Per-process memories that make every page cheaper: static URLs from the manifest, the admin
URLs of the app list, and one Redis client per pool."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.contrib import admin
from django.test import RequestFactory, override_settings

from admin2.redis_cache import RedisCache
from admin2.storage import ManifestStaticFilesStorage


def storage_with(tmp_path, paths: dict) -> ManifestStaticFilesStorage:
    (tmp_path / "staticfiles.json").write_text(json.dumps({"version": "1.1", "paths": paths}))
    return ManifestStaticFilesStorage(location=tmp_path, base_url="/static/")


def test_static_urls_are_remembered(tmp_path, settings):
    settings.DEBUG = False
    storage = storage_with(tmp_path, {"a.css": "a.111.css"})
    with mock.patch.object(storage, "stored_name", wraps=storage.stored_name) as looked_up:
        assert storage.url("a.css") == "/static/a.111.css"
        assert storage.url("a.css") == "/static/a.111.css"
    assert looked_up.call_count == 1
    settings.DEBUG = True  # development serves the names as they are
    assert storage.url("a.css") == "/static/a.css"


def test_a_missing_static_file_is_still_an_error(tmp_path, settings):
    settings.DEBUG = False
    storage = storage_with(tmp_path, {})
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("gone.css")


def test_collectstatic_forgets_the_remembered_urls(tmp_path, settings):
    settings.DEBUG = False
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.css").write_text("body { color: red }")
    storage = storage_with(tmp_path / "src", {"a.css": "a.old.css"})
    assert storage.url("a.css") == "/static/a.old.css"
    list(storage.post_process({"a.css": (storage, "a.css")}))  # what collectstatic does
    assert storage.url("a.css") not in ("/static/a.old.css", "/static/a.css")
    assert storage.url("a.css") == "/static/" + storage.hashed_files["a.css"]


@pytest.mark.django_db
def test_app_list_urls_follow_the_urlconf(superuser):
    def changelists(path):
        request = RequestFactory().get(path)
        request.user = superuser
        return {m["admin_url"] for app in admin.site.get_app_list(request) for m in app["models"]}

    assert "/admin/auth/user/" in changelists("/admin/")
    with override_settings(ROOT_URLCONF="tests.core.urls_elsewhere"):
        assert "/elsewhere/auth/user/" in changelists("/elsewhere/")
    assert "/admin/auth/user/" in changelists("/admin/")


def test_one_redis_client_per_pool(redis_url):
    cache = RedisCache(redis_url, {"OPTIONS": {"socket_connect_timeout": 2}})
    cache.set("admin2-test-client", {"n": 1}, 30)
    assert cache.get("admin2-test-client") == {"n": 1}
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache.get("admin2-test-client") == {"n": 1}
    assert cache._cache.get_client() is client
    cache.delete("admin2-test-client")
