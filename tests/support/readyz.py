"""/readyz as a monitor reads it: with the configured token, which shows each check's details
(anonymous callers get only each check's name and status)."""

from __future__ import annotations

READYZ_TOKEN = "readyz-token-for-tests"  # a test value


def detailed_readyz(client, settings):
    """GET /readyz with a bearer token that the settings accept."""
    settings.ADMIN2_READYZ_TOKEN = READYZ_TOKEN
    return client.get("/readyz", HTTP_AUTHORIZATION=f"Bearer {READYZ_TOKEN}")
