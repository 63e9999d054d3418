"""Database sessions that treat a cookie no server could have issued as no session at all.

Issued keys are ASCII letters and digits; a forged key with a NUL byte made PostgreSQL raise
on the lookup (a 500, found by tests/fuzz/test_request_oddities.py).
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(super()._validate_session_key(key)) and key.isascii() and key.isalnum()
