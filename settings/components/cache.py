"""Django cache: Redis when REDIS_URL is set (production), process memory otherwise.

REDIS_PASSWORD (or _FILE, the stacks' ``redis_password`` secret) authenticates every Redis
client beside its URL, never inside it. Values are tagged JSON (admin2.cache_serializer),
never pickles, so nothing planted in Redis runs code (docs/security.md, "Redis").
"""

from settings.env import env_str, env_url, is_set

REDIS_PASSWORD = env_str("REDIS_PASSWORD", "", secret=True)

if is_set("REDIS_URL"):
    CACHES = {
        "default": {
            # Django's RedisCache, minus a new redis-py client for every call.
            "BACKEND": "admin2.redis_cache.RedisCache",
            "LOCATION": env_url("REDIS_URL", schemes=("redis", "rediss", "unix")),
            "KEY_PREFIX": "admin2",
            "TIMEOUT": 300,
            "OPTIONS": {
                "socket_connect_timeout": 2,
                "socket_timeout": 2,
                "serializer": "admin2.cache_serializer.TaggedJSONSerializer",
                # redis-py uses it when the URL has no password of its own.
                **({"password": REDIS_PASSWORD} if REDIS_PASSWORD else {}),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
