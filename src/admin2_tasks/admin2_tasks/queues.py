"""Queue names, one constant each. A worker started without ``-Q`` consumes all of them."""

from __future__ import annotations

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"  # short housekeeping: heartbeat, pruning, cleanup
    EXPORTS = "exports"  # analytics exports: long, waiting on ClickHouse
    REPORTS = "reports"  # scheduled saved-query reports: query, render, mail


ALL_QUEUES: tuple[str, ...] = tuple(queue.value for queue in Queue)
