"""Whether a session may use the admin: a user with a confirmed second factor must have used it,
and with ``ADMIN2_OTP_REQUIRED`` every session must have verified one, whenever it was opened.

The device lookup is remembered in the session for at most a minute, next to a devices
generation in the cache that moves on when a device is saved or deleted (once committed).
"""

from __future__ import annotations

import logging
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_otp import device_classes, user_has_device

GENERATION_KEY = "admin2:otp-devices-generation"
SESSION_KEY = "_admin2_otp_devices"  # [generation, user pk, has a device, looked at (epoch s)]
# The longest a remembered answer is trusted: it bounds what a change the signals miss (a bulk
# update, a cache that failed to take the new generation) can leave unenforced.
REMEMBER_SECONDS = 60.0
CACHE_RETRY_SECONDS = 10.0  # after a cache failure, the database alone answers this long

_cache_down_until = 0.0

log = logging.getLogger(__name__)


def satisfied(request) -> bool:
    """The session verified a device, or its user has none to verify and none is required.

    The flag is read at each page: a session opened before ``ADMIN2_OTP_REQUIRED`` was turned
    on is refused from its next page, not only at the login form.
    """
    user = request.user
    if user.is_verified():
        return True
    if settings.ADMIN2_OTP_REQUIRED:
        return False
    return not has_device(request)


def has_device(request) -> bool:
    user = request.user
    generation = _generation()
    now = time.time()
    try:
        known, pk, found, looked_at = request.session[SESSION_KEY]
        if known == generation and pk == str(user.pk) and 0 <= now - looked_at < REMEMBER_SECONDS:
            return found is True
    except (KeyError, TypeError, ValueError):
        pass
    found = user_has_device(user)
    if generation is not None:
        request.session[SESSION_KEY] = [generation, str(user.pk), found, now]
    return found


def _generation() -> str | None:
    """The current devices generation; None when the cache cannot tell (nothing is trusted)."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return None
    try:
        generation = cache.get(GENERATION_KEY)
        if generation is None:
            cache.add(GENERATION_KEY, secrets.token_hex(8), timeout=None)
            generation = cache.get(GENERATION_KEY)
        return generation
    except Exception:  # a cache that hangs costs one timeout per interval, not one per page
        _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
        log.warning("cache unavailable: second-factor devices looked up in the database")
        return None


def _devices_changed(**kwargs) -> None:
    # On commit: a session that looks before then still finds the old devices, and would
    # otherwise remember them under the new generation.
    transaction.on_commit(_next_generation, using=kwargs.get("using"))


def _next_generation() -> None:
    try:
        cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)
    except Exception:
        # Sessions keep their remembered answer until the cache forgets the generation.
        log.exception("cache unavailable: second-factor devices changed, generation not moved")


def connect_signals() -> None:
    for model in device_classes():
        uid = f"admin2.second_factor.{model._meta.label}"
        post_save.connect(_devices_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(_devices_changed, sender=model, dispatch_uid=f"{uid}.delete")
