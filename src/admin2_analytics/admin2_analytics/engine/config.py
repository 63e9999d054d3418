"""What the engine needs to know, read from ``django.conf.settings`` at call time.

Reading at call time (not import time) lets tests and the benchmark point the engine at a
temporary directory with ``override_settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Limits:
    max_execution_time: float
    max_result_rows: int
    max_memory_usage: int
    result_overflow_mode: str = "throw"
    max_block_size: int = 0  # user queries from pages and the CLI; 0: the engine's default

    def as_settings(self) -> dict[str, object]:
        return {
            "max_execution_time": self.max_execution_time,
            "max_result_rows": self.max_result_rows,
            "result_overflow_mode": self.result_overflow_mode,
            "max_memory_usage": self.max_memory_usage,
        }


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    user: str
    password: str
    database: str
    secure: bool
    verify: bool
    ca_cert: str
    connect_timeout: float
    read_timeout: float


def is_embedded() -> bool:
    return not settings.CLICKHOUSE_HOST


def embedded_path() -> Path:
    return Path(settings.CLICKHOUSE_EMBEDDED_PATH)


def lock_timeout() -> float:
    return float(settings.CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT)


def keep_open() -> float:
    return float(settings.CLICKHOUSE_EMBEDDED_KEEP_OPEN)


def server() -> ServerConfig:
    return ServerConfig(
        host=settings.CLICKHOUSE_HOST,
        port=int(settings.CLICKHOUSE_PORT),
        user=settings.CLICKHOUSE_USER,
        password=settings.CLICKHOUSE_PASSWORD,
        database=settings.CLICKHOUSE_DATABASE,
        secure=bool(settings.CLICKHOUSE_SECURE),
        verify=bool(settings.CLICKHOUSE_VERIFY),
        ca_cert=settings.CLICKHOUSE_CA_CERT,
        connect_timeout=float(settings.CLICKHOUSE_CONNECT_TIMEOUT),
        read_timeout=float(settings.CLICKHOUSE_READ_TIMEOUT),
    )


def query_limits() -> Limits:
    return Limits(
        max_execution_time=float(settings.ANALYTICS_MAX_EXECUTION_TIME),
        max_result_rows=int(settings.ANALYTICS_MAX_RESULT_ROWS),
        max_memory_usage=int(settings.ANALYTICS_MAX_MEMORY_USAGE),
        max_block_size=int(getattr(settings, "ANALYTICS_MAX_BLOCK_SIZE", 0)),
    )


def export_limits() -> Limits:
    return Limits(
        max_execution_time=float(settings.ANALYTICS_EXPORT_MAX_EXECUTION_TIME),
        max_result_rows=int(settings.ANALYTICS_EXPORT_MAX_ROWS),
        max_memory_usage=int(settings.ANALYTICS_EXPORT_MAX_MEMORY_USAGE),
    )
