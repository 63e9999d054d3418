"""WSGI entry point for Gunicorn: ``admin2.wsgi:application``."""

from admin2.bootstrap import configure

configure()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
