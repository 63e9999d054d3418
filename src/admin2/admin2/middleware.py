"""Request id: taken from Nginx's X-Request-ID when well-formed, otherwise generated."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.core.signals import request_finished

from admin2.logging import request_id_var

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    header = "X-Request-ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(self.header, "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Kept until request_finished: Django logs the response after the middleware returns.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[self.header] = request_id
        return response


def _forget_request_id(**kwargs) -> None:
    request_id_var.set("-")


request_finished.connect(_forget_request_id, dispatch_uid="admin2.forget_request_id")


class BrowserPolicyMiddleware:
    """Headers Django has no setting for: Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
