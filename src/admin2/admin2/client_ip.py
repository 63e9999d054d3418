"""The client's address as the login lockout should see it."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    if settings.ADMIN2_TRUST_X_REAL_IP:
        candidate = request.META.get("HTTP_X_REAL_IP", "").strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass  # absent or malformed: fall back to the socket peer
    return request.META.get("REMOTE_ADDR", "")
