"""Health endpoints: /healthz (liveness, touches nothing) and /readyz (every dependency).

/readyz is public: anonymous callers get each check's name and status from a short-lived
copy; staff and ``ADMIN2_READYZ_TOKEN`` holders get the details (docs/security.md, "/readyz").
"""

from __future__ import annotations

import hmac
import sys
import threading
import time

from django.conf import settings
from django.contrib import admin
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from admin2 import __version__
from admin2.readiness import run_checks


@never_cache
@require_GET
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_GET
def readyz(request):
    detailed = _holds_the_token(request) or _is_staff(request)
    ready, report = run_checks() if detailed else _anonymous_round()
    failed = sorted(name for name, r in report.items() if r["status"] != "up" and r["required"])
    body = {"status": "ok" if ready else "fail"}
    if detailed:
        body.update(version=__version__, checks=report, failed=failed)
    else:
        body.update(
            checks={name: {"status": result["status"]} for name, result in report.items()},
            failed=failed,
        )
    return JsonResponse(body, status=200 if ready else 503)


def _holds_the_token(request) -> bool:
    expected = settings.ADMIN2_READYZ_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def _is_staff(request) -> bool:
    """Whom the admin site lets in (active staff, second factor used if they have one)."""
    try:
        return admin.site.has_permission(request)
    except Exception:  # the session store is down: count as anonymous, still answer
        return False


class _LastRound:
    """The last anonymous round of checks in this process, shared by its threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one round at a time
        self.taken: tuple[float, tuple[bool, dict]] | None = None  # (monotonic time, result)

    def fresh(self, max_age: float) -> tuple[bool, dict] | None:
        taken = self.taken
        if taken is not None and time.monotonic() - taken[0] < max_age:
            return taken[1]
        return None


_last_round = _LastRound()


def _anonymous_round() -> tuple[bool, dict]:
    max_age = settings.ADMIN2_READYZ_CACHE_SECONDS
    if max_age <= 0:
        return run_checks()
    if (result := _last_round.fresh(max_age)) is not None:
        return result
    previous = _last_round.taken
    # While another thread runs the round, answer from the previous one instead of queueing
    # behind it (only the very first callers, with nothing to show yet, wait for it).
    if not _last_round.lock.acquire(blocking=previous is None):
        return previous[1]
    try:
        if (result := _last_round.fresh(max_age)) is not None:
            return result  # the round just finished in another thread
        result = run_checks()
        _last_round.taken = (time.monotonic(), result)
        return result
    finally:
        _last_round.lock.release()


def server_error(request):
    """500 handler: a database that cannot be reached is a 503 with a friendly page."""
    exc = sys.exc_info()[1]
    context = {"request_id": getattr(request, "request_id", "-")}
    if isinstance(exc, (OperationalError, InterfaceError)):
        context["reason"] = "The database cannot be reached right now."
        response = HttpResponse(render_to_string("503.html", context), status=503)
        response["Retry-After"] = "30"
        return response
    # No request context: its processors could touch the very thing that failed.
    return HttpResponse(render_to_string("500.html", context), status=500)
