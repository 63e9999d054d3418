"""Django cache: Redis when REDIS_URL is set (production), process memory otherwise."""

from settings.env import env_url, is_set

if is_set("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_url("REDIS_URL", schemes=("redis", "rediss", "unix")),
            "KEY_PREFIX": "admin2",
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
