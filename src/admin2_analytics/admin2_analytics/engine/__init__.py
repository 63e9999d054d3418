"""The one execution seam to ClickHouse: the only code that calls clickhouse-connect.

Every query runs here, through one of two backends with one API: the embedded chDB engine
(``CLICKHOUSE_HOST`` unset) or a ClickHouse server over HTTP(S). Each call

* checks user SQL with the guard (:func:`execute`, :func:`stream`),
* binds typed ``{name:Type}`` parameters server-side, never formatting values into SQL,
* runs under the limits from settings (``max_execution_time``, ``max_result_rows`` with
  ``result_overflow_mode``, ``max_memory_usage``; larger ones for exports),
* runs read-only in the engine itself (``readonly`` = 1 embedded, 2 on a server, where the
  guard refuses ``SETTINGS``),
* tags the query in ``log_comment`` (who, which saved query, web/task/cli),
* turns every failure into one :class:`~admin2_analytics.errors.AnalyticsError`.

Code-authored reads (the schema browser) use :func:`run_trusted` (no guard, same limits and
read-only mode); the demo-data command writes through :func:`maintenance_session`, which is
embedded-only and never receives user SQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from admin2_analytics import guard
from admin2_analytics.engine import config, embedded, failures
from admin2_analytics.engine import http as http_backend
from admin2_analytics.errors import AnalyticsError, EngineUnavailable, ParameterError
from admin2_analytics.parameters import coerce, find_parameters

__all__ = [
    "CHUNK_SIZE",
    "QueryResult",
    "QueryTag",
    "ResultStream",
    "execute",
    "maintenance_session",
    "ping",
    "run_trusted",
    "stream",
]

Source = Literal["web", "task", "cli"]
ExportFormat = Literal["csv", "tsv", "jsonl"]
CHUNK_SIZE = 1 << 20  # raw stream reads: chunked, never line by line (150x slower)
_FORMATS = {"csv": "CSV", "tsv": "TabSeparated", "jsonl": "JSONEachRow"}


@dataclass(frozen=True)
class QueryTag:
    """Who runs a query, written to ClickHouse's ``log_comment`` (see ``system.query_log``)."""

    user: str = ""
    source: Source = "web"
    saved_query: str = ""

    def comment(self) -> str:
        payload = {"app": "admin2", "user": self.user, "source": self.source}
        if self.saved_query:
            payload["saved_query"] = self.saved_query
        return json.dumps(payload, ensure_ascii=False)[:1000]


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    elapsed_ms: float
    truncated: bool = False  # more rows existed than ``max_rows`` asked for
    read_rows: int | None = None
    read_bytes: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return len(self.rows)


# --- public API ---------------------------------------------------------------------------


def execute(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    tag: QueryTag,
    max_rows: int | None = None,
    timeout: float | None = None,
) -> QueryResult:
    """Run user SQL (guarded) and return its rows.

    Without ``max_rows`` a result over ``ANALYTICS_MAX_RESULT_ROWS`` raises
    :class:`ResultTooLarge`. With ``max_rows`` (at most that limit) the engine stops soon
    after ``max_rows`` rows and the result says ``truncated`` when there were more.
    """
    statement = guard.clean_sql(sql)
    values = bind_parameters(statement, params)
    limits = config.query_limits()
    engine_settings = limits.as_settings()
    if max_rows is not None:
        if max_rows < 1:
            raise ParameterError("max_rows must be at least 1")
        keep = min(max_rows, limits.max_result_rows)
        # 'break' stops at a block boundary past the limit: we learn "there is more" cheaply.
        engine_settings.update(max_result_rows=keep + 1, result_overflow_mode="break")
    else:
        keep = None
    if timeout is not None:
        engine_settings["max_execution_time"] = float(timeout)
    result = _query(statement, values, engine_settings, tag)
    if keep is not None and len(result.rows) > keep:
        result.rows = result.rows[:keep]
        result.truncated = True
    return result


def stream(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    tag: QueryTag,
    fmt: ExportFormat,
    max_rows: int | None = None,
) -> ResultStream:
    """Stream user SQL (guarded) as CSV/TSV with a header line, or JSON lines.

    Chunks of about 1 MiB, constant memory, under the export limits
    (``ANALYTICS_EXPORT_*``); a result over ``ANALYTICS_EXPORT_MAX_ROWS`` raises
    :class:`ResultTooLarge` while iterating, so write to a temporary file and keep it only
    when the iteration ends normally. The engine is opened before this returns (errors such
    as a busy engine surface here, not mid-response); close the stream (or exhaust it) to
    release the engine. ``max_rows`` cuts the export short (the CLI's ``--limit``).
    """
    if fmt not in _FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(_FORMATS)}")
    statement = guard.clean_sql(sql)
    values = bind_parameters(statement, params)
    if max_rows is not None:
        if int(max_rows) < 1:
            raise ParameterError("max_rows must be at least 1")
        # The checked statement, wrapped: the engine stops after max_rows rows.
        statement = f"SELECT * FROM (\n{statement}\n) LIMIT {int(max_rows)}"  # noqa: S608
    engine_settings = config.export_limits().as_settings()
    # The reader (Python, then a file or a socket) sets the pace: formatting blocks in
    # parallel only queues more of them in memory (measured: ~25 MB more, no faster).
    engine_settings["output_format_parallel_formatting"] = 0
    return ResultStream(statement, values, engine_settings, tag, fmt)


def ping(timeout: float) -> str:
    """Check the engine answers ``SELECT 1`` within ``timeout``; return a short detail."""
    tag = QueryTag(user="readyz", source="web")
    limits = {"max_execution_time": max(1.0, float(timeout))}
    if config.is_embedded():
        path = config.embedded_path()
        try:
            # A probe looks, it does not ask the process whose turn it is to hand over.
            with _session(
                limits, tag, readonly=True, lock_timeout=min(timeout, 0.5), announce=False
            ) as session:
                session.query("SELECT 1", {})
        except EngineUnavailable:
            if embedded.lock_path(path).exists() and embedded.holder_of(path):
                # Another process has its turn on the directory: the engine is alive.
                return f"embedded chDB at {path}, busy: {embedded.holder_of(path)}"
            raise
        return f"embedded chDB at {path}"
    # A client of its own whose socket gives up at the probe's timeout: a hung server must not
    # hold the readiness check for the (long, export-sized) read timeout.
    configured = config.server()
    server = dataclasses.replace(
        configured,
        read_timeout=float(timeout),
        connect_timeout=min(configured.connect_timeout, float(timeout)),
    )
    with _session(limits, tag, readonly=True, server=server) as session:
        session.query("SELECT 1", {})
    return f"{'https' if server.secure else 'http'}://{server.host}:{server.port}"


def run_trusted(sql: str, params: Mapping[str, Any] | None = None, *, tag: QueryTag) -> QueryResult:
    """Run code-authored read SQL (no guard: it may read ``system`` tables), read-only.

    Never pass user text here: this is for SQL written in this package (schema browser).
    """
    return _query(sql, dict(params or {}), config.query_limits().as_settings(), tag)


def bind_parameters(sql: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``params`` against the placeholders of ``sql``; coerce typed-in strings.

    Values that are already Python objects (dates, ints, lists) pass through; strings are
    coerced to the declared type. A missing parameter, or one the SQL does not declare, is a
    :class:`ParameterError` naming it.
    """
    declared = find_parameters(sql)
    given = dict(params or {})
    unknown = sorted(set(given) - {p.name for p in declared})
    if unknown:
        raise ParameterError(
            f"unknown parameter {unknown[0]!r}: the query declares "
            + (", ".join(f"{{{p.name}:{p.type}}}" for p in declared) or "no parameters"),
            name=unknown[0],
        )
    values: dict[str, Any] = {}
    for parameter in declared:
        if parameter.name not in given:
            if parameter.nullable:
                values[parameter.name] = None
                continue
            raise ParameterError(
                f"parameter {parameter.name!r} ({parameter.type}) needs a value",
                name=parameter.name,
            )
        value = given[parameter.name]
        values[parameter.name] = coerce(parameter, value) if isinstance(value, str) else value
    return values


# --- sessions: one shape over both backends ------------------------------------------------


class _Session:
    """One engine connection for one operation, with the settings it runs under."""

    def __init__(self, client, per_call_settings: dict | None) -> None:
        self.client = client
        self._settings = per_call_settings  # HTTP: sent with each request; chDB: None

    def query(self, sql: str, params: dict):
        return self.client.query(sql, parameters=params or None, settings=self._settings)

    def raw_stream(self, sql: str, params: dict, fmt: str):
        return self.client.raw_stream(
            sql, parameters=params or None, settings=self._settings, fmt=fmt
        )


def _ordered_settings(limits: Mapping[str, Any], tag: QueryTag, readonly: int | None) -> dict:
    merged = dict(limits)
    merged["log_comment"] = tag.comment()
    if readonly is not None:
        # Last: once readonly=1 is set on a chDB session nothing after it may change settings.
        merged["readonly"] = readonly
    return merged


@contextlib.contextmanager
def _session(
    limits: Mapping[str, Any],
    tag: QueryTag,
    *,
    readonly: bool,
    lock_timeout: float | None = None,
    announce: bool = True,
    server: config.ServerConfig | None = None,
) -> Iterator[_Session]:
    if config.is_embedded():
        path = config.embedded_path()
        wait = config.lock_timeout() if lock_timeout is None else lock_timeout
        settings = _ordered_settings(limits, tag, 1 if readonly else None)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(
                    embedded.lease(path, wait, keep_open=config.keep_open(), announce=announce)
                )
                client = embedded.open_client(path, _database(), settings, wait)
            except AnalyticsError:
                raise
            except Exception as exc:
                raise _engine_unavailable(exc) from exc
            try:
                yield _Session(client, None)
            finally:
                client.close()
        return
    server = server or config.server()
    try:
        client = http_backend.get_client(server)
    except Exception as exc:
        http_backend.forget_client(server)
        raise _engine_unavailable(exc, read_timeout=server.read_timeout) from exc
    readonly_value = 2 if readonly else None
    if readonly and _server_readonly(client):
        readonly_value = None  # the user is read-only on the server already: keep its level
    settings = http_backend.changeable(client, _ordered_settings(limits, tag, readonly_value))
    yield _Session(client, settings)


def _server_readonly(client) -> bool:
    definition = (getattr(client, "server_settings", {}) or {}).get("readonly")
    return definition is not None and definition.value not in ("0", "")


def _database() -> str:
    from django.conf import settings

    return settings.CLICKHOUSE_DATABASE


def _engine_unavailable(exc: BaseException, read_timeout: float | None = None) -> AnalyticsError:
    translated = failures.translate(exc, read_timeout=read_timeout)
    if type(translated).__name__ == "QueryFailed":
        where = "embedded chDB" if config.is_embedded() else "ClickHouse"
        return EngineUnavailable(f"cannot open {where}: {translated}")
    return translated


def _read_timeout() -> float | None:
    return None if config.is_embedded() else config.server().read_timeout


def _query(sql: str, params: dict, limits: Mapping[str, Any], tag: QueryTag) -> QueryResult:
    with _session(limits, tag, readonly=True) as session:
        # Timed from here: opening the embedded engine is not the query's own duration.
        started = time.perf_counter()
        try:
            result = session.query(sql, params)
            rows = [tuple(row) for row in result.result_rows]
        except Exception as exc:
            raise failures.translate(exc, read_timeout=_read_timeout()) from exc
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    summary = getattr(result, "summary", None) or {}
    return QueryResult(
        columns=list(result.column_names),
        types=[column_type.name for column_type in result.column_types],
        rows=rows,
        elapsed_ms=elapsed_ms,
        read_rows=_int_or_none(summary.get("read_rows")),
        read_bytes=_int_or_none(summary.get("read_bytes")),
        parameters=params,
    )


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- streaming ------------------------------------------------------------------------------


class ResultStream:
    """An iterator of byte chunks holding one engine session until closed or exhausted."""

    def __init__(self, sql: str, params: dict, limits: dict, tag: QueryTag, fmt: str) -> None:
        self.fmt = fmt
        self.columns: list[str] = []
        self.types: list[str] = []
        self.rows_hint = None
        self._raw = None
        self._closed = False
        self._stack = contextlib.ExitStack()
        try:
            session = self._stack.enter_context(_session(limits, tag, readonly=True))
            header = self._describe(session, sql, params)
            self._raw = session.raw_stream(sql, params, _FORMATS[fmt])
        except Exception as exc:
            self._stack.close()
            self._closed = True
            raise failures.translate(exc, read_timeout=_read_timeout()) from exc
        self._pending = header

    def _describe(self, session: _Session, sql: str, params: dict) -> bytes:
        if self.fmt == "jsonl":
            return b""
        # DESCRIBE plans the query without running it: names and types for the header line.
        described = session.query(f"DESCRIBE TABLE (\n{sql}\n)", params)
        self.columns = [row[0] for row in described.result_rows]
        self.types = [row[1] for row in described.result_rows]
        if self.fmt == "csv":
            line = ",".join('"' + name.replace('"', '""') + '"' for name in self.columns)
        else:
            line = "\t".join(_tsv_escape(name) for name in self.columns)
        return (line + "\n").encode()

    def __iter__(self) -> ResultStream:
        return self

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            chunk = self._raw.read(CHUNK_SIZE)
        except Exception as exc:
            self.close()
            raise failures.translate(exc, read_timeout=_read_timeout()) from exc
        if self._pending:
            chunk, self._pending = self._pending + chunk, b""
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._raw is not None:
                with contextlib.suppress(Exception):
                    self._raw.close()
        finally:
            self._stack.close()

    def __enter__(self) -> ResultStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _tsv_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


# --- the write path: demo data and the benchmark's ceiling, never user SQL ------------------


class MaintenanceSession:
    """Writes to the embedded engine (create tables, INSERT ... SELECT). Not for user SQL."""

    def __init__(self, session: _Session) -> None:
        self._client = session.client

    def command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except Exception as exc:
            raise failures.translate(exc) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        try:
            return [tuple(r) for r in self._client.query(sql, parameters=params).result_rows]
        except Exception as exc:
            raise failures.translate(exc) from exc


@contextlib.contextmanager
def maintenance_session(*, tag: QueryTag) -> Iterator[MaintenanceSession]:
    """A writable session on the embedded engine; refused when a server is configured."""
    if not config.is_embedded():
        raise EngineUnavailable(
            "writing demo data needs the embedded engine; CLICKHOUSE_HOST points at a server, "
            "which admin2 only reads"
        )
    limits = {"max_execution_time": 600}
    with _session(limits, tag, readonly=False) as session:
        yield MaintenanceSession(session)
