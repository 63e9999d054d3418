"""The Redis cache never runs what it reads (security issue 12, finding 3).

Each test talks to a real, password-protected redis-server through the project's own cache
settings in a child ``admin2`` process. A value planted in Redis must never execute; what
admin2 itself caches must round-trip exactly.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import textwrap

import pytest
import redis as redis_lib

from harness.processes import django_env, run_admin2
from harness.redis import RedisServer

CACHE_DB = 3
KEY_PREFIX = "admin2:1:"  # components/cache.py's KEY_PREFIX and Django's version 1


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def raw(redis_server):
    """Redis as another local process sees it (with the password: the worst case)."""
    client = redis_lib.Redis(port=redis_server.port, password=redis_server.password, db=CACHE_DB)
    client.flushdb()
    yield client
    client.close()


def run_with_project_cache(redis_server, script: str) -> subprocess.CompletedProcess:
    """``script`` in ``admin2 shell`` with the cache the settings build from REDIS_URL.
    (The password is in the URL here, which every version of the settings accepted;
    REDIS_PASSWORD(_FILE) is tested in tests/containers/test_redis_password.py.)"""
    env = django_env(
        DJANGO_ENVIRONMENT="test",
        REDIS_URL=redis_server.url(CACHE_DB),
        DJANGO_LOG_FORMAT="text",
    )
    prologue = "from django.conf import settings\nfrom django.core.cache import cache\n"
    return run_admin2("shell", "-c", prologue + textwrap.dedent(script), env=env)


class RunsACommand:
    """What an attacker plants: unpickling it runs ``touch MARKER``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return subprocess.check_call, (["touch", self.marker],)


def test_a_pickle_planted_in_redis_is_a_miss_and_never_runs(redis_server, raw, tmp_path):
    marker = tmp_path / "planted-pickle-ran"
    raw.set(f"{KEY_PREFIX}analytics:result:v1:1:planted", pickle.dumps(RunsACommand(marker)))
    raw.set(f"{KEY_PREFIX}readyz-like", b"\x80\x04garbage that is not JSON")

    result = run_with_project_cache(
        redis_server,
        """
        print("GOT", repr(cache.get("analytics:result:v1:1:planted", "default")))
        print("GOT", repr(cache.get("readyz-like")))
        print("MANY", repr(cache.get_many(["analytics:result:v1:1:planted"])))
        """,
    )

    assert not marker.exists(), "the planted pickle ran a command in the admin2 process"
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("GOT")] == [
        "GOT None",
        "GOT None",
    ]
    assert "refused a value that admin2 did not write" in result.stdout + result.stderr


def test_what_admin2_caches_is_stored_as_json_and_read_back_exactly(redis_server, raw):
    # The shapes admin2_analytics.result_cache stores (a ResultSet of ClickHouse rows) and
    # the readiness probe's string, with every type the ClickHouse client returns.
    result = run_with_project_cache(
        redis_server,
        """
        import datetime as dt, ipaddress, math, uuid
        from decimal import Decimal
        from zoneinfo import ZoneInfo
        from django.utils import timezone

        berlin = dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
        rows = [
            (dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5), berlin, Decimal("12.345"),
             uuid.UUID("61f0c404-5cb3-11e7-907b-a6006ad3dba0"), ipaddress.IPv4Address("1.2.3.4"),
             ipaddress.IPv6Address("::1"), (1, "a"), [1, 2], {1: "x", 2: "y"}, {"a": 1},
             b"ab\\x00", 18446744073709551615, 2**200, float("inf"), None, True, 1.5,
             {"name": "x", "n": 2}, [(1, "a")], "Grüße ✓", dt.timedelta(days=3, seconds=5),
             dt.time(12, 34, 56), {"__admin2__": "a user value that looks like a tag"},
             frozenset({1, 2}), {(1, 2): dt.date(2024, 1, 1)}),
        ]
        stored = {
            "columns": [f"c{i}" for i in range(len(rows[0]))],
            "types": ["Date", "DateTime", "DateTime64(6, 'Europe/Berlin')"],
            "rows": rows,
            "row_count": 1,
            "elapsed_ms": 12.5,
            "truncated": False,
            "ran_at": timezone.now(),
            "cached_at": timezone.now(),
        }
        cache.set("analytics:result:v1:7:abc", stored, 300)
        cache.set("readyz", "1", 5)
        back = cache.get("analytics:result:v1:7:abc")

        def shape(value):
            if isinstance(value, (list, tuple, set, frozenset)):
                return [type(value).__name__, [shape(item) for item in value]]
            if isinstance(value, dict):
                return ["dict", [[shape(k), shape(v)] for k, v in value.items()]]
            tz = getattr(value, "tzinfo", None)
            return [type(value).__name__, repr(value), str(tz)]

        assert back == stored, (back, stored)
        assert shape(back) == shape(stored)
        assert back["rows"][0][2].tzinfo == ZoneInfo("Europe/Berlin")
        nan = cache.get_or_set("nan", float("nan"))
        assert math.isnan(cache.get("nan"))
        assert cache.get("readyz") == "1"
        cache.set("counter", 1)
        assert cache.incr("counter", 41) == 42 and cache.get("counter") == 42
        try:
            cache.set("model", settings)
        except TypeError as exc:
            print("REFUSED", exc)
        print("ROUND-TRIP OK")
        """,
    )

    assert result.returncode == 0, result.stderr
    assert "ROUND-TRIP OK" in result.stdout
    assert "REFUSED the admin2 cache stores JSON" in result.stdout
    stored = raw.get(f"{KEY_PREFIX}analytics:result:v1:7:abc")
    assert not stored.startswith(b"\x80"), "still a pickle"
    document = json.loads(stored)
    assert document["row_count"] == 1 and document["truncated"] is False
    assert raw.get(f"{KEY_PREFIX}counter") == b"42"  # an integer stays a Redis integer


def test_a_value_in_our_format_with_an_unknown_tag_is_a_miss(redis_server, raw):
    raw.set(f"{KEY_PREFIX}odd", json.dumps({"__admin2__": ["os.system", "touch /tmp/x"]}))
    raw.set(f"{KEY_PREFIX}nested", json.dumps({"a": [1, {"__admin2__": ["nope", 1]}]}))
    result = run_with_project_cache(
        redis_server, 'print("GOT", repr(cache.get("odd")), repr(cache.get("nested")))'
    )
    assert result.returncode == 0, result.stderr
    assert "GOT None None" in result.stdout
