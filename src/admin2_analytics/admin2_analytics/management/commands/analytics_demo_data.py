"""``admin2 analytics_demo_data``: fill the embedded engine with the demo ``events`` table.

Then, when the analytics pages are installed, their demo saved queries and dashboard.
"""

from __future__ import annotations

import importlib
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from admin2_analytics.demo_data import DEFAULT_ROWS, TABLE, create_events
from admin2_analytics.engine import QueryTag
from admin2_analytics.errors import AnalyticsError


class Command(BaseCommand):
    help = "Create the demo events table in the embedded ClickHouse engine (chDB)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rows", type=int, default=DEFAULT_ROWS, help=f"rows to generate ({DEFAULT_ROWS:,})"
        )

    def handle(self, *args, rows, **options):
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        started = time.perf_counter()
        try:
            count = create_events(rows, tag=QueryTag(user="admin2", source="cli"))
        except AnalyticsError as exc:
            raise CommandError(" ".join(str(exc).split())) from None
        self.stdout.write(
            f"{TABLE}: {count:,} rows in {time.perf_counter() - started:.1f} s "
            f"(embedded chDB at {settings.CLICKHOUSE_EMBEDDED_PATH})"
        )
        self._demo_content()

    def _demo_content(self) -> None:
        try:
            demo_content = importlib.import_module("admin2_analytics.demo_content")
        except ModuleNotFoundError as exc:
            if exc.name != "admin2_analytics.demo_content":
                raise
            return  # the pages side brings saved queries and dashboards; not installed here
        try:
            demo_content.create_demo_objects(self.stdout)
        except DatabaseError as exc:
            # The events table is in place; only the saved queries wait for the database.
            self.stderr.write(
                f"demo saved queries skipped: {' '.join(str(exc).split())} "
                "(run `admin2 migrate`, then this command again)"
            )
