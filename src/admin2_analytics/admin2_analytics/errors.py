"""The one exception family every analytics caller handles.

Each message is written for the person who ran the query: it says what went wrong and, where
it helps, what to do about it. Engine details (stack traces, version trailers) never reach it.
"""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class: ``str(error)`` is a readable one-line reason."""

    #: short machine-readable kind, e.g. for query history and the CLI
    kind = "error"

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # ClickHouse error code when the engine reported one

    def __str__(self) -> str:
        return self.message


class QueryRefused(AnalyticsError):
    """The SQL guard (or the engine's read-only mode) refused the statement."""

    kind = "refused"


class ParameterError(AnalyticsError):
    """A query parameter is missing or its value does not fit its declared type."""

    kind = "parameter"

    def __init__(self, message: str, *, name: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.problems = problems or [message]  # each problem on its own, for form errors


class QueryTimeout(AnalyticsError):
    """The query ran longer than the execution-time limit (or the server did not answer)."""

    kind = "timeout"


class ResultTooLarge(AnalyticsError):
    """The result exceeded the row limit or the query the memory limit."""

    kind = "too_large"


class EngineUnavailable(AnalyticsError):
    """The engine cannot be reached, or the embedded engine is busy in another process."""

    kind = "unavailable"


class QueryFailed(AnalyticsError):
    """Any other engine error (unknown column, type mismatch, ...), cleaned up for humans."""

    kind = "failed"


class TooManyQueries(AnalyticsError):
    """This person already has ``ANALYTICS_MAX_CONCURRENT_QUERIES`` queries running."""

    kind = "busy"
