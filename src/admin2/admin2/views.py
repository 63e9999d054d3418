"""Health endpoints: /healthz (liveness, touches nothing) and /readyz (every dependency)."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from admin2 import __version__
from admin2.health import run_checks


@never_cache
@require_GET
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_GET
def readyz(request):
    ready, report = run_checks()
    failed = sorted(name for name, r in report.items() if r["status"] != "up" and r["required"])
    body = {
        "status": "ok" if ready else "fail",
        "version": __version__,
        "checks": report,
        "failed": failed,
    }
    return JsonResponse(body, status=200 if ready else 503)


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
