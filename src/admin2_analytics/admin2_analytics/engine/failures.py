"""Engine and transport errors, translated into the analytics exception family.

ClickHouse reports ``Code: 159. DB::Exception: Timeout exceeded: ... (TIMEOUT_EXCEEDED)
(version 26.5.1.1)``; people should read "Timeout exceeded: ...". The numeric code picks the
exception class; the text is trimmed of codes, version trailers and stack traces.
"""

from __future__ import annotations

import re
import socket

from admin2_analytics.errors import (
    AnalyticsError,
    EngineUnavailable,
    ParameterError,
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    ResultTooLarge,
)

# TIMEOUT_EXCEEDED, SOCKET_TIMEOUT, QUERY_WAS_CANCELLED
TIMEOUT_CODES = {159, 209, 394}
# TOO_MANY_ROWS, MEMORY_LIMIT_EXCEEDED, TOO_MANY_BYTES, TOO_MANY_ROWS_OR_BYTES
TOO_LARGE_CODES = {158, 241, 307, 396}
# READONLY, ACCESS_DENIED, AUTHENTICATION_FAILED, QUERY_IS_PROHIBITED
REFUSED_CODES = {164, 497, 516, 392}
PARAMETER_CODES = {456, 457}  # UNKNOWN_QUERY_PARAMETER, BAD_QUERY_PARAMETER
UNAVAILABLE_CODES = {210, 202, 425}  # NETWORK_ERROR, TOO_MANY_SIMULTANEOUS_QUERIES, SYSTEM_ERROR

_CODE_PREFIX = re.compile(r"^(?:.*?)Code:\s*(\d+)\.\s*(?:DB::Exception:\s*)?", re.S)
_NESTED_PREFIX = re.compile(r"Code:\s*\d+\.\s*(?:DB::Exception:\s*)?")
_VERSION = re.compile(r"\s*\(version [^)]*(?:\([^)]*\))?[^)]*\)")
_NAME_SUFFIX = re.compile(r"\s*\(([A-Z][A-Z0-9_]+)\)")
_USER_PREFIX = re.compile(r"^[\w.-]+: (?=Cannot execute query in readonly mode)")


def clean_message(message: str) -> str:
    text = str(message or "").strip()
    text = text.split("\nStack trace", 1)[0]
    text = _CODE_PREFIX.sub("", text, count=1)
    text = _NESTED_PREFIX.sub("", text)
    text = _VERSION.sub("", text)
    text = _NAME_SUFFIX.sub("", text)
    text = _USER_PREFIX.sub("", text)
    text = " ".join(text.split())
    text = text.rstrip(". ")
    if len(text) > 500:
        text = text[:497] + "..."
    return text or "the engine reported an error without a message"


def _code_of(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    match = re.search(r"Code:\s*(\d+)", str(exc))
    return int(match.group(1)) if match else None


def _is_connection_problem(exc: BaseException) -> bool:
    chain = [exc, exc.__cause__, exc.__context__]
    for item in chain:
        if isinstance(item, (ConnectionError, socket.gaierror)):
            return True
    text = str(exc)
    return any(
        marker in text
        for marker in (
            "Connection refused",
            "Failed to establish a new connection",
            "Name or service not known",
            "Max retries exceeded",
            "Connection reset",
            "RemoteDisconnected",
            "Error connecting",
            "SSLError",
            "CERTIFICATE_VERIFY_FAILED",
            "WRONG_VERSION_NUMBER",
        )
    )


def _is_read_timeout(exc: BaseException) -> bool:
    for item in (exc, exc.__cause__, exc.__context__):
        if isinstance(item, (TimeoutError, socket.timeout)):
            return True
        if item is not None and type(item).__name__ in ("ReadTimeoutError", "TimeoutError"):
            return True
    text = str(exc)
    return "Read timed out" in text or "timed out" in text.lower()


def translate(exc: BaseException, *, read_timeout: float | None = None) -> AnalyticsError:
    """The analytics error for ``exc`` (an AnalyticsError passes through unchanged)."""
    if isinstance(exc, AnalyticsError):
        return exc
    code = _code_of(exc)
    message = clean_message(str(exc))
    for codes, error in _BY_CODE:
        if code in codes:
            return error(message, code)
    if code is None:
        translated = _without_code(exc, message, read_timeout)
        if translated is not None:
            return translated
    return QueryFailed(message, code=code)


_BY_CODE = (
    (TIMEOUT_CODES, lambda message, code: QueryTimeout(f"Query timed out: {message}", code=code)),
    (
        TOO_LARGE_CODES,
        lambda message, code: ResultTooLarge(
            f"Result too large: {message}. Add a LIMIT or aggregate further (export for more).",
            code=code,
        ),
    ),
    (
        REFUSED_CODES,
        lambda message, code: QueryRefused(f"Refused by the engine: {message}", code=code),
    ),
    (PARAMETER_CODES, lambda message, _code: ParameterError(f"Parameter problem: {message}")),
    (
        UNAVAILABLE_CODES,
        lambda message, code: EngineUnavailable(f"ClickHouse unavailable: {message}", code=code),
    ),
)


def _without_code(exc: BaseException, message: str, read_timeout: float | None):
    """A client-side failure (no server error code): a read timeout or no connection."""
    if _is_read_timeout(exc):
        waited = f" within {read_timeout:g}s" if read_timeout else ""
        return QueryTimeout(
            f"ClickHouse did not answer{waited} (CLICKHOUSE_READ_TIMEOUT): {message}"
        )
    if _is_connection_problem(exc):
        return EngineUnavailable(f"cannot connect to ClickHouse: {message}")
    return None
