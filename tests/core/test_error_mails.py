"""Error mails in production: a request's unhandled error reaches DJANGO_ADMINS through the
SMTP settings (Django's AdminEmailHandler), received here by a local aiosmtpd sink."""

import pytest

from harness.processes import run_admin2
from tests.core.test_production_settings import production_env

pytestmark = pytest.mark.slow

RAISE_A_REQUEST_ERROR = (
    "import logging\n"
    "from django.test import RequestFactory\n"
    "request = RequestFactory().get('/admin/broken/', HTTP_HOST='admin2.example.com')\n"
    "logging.getLogger('django.request').error('Internal Server Error: /admin/broken/',\n"
    "    extra={'status_code': 500, 'request': request})\n"
)


def test_a_server_error_is_mailed_to_the_admins(smtp_sink):
    port, inbox = smtp_sink
    env = production_env(
        DJANGO_ADMINS="ops@example.com,lead@example.com",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        DEFAULT_FROM_EMAIL="admin2@admin2.example.com",
    )

    result = run_admin2("shell", "-c", RAISE_A_REQUEST_ERROR, env=env)

    assert result.returncode == 0, result.stderr
    (message,) = inbox.messages
    assert "Internal Server Error: /admin/broken/" in message["Subject"]
    assert message["From"] == "admin2@admin2.example.com"
    assert {a.strip() for a in message["To"].split(",")} == {"ops@example.com", "lead@example.com"}


def test_without_admins_nothing_is_mailed(smtp_sink):
    port, inbox = smtp_sink
    env = production_env(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port))

    result = run_admin2("shell", "-c", RAISE_A_REQUEST_ERROR, env=env)

    assert result.returncode == 0, result.stderr
    assert inbox.messages == []
