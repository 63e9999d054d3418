"""Mail one alert (subject in ALERT_SUBJECT, message on stdin) to ADMIN2_ALERT_EMAIL through
the SMTP settings Django uses (EMAIL_*). Called by deploy/alert.sh; standard library only."""

import os
import smtplib
import sys
from email.message import EmailMessage


def main() -> None:
    env = os.environ
    password = env.get("EMAIL_HOST_PASSWORD", "")
    if not password and env.get("EMAIL_HOST_PASSWORD_FILE"):
        with open(env["EMAIL_HOST_PASSWORD_FILE"]) as handle:
            password = handle.read().strip()
    message = EmailMessage()
    message["Subject"] = env["ALERT_SUBJECT"]
    message["From"] = env.get("DEFAULT_FROM_EMAIL") or "admin2@localhost"
    message["To"] = env["ADMIN2_ALERT_EMAIL"]
    message.set_content(sys.stdin.read())
    port = int(env.get("EMAIL_PORT") or 25)
    with smtplib.SMTP(env.get("EMAIL_HOST") or "localhost", port, timeout=30) as smtp:
        if env.get("EMAIL_USE_TLS", "").lower() in ("1", "true", "yes", "on"):
            smtp.starttls()
        if env.get("EMAIL_HOST_USER") and password:
            smtp.login(env["EMAIL_HOST_USER"], password)
        smtp.send_message(message)


if __name__ == "__main__":
    main()
