"""Health endpoints: /healthz (liveness, touches nothing) and /readyz (every dependency)."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
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
