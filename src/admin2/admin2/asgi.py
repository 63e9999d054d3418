"""ASGI entry point: ``admin2.asgi:application``."""

from admin2.bootstrap import configure

configure()

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
