"""A small client of Prometheus's HTTP API (instant and range queries, alerts), stdlib only.

Every failure becomes ``PrometheusUnavailable`` with a sentence a person can act on.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request


class PrometheusUnavailable(Exception):
    pass


class Prometheus:
    def __init__(self, url: str, timeout: float):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, **params: str) -> object:
        address = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as response:  # noqa: S310
                body = json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read(500).decode(errors="replace")
            raise PrometheusUnavailable(
                f"Prometheus at {self.url} refused {path}: {error.code} {detail}"
            ) from error
        except (OSError, ValueError) as error:  # refused, timed out, not JSON
            raise PrometheusUnavailable(
                f"Prometheus at {self.url} does not answer: {error}"
            ) from error
        if body.get("status") != "success":
            raise PrometheusUnavailable(f"Prometheus refused {path}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self._get("/api/v1/query", query=expr)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        data = self._get("/api/v1/query_range", query=expr, start=f"{start:.3f}",
                         end=f"{end:.3f}", step=f"{step:g}")  # fmt: skip
        return data["result"]

    def alerts(self) -> list[dict]:
        return self._get("/api/v1/alerts")["alerts"]
