"""Exports: user SQL streamed from the engine as CSV/TSV with a header line, or JSON lines."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from admin2_analytics.engine import backend, config, slots, watchdog
from admin2_analytics.engine.checking import prepare_in
from admin2_analytics.engine.session import DESCRIBE_PREFIX, Session
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import ParameterError
from admin2_analytics.kinds import ExportFormat

logger = logging.getLogger(__name__)

# Chunks of at most this: never line by line (150x slower); larger ones ran slower through
# the formula rewrite (docs/benchmarks.md, analytics_export).
CHUNK_SIZE = 1 << 20
FORMATS = {"csv": "CSV", "tsv": "TabSeparated", "jsonl": "JSONEachRow"}
# A DateTime column without a zone of its own: the engine writes it in its time zone.
_ZONELESS = re.compile(r"^(?:Nullable\(|LowCardinality\()*DateTime(?:64\(\d+\))?\)*$")
# Given each column's SQL reference and type, the select list to stream instead (or None).
CellRewrite = Callable[[Sequence[tuple[str, str]]], "list[str] | None"]


def stream(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    tag: QueryTag,
    fmt: ExportFormat,
    max_rows: int | None = None,
    query_id: str = "",
    cells: CellRewrite | None = None,
) -> ResultStream:
    """Stream user SQL (guarded) as CSV/TSV with a header line, or JSON lines.

    Chunks of at most 1 MiB, constant memory, under the export limits
    (``ANALYTICS_EXPORT_*``); a result over ``ANALYTICS_EXPORT_MAX_ROWS`` raises
    :class:`ResultTooLarge` while iterating, so write to a temporary file and keep it only
    when the iteration ends normally. The engine is opened before this returns (errors such
    as a busy engine surface here, not mid-response); close the stream (or exhaust it) to
    release the engine. ``max_rows`` cuts the export short (the CLI's ``--limit``).
    ``cells`` (CSV/TSV) rewrites the columns in the engine, by the select list it returns
    from the result's columns; the stream's ``cells_rewritten`` says whether it did.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if max_rows is not None and int(max_rows) < 1:
        raise ParameterError("max_rows must be at least 1")
    engine_settings = config.export_limits().as_settings()
    # The reader (Python, then a file or a socket) sets the pace: formatting blocks in
    # parallel only queues more of them in memory (measured: ~25 MB more, no faster).
    engine_settings["output_format_parallel_formatting"] = 0
    # The byte shapes the formula rewrite (formulas.py) relies on, whatever a server
    # profile says: comma-separated, LF line ends, every text value double-quoted.
    engine_settings.update(
        format_csv_delimiter=",",
        output_format_csv_crlf_end_of_line=0,
        format_tsv_null_representation="\\N",
        # A Decimal keeps its scale, as the console shows it (221280.10, not 221280.1).
        output_format_decimal_trailing_zeros=1,
    )
    return ResultStream(sql, params, engine_settings, tag, fmt, max_rows, query_id, cells)


class ResultStream:
    """An iterator of byte chunks holding one engine session until closed or exhausted."""

    def __init__(
        self,
        sql: str,
        params: Mapping[str, Any] | None,
        limits: dict,
        tag: QueryTag,
        fmt: str,
        max_rows: int | None = None,
        query_id: str = "",
        cells: CellRewrite | None = None,
    ) -> None:
        self.fmt = fmt
        self.query_id = query_id or watchdog.new_query_id()
        self.columns: list[str] = []
        self.types: list[str] = []
        self.timezone = ""  # the engine's time zone, when a DateTime column has none of its own
        self.header = b""  # the header line the first chunk starts with
        self.cells_rewritten = False
        self._raw = None
        self._chunks: Iterator[bytes] = iter(())
        self._closed = False
        self._stack = contextlib.ExitStack()
        seconds = float(limits["max_execution_time"])
        self._engine = engine = backend.current()
        try:
            self._stack.enter_context(slots.slot(tag.user, seconds))
            session = self._stack.enter_context(
                engine.session(limits, tag, readonly=True, query_id=self.query_id)
            )
            # No abandon: a stream's clock runs while its reader (a slow download) sets the pace.
            self._stack.enter_context(watchdog.deadline(self.query_id, seconds, engine.cancel))
            statement, values = prepare_in(session, sql, params)
            if max_rows is not None:
                # The checked statement, wrapped: the engine stops after max_rows rows.
                statement = f"SELECT * FROM (\n{statement}\n) LIMIT {int(max_rows)}"  # noqa: S608
            header = self.header = self._describe(session, statement, values)
            if cells is not None and self.fmt != "jsonl":
                statement = self._rewritten(session, statement, values, cells)
            self._raw = session.raw_stream(statement, values, FORMATS[fmt])
            self._chunks = chunks_of(self._raw)
        except Exception as exc:
            self._stack.close()
            self._closed = True
            raise engine.translate(exc) from exc
        self._pending = header

    def _describe(self, session: Session, sql: str, params: dict) -> bytes:
        if self.fmt == "jsonl":
            return b""
        # DESCRIBE plans the query without running it: names and types for the header line.
        described = session.query(f"{DESCRIBE_PREFIX}\n{sql}\n)", params)
        self.columns = [row[0] for row in described.result_rows]
        self.types = [row[1] for row in described.result_rows]
        if any(_ZONELESS.match(kind) for kind in self.types):
            # The zone the engine writes a DateTime without its own in (XLSX states it).
            self.timezone = session.query("SELECT timezone()", {}).result_rows[0][0]
        if self.fmt == "csv":
            line = ",".join('"' + name.replace('"', '""') + '"' for name in self.columns)
        else:
            line = "\t".join(tsv_escape(name) for name in self.columns)
        return (line + "\n").encode()

    def _rewritten(self, session: Session, sql: str, params: dict, cells: CellRewrite) -> str:
        """``sql`` with its columns rewritten by ``cells``, or as it was when it cannot be
        (a name given twice cannot be told apart; a select list the engine does not plan)."""
        if len(set(self.columns)) < len(self.columns):
            return sql
        references = [quote_identifier(name) for name in self.columns]
        chosen = cells(list(zip(references, self.types, strict=True)))
        if chosen is None:
            return sql
        if chosen != references:
            wrapped = f"SELECT {', '.join(chosen)} FROM (\n{sql}\n)"  # noqa: S608
            try:
                planned = session.query(f"{DESCRIBE_PREFIX}\n{wrapped}\n)", params).result_rows
            except Exception:
                logger.warning("the export's column rewrite did not plan; streaming as is")
                return sql
            if len(planned) != len(self.columns):
                return sql
            sql = wrapped
        self.cells_rewritten = True
        return sql

    def __iter__(self) -> ResultStream:
        return self

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            chunk = next(self._chunks, b"")
        except Exception as exc:
            self.close()
            raise self._engine.translate(exc) from exc
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


def chunks_of(raw) -> Iterator[bytes]:
    """The bytes of a raw stream in chunks of half to one CHUNK_SIZE (the last may be less).

    clickhouse-connect's stream file over the embedded engine copies each block the engine
    hands over into a buffer, and each read out of it twice more: its blocks are taken as
    they come instead, small ones gathered, large ones cut. Others are read CHUNK_SIZE at a time.
    """
    pull = getattr(raw, "_pull", None)  # the chDB stream file's next block, b"" at the end
    if not callable(pull):
        while chunk := raw.read(CHUNK_SIZE):
            yield chunk
        return
    parts: list[bytes] = []
    size = 0
    while block := pull():
        parts.append(block)
        size += len(block)
        if size < CHUNK_SIZE // 2:
            continue
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts, size = [], 0
        pieces = -(-len(data) // CHUNK_SIZE)
        step = -(-len(data) // pieces)
        if pieces == 1:
            yield data
            continue
        for start in range(0, len(data), step):
            yield data[start : start + step]
    if parts:
        yield b"".join(parts)


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def tsv_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )
