"""The "System health" admin page for superusers: firing alerts, each target's up/down and the
key series of the last 24 hours, read from Prometheus (ADMIN2_PROMETHEUS_URL) and drawn with
admin2.charts. docs/operations.md, "System health page".
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from admin2 import charts
from admin2.prometheus import Prometheus, PrometheusUnavailable

HOURS = 24
STEP_SECONDS = 300  # 288 points a line: one every five minutes
DISK = 'fstype!~"tmpfs|overlay|squashfs"'


@dataclass(frozen=True)
class Panel:
    title: str
    lines: tuple[tuple[str, str], ...]  # (legend, PromQL giving one series)


# The series of issue 21's page; the Grafana dashboard (docs/grafana/admin2.json) shows the same.
PANELS = (
    Panel("Requests per second", (
        ("all", "sum(rate(admin2_http_requests_total[5m]))"),
        ("5xx", 'sum(rate(admin2_http_requests_total{status=~"5.."}[5m]))'),
    )),
    Panel("95th percentile latency (s)", (
        ("p95", "histogram_quantile(0.95, sum by (le) "
                "(rate(admin2_http_request_duration_seconds_bucket[5m])))"),
    )),
    Panel("Tasks waiting in queues", (
        ("queued", 'sum(redis_key_size{key=~"default|exports|reports"})'),
    )),
    Panel("Task failures per minute", (
        ("failed", 'sum(rate(admin2_task_runs_total{state="FAILURE"}[5m])) * 60'),
    )),
    Panel("ClickHouse query time, 95th percentile (s)", (
        ("p95", "histogram_quantile(0.95, sum by (le) "
                "(rate(admin2_analytics_query_duration_seconds_bucket[5m])))"),
    )),
    Panel("Disk used (%)", (
        ("fullest", f"max(100 * (1 - node_filesystem_avail_bytes{{{DISK}}} "
                    f"/ node_filesystem_size_bytes{{{DISK}}}))"),
    )),
)  # fmt: skip


def client() -> Prometheus | None:
    url = settings.ADMIN2_PROMETHEUS_URL
    return Prometheus(url, settings.ADMIN2_PROMETHEUS_TIMEOUT) if url else None


def firing(prometheus: Prometheus) -> list[dict]:
    found = [
        {"name": a["labels"].get("alertname", ""), "severity": a["labels"].get("severity", ""),
         "summary": a.get("annotations", {}).get("summary", ""),
         "runbook": a.get("annotations", {}).get("runbook", ""),
         "since": a.get("activeAt", "")[:19].replace("T", " ")}
        for a in prometheus.alerts() if a.get("state") == "firing"
    ]  # fmt: skip
    return sorted(found, key=lambda alert: (alert["severity"] != "page", alert["name"]))


def targets(prometheus: Prometheus) -> list[dict]:
    found = [
        {"job": r["metric"].get("job", ""), "instance": r["metric"].get("instance", ""),
         "up": r["value"][1] == "1"}
        for r in prometheus.query("up")
    ]  # fmt: skip
    return sorted(found, key=lambda target: (target["up"], target["job"], target["instance"]))


def chart(prometheus: Prometheus, panel: Panel, now: float) -> charts.Chart:
    """One line per PromQL expression, aligned on the query's timestamps."""
    start = now - HOURS * 3600
    columns = ["time", *(legend for legend, _ in panel.lines)]
    by_time: dict[float, list] = {}
    for index, (_, expr) in enumerate(panel.lines):
        for series in prometheus.query_range(expr, start, now, STEP_SECONDS)[:1]:
            for stamp, value in series["values"]:
                row = by_time.setdefault(float(stamp), [None] * len(panel.lines))
                row[index] = float(value)
    rows = [
        (dt.datetime.fromtimestamp(stamp, tz=dt.UTC), *values)
        for stamp, values in sorted(by_time.items())
    ]
    return charts.build("line", "time", columns[1:], columns, rows)


def page(request):
    if not request.user.is_superuser:
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": "System health",
               "configured": bool(settings.ADMIN2_PROMETHEUS_URL),
               "prometheus_url": settings.ADMIN2_PROMETHEUS_URL}  # fmt: skip
    prometheus = client()
    if prometheus is not None:
        try:
            now = time.time()
            context.update(
                alerts=firing(prometheus),
                targets=targets(prometheus),
                panels=[(panel.title, chart(prometheus, panel, now)) for panel in PANELS],
            )
        except PrometheusUnavailable as error:
            context["unavailable"] = str(error)
    return TemplateResponse(request, "admin2/system_health.html", context)
