"""A small HTTP client that behaves like a browser behind the TLS-terminating Nginx.

Production cookies carry the Secure flag and CSRF checks the Origin of HTTPS requests, so the
client sends ``X-Forwarded-Proto: https`` and an Origin the way a browser on the public site
would, keeps cookies itself, and never raises on an error status: the status is the subject.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    seconds: float

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Browser:
    port: int
    host: str = "127.0.0.1"
    https: bool = True  # pretend to be behind the TLS proxy (production settings need it)
    timeout: float = 30
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers=None) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = {"Host": f"{self.host}:{self.port}", "User-Agent": "admin2-fault-tests"}
        if self.https:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        headers_out = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, headers_out, text, time.monotonic() - started)

    def get(self, path: str, **headers: str) -> Reply:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        """POST a form the way the page would: with the CSRF token of a fresh GET."""
        page = self.get(path)
        match = CSRF_FIELD.search(page.text)
        if not match:
            raise AssertionError(f"no CSRF token on {path} ({page.status}): {page.text[:300]}")
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1), **fields}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.origin,
            "Referer": f"{self.origin}{path}",
        }
        return self.request("POST", path, body=body, headers=headers)

    def log_in(self, username: str, password: str, admin_url: str = "/admin/") -> Reply:
        reply = self.post_form(
            f"{admin_url}login/?next={admin_url}", {"username": username, "password": password}
        )
        if reply.status != 302:
            raise AssertionError(f"login as {username} failed ({reply.status}): {reply.text[:500]}")
        return reply
