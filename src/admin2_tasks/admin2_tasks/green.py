"""Whether this process is an eventlet worker (Celery patches the standard library first)."""

from __future__ import annotations

import sys


def patched() -> bool:
    patcher = sys.modules.get("eventlet.patcher")
    return bool(patcher and patcher.is_monkey_patched("thread"))
