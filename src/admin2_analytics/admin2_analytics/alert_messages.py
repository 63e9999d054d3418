"""What an alert sends: one e-mail (to the allowed mail domains, as reports) and one JSON POST
to its webhook. The only outbound HTTP of the analytics plugin is here."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage

from admin2_analytics.reports import allowed_domains, outside_allowed_domains

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10  # seconds: a dispatcher holds the alert's row lock while it waits


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the allowed hosts: refuse it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirect to {newurl} refused", headers, fp
        )


_OPENER = urllib.request.build_opener(_NoRedirects)


def webhook_refusal(url: str, allowed_hosts: list[str]) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"a webhook URL must be http or https, not {parts.scheme or 'none'}"
    host = (parts.hostname or "").lower()
    if host not in allowed_hosts:
        listed = ", ".join(allowed_hosts) or "none: set ANALYTICS_ALERT_WEBHOOK_HOSTS"
        return f"{host or 'the URL'} is not an allowed webhook host ({listed})"
    return None


def payload(alert, event: str, value, now) -> dict:
    return {
        "alert": alert.name,
        "event": event,
        "state": alert.state,
        "saved_query": alert.saved_query.name,
        "condition": alert.get_condition_display(),
        "column": alert.column,
        "operator": alert.operator,
        "threshold": str(alert.threshold.normalize()),
        "value": None if value is None else str(value),
        "at": now.isoformat(),
    }


def send(alert, event: str, value, now) -> str:
    """Send the message for ``event`` every way the alert has; return what went wrong ("" if
    nothing). A failure on one way does not stop the other."""
    message = payload(alert, event, value, now)
    problems = []
    for way in (_mail, _post):
        try:
            if problem := way(alert, message):
                problems.append(problem)
        except Exception as exc:  # noted on the alert and logged; the state change stands
            logger.exception("alert %s: sending failed", alert.pk)
            problems.append(f"{way.__name__.strip('_')}: {type(exc).__name__}: {exc}")
    return "; ".join(problems)


def _mail(alert, message: dict) -> str:
    addresses = alert.recipient_list
    if not addresses:
        return ""
    skipped = outside_allowed_domains(addresses)
    recipients = [address for address in addresses if address not in skipped]
    if recipients:
        subject = f"[{settings.ADMIN2_SITE_TITLE}] Alert {message['event']}: {alert.name}"
        lines = [f"{name}: {value}" for name, value in message.items() if value not in ("", None)]
        EmailMessage(subject=subject, body="\n".join(lines) + "\n", to=recipients).send()
    if skipped:
        outside = f"outside the allowed mail domains ({allowed_domains()})"
        return f"not sent to {', '.join(skipped)}: {outside}"
    return ""


def _post(alert, message: dict) -> str:
    if not alert.webhook_url:
        return ""
    if refusal := webhook_refusal(alert.webhook_url, settings.ANALYTICS_ALERT_WEBHOOK_HOSTS):
        return f"webhook not called: {refusal}"
    request = urllib.request.Request(  # noqa: S310 (scheme and host checked above)
        alert.webhook_url,
        data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT) as response:
        response.read(1024)
    return ""
