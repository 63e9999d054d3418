"""What ``admin2 demo`` prepares for analytics: the demo events in the embedded engine."""

from __future__ import annotations


def load(stdout) -> None:
    from django.core.management import call_command

    call_command("analytics_demo_data", stdout=stdout)
