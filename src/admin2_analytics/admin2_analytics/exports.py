"""Exports of a saved query as CSV, TSV, JSON lines or XLSX: streamed, or a background file.

A background file is written whole before it is published to the media storage, local or
S3 (``stored_files``); finished files expire.
Formula-leading text cells are neutralized on every way out (``formulas``). docs/analytics.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from admin2 import background
from admin2_analytics import engine, formulas, history, stored_files, xlsx
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.kinds import ExportFormat
from admin2_analytics.models import Export
from admin2_analytics.parameters import bind

logger = logging.getLogger(__name__)

EXPORT_TASK = "admin2_analytics.run_export"
EXPORT_PERMISSION = "analytics.export_savedquery"
EXPORT_QUEUE = "exports"
_NOT_QUOTE_OR_NEWLINE = bytes(byte for byte in range(256) if byte not in b'"\n')
# CSV and TSV exports start with a header line of column names; JSON lines carry names inline.
HEADER_LINES = {"csv": 1, "tsv": 1, "jsonl": 0}


class RecordCounter:
    """Counts records in an export stream chunk by chunk, without holding the stream.

    TSV and JSON lines escape newlines inside values, so a record is a line. CSV may quote a
    value with a raw newline in it: a newline ends a record only outside quotes, and since
    quotes inside a quoted value are doubled, the quote count's parity tells which is which.
    """

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.lines = 0
        self.bytes = 0
        self._in_quotes = False
        self._last = b""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.bytes += len(chunk)
        self._last = chunk[-1:]
        if self.fmt != "csv" or (not self._in_quotes and b'"' not in chunk):
            self.lines += chunk.count(b"\n")
            return
        # Only quotes and newlines matter, and a pair of adjacent quotes (a closed value, or a
        # doubled quote once the bytes between are gone) changes no newline's side: what is
        # left is a few quotes, around newlines inside values. Splitting at every quote made
        # an object per quoted value and cost more than the export itself.
        marks = chunk.translate(None, _NOT_QUOTE_OR_NEWLINE).replace(b'""', b"")
        quoted, start = self._in_quotes, 0
        while True:
            quote = marks.find(b'"', start)
            end = len(marks) if quote < 0 else quote
            if not quoted:
                self.lines += marks.count(b"\n", start, end)
            if quote < 0:
                break
            quoted, start = not quoted, quote + 1
        self._in_quotes = quoted

    @property
    def records(self) -> int:
        lines = self.lines + (1 if self._last not in (b"", b"\n") else 0)
        return max(0, lines - HEADER_LINES.get(self.fmt, 0))


def file_name(saved_query, fmt: str, when: dt.datetime | None = None) -> str:
    stamp = timezone.localtime(when or timezone.now()).strftime("%Y%m%d-%H%M%S")
    return f"{slugify(saved_query.name) or 'query'}-{stamp}.{fmt}"


def raw_cells() -> bool:
    """Whether exports keep formula-leading cells as the engine wrote them (the setting)."""
    return bool(getattr(settings, "ANALYTICS_EXPORT_RAW_CELLS", False))


def export_chunks(stream, *, raw: bool | None = None):
    """The chunks of an engine stream as an export file holds them: formula-leading CSV/TSV
    text cells neutralized unless ``raw`` (default: the ``ANALYTICS_EXPORT_RAW_CELLS``
    setting)."""
    return formulas.neutralized(stream, stream.fmt, raw=raw_cells() if raw is None else raw)


class TextBody:
    """The bytes of a CSV, TSV or JSON lines export: the engine's own, formula-leading text
    cells neutralized unless ``raw``; counts records and bytes as they pass."""

    def __init__(self, stream, *, raw: bool):
        self._stream = stream
        self._raw = raw
        self._counter = RecordCounter(stream.fmt)

    def __iter__(self):
        for chunk in formulas.neutralized(self._stream, self._stream.fmt, raw=self._raw):
            self._counter.feed(chunk)
            yield chunk

    @property
    def records(self) -> int:
        return self._counter.records

    @property
    def bytes(self) -> int:
        return self._counter.bytes


@dataclass(frozen=True)
class Format:
    """One export format: what the engine streams for it and how that becomes the file."""

    content_type: str
    engine_format: str  # the engine's stream it is made from (``engine.stream(fmt=...)``)
    body: Callable  # (engine stream, raw=bool) -> iterable of bytes with .records, .bytes


# The one registry of export formats: pages, the console, reports and background exports
# offer and make exactly these.
FORMATS: dict[str, Format] = {
    "csv": Format("text/csv; charset=utf-8", "csv", TextBody),
    "tsv": Format("text/tab-separated-values; charset=utf-8", "tsv", TextBody),
    "jsonl": Format("application/x-ndjson", "jsonl", TextBody),
    "xlsx": Format(xlsx.CONTENT_TYPE, "tsv", xlsx.XlsxBody),
}
CONTENT_TYPES = {name: spec.content_type for name, spec in FORMATS.items()}
if set(FORMATS) != set(ExportFormat.values):  # the model's choices and this table agree
    raise ImproperlyConfigured("exports.FORMATS must name every kinds.ExportFormat")


def open_stream(
    sql: str, params: dict, fmt: str, *, tag, query_id: str = "", max_rows=None, raw=None
):
    """The engine stream an export of ``fmt`` is made from (opened: errors surface here).

    A CSV export has the engine neutralize formula-leading text cells itself where it can
    (``formulas.engine_cells``), unless ``raw`` (the setting decides when None); give
    ``body`` the same ``raw``.
    """
    engine_format = FORMATS[fmt].engine_format
    raw = raw_cells() if raw is None else raw
    cells = formulas.engine_cells(fmt) if fmt in formulas.ENGINE_FORMATS and not raw else None
    return engine.stream(
        sql, params or None, tag=tag, fmt=engine_format, query_id=query_id, max_rows=max_rows,
        cells=cells,
    )  # fmt: skip


def body(stream, fmt: str, *, raw: bool | None = None):
    """The export file's bytes from an open engine stream (``raw``: the setting decides)."""
    return FORMATS[fmt].body(stream, raw=raw_cells() if raw is None else raw)


class _DownloadBody:
    """The response body of a streamed export: passes the engine's chunks on (formula cells
    neutralized), and records the run in the history once, when the download ends, fails or
    is abandoned."""

    def __init__(self, stream, fmt: str, run: history.PendingRun):
        self._stream = stream
        self._run = run
        self._body = body(stream, fmt)
        self._done = False

    def __iter__(self):
        try:
            yield from self._body
        except Exception as exc:
            # Headers are gone already: the client sees a cut download; history and log say why.
            logger.exception("export stream broke off after %d bytes", self._body.bytes)
            self._finish(error=f"{type(exc).__name__}: {exc}")
            raise
        self._finish()

    def close(self) -> None:
        """Called by the server when the response ends, also on a client disconnect."""
        self._finish(error="the download was interrupted" if not self._done else None)

    def _finish(self, error: str | None = None) -> None:
        self._stream.close()  # frees the engine (and the embedded engine's lease) at once
        if self._done:
            return
        self._done = True
        self._run.finish(row_count=None if error else self._body.records, error=error)


def streaming_response(saved_query, params: dict, fmt: str, *, user) -> StreamingHttpResponse:
    """A download response streaming the export; raises AnalyticsError before any byte
    (``engine.stream`` opens the engine and plans the query before it returns)."""
    return sql_streaming_response(
        saved_query.sql, params, fmt, user=user, name=saved_query.name, saved_query=saved_query
    )


def sql_streaming_response(
    sql: str, params: dict, fmt: str, *, user, name: str, saved_query=None
) -> StreamingHttpResponse:
    """The streamed download of any guarded SQL: a saved query's, or the console's."""
    with history.recorded(
        sql=sql, source="web", user=user, saved_query=saved_query, params=params, kind="export"
    ) as run:
        stream = open_stream(sql, params, fmt, tag=run.tag, query_id=run.query_id)
        run.hand_over()  # the body finishes the run when the download ends
    response = StreamingHttpResponse(
        _DownloadBody(stream, fmt, run), content_type=CONTENT_TYPES[fmt]
    )
    stamp = timezone.localtime(timezone.now()).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = (
        f'attachment; filename="{slugify(name) or "query"}-{stamp}.{fmt}"'
    )
    response["X-Accel-Buffering"] = "no"  # let Nginx pass chunks on instead of spooling
    response["Cache-Control"] = "no-store"
    return response


def write_file(
    sql: str,
    params: dict,
    *,
    fmt: str,
    tag,
    final: Path,
    raw: bool | None = None,
    query_id: str = "",
) -> TextBody | xlsx.XlsxBody:
    """Stream into a hidden ``.part`` file beside ``final`` and rename it into place only
    when complete; on any failure the partial file is removed. Formula-leading CSV/TSV cells
    are neutralized unless ``raw`` (default: the ``ANALYTICS_EXPORT_RAW_CELLS`` setting)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.part"
    try:
        with (
            open(partial, "wb") as handle,
            open_stream(sql, params, fmt, tag=tag, query_id=query_id, raw=raw) as stream,
        ):
            counter = body(stream, fmt, raw=raw)
            for chunk in counter:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counter


def exports_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / settings.ANALYTICS_EXPORT_DIR


def ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.ANALYTICS_EXPORT_TTL_HOURS)


def queue_export(saved_query, raw_params: dict[str, str], fmt: str, *, user) -> Export:
    """Create an Export row and hand it to the background worker.

    If the broker cannot take the job, the row is kept, marked failed with the reason, and
    ``background.BackgroundUnavailable`` propagates so the page can say so: nothing is lost
    silently.
    """
    export = Export.objects.create(
        saved_query=saved_query, params=raw_params, format=fmt, requested_by=user
    )
    try:
        task_id = background.submit(
            EXPORT_TASK, kwargs={"export_id": export.pk}, queue=EXPORT_QUEUE, user_id=user.pk
        )
    except background.BackgroundUnavailable as exc:
        Export.objects.filter(pk=export.pk).update(
            state=Export.State.FAILED,
            error=f"could not queue the export: {exc}",
            finished_at=timezone.now(),
            expires_at=timezone.now() + ttl(),
        )
        raise
    Export.objects.filter(pk=export.pk, task_id="").update(task_id=str(task_id or ""))
    export.refresh_from_db()
    return export


def run_export(export_id: int) -> str:
    """The body of the ``admin2_analytics.run_export`` task. Safe to run again: a finished
    export is left alone, an interrupted one is redone from scratch."""
    export = Export.objects.select_related("saved_query", "requested_by").filter(pk=export_id)
    export = export.first()
    if export is None:
        return "gone"
    if export.state == Export.State.DONE and export.file and stored_files.exists(export.file.name):
        return "already done"
    if export.state == Export.State.FAILED:
        return "failed before"
    query, user = export.saved_query, export.requested_by
    if refusal := _refusal(query, user):
        return _fail(export, refusal)
    Export.objects.filter(pk=export.pk).update(state=Export.State.RUNNING, error="")
    try:
        params = bind(query.sql, {**query.parameter_defaults, **export.params})
    except Exception as exc:
        return _fail(export, f"bad parameters: {'; '.join(getattr(exc, 'problems', [str(exc)]))}")
    # Named after the row, not the clock: a re-run replaces the same file instead of
    # leaving an orphan beside it.
    name = file_name(query, export.format, export.created_at)
    relative = f"{settings.ANALYTICS_EXPORT_DIR}/{export.pk}-{name}"
    try:
        with history.recorded(
            sql=query.sql, source="task", user=user, saved_query=query, params=params,
            kind="export",
        ) as run, stored_files.spooled(relative) as spool:  # fmt: skip
            counter = write_file(
                query.sql, params, fmt=export.format, tag=run.tag,
                final=spool, query_id=run.query_id,
            )  # fmt: skip
            run.row_count = counter.records
    except AnalyticsError as exc:
        return _fail(export, str(exc))
    except Exception as exc:
        _fail(export, f"the export failed unexpectedly ({type(exc).__name__})")
        raise
    now = timezone.now()
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.DONE,
        file=relative,
        size_bytes=counter.bytes,
        row_count=counter.records,
        finished_at=now,
        expires_at=now + ttl(),
        error="",
    )
    return f"{counter.records} rows"


def _refusal(query, user) -> str:
    if query is None:
        return "the saved query was deleted"
    if user is None or not user.is_active or not query.is_visible_to(user):
        return "the requesting user may no longer see this saved query"
    # Asked again when the task runs: the permission may have gone since the export was queued.
    if not user.has_perm(EXPORT_PERMISSION):
        return f"the requesting user may no longer export saved queries ({EXPORT_PERMISSION})"
    return ""


def cleanup_expired(now: dt.datetime | None = None) -> int:
    """Delete expired exports (file and row) and leftover partial files; return the count."""
    now = now or timezone.now()
    removed = 0
    for export in Export.objects.filter(expires_at__lte=now):
        if export.file:
            stored_files.delete(export.file.name)
        export.delete()
        removed += 1
    # A worker killed mid-write leaves a .part file (local media; a remote storage's spool is
    # a temporary file); anything older than the TTL is abandoned.
    directory = exports_dir()
    if directory.is_dir():
        cutoff = (now - ttl()).timestamp()
        for partial in directory.glob(".*.part"):
            if partial.stat().st_mtime < cutoff:
                partial.unlink(missing_ok=True)
    stored_files.sweep_spool(ttl().total_seconds())
    return removed


def _fail(export: Export, message: str) -> str:
    now = timezone.now()
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.FAILED, error=message, finished_at=now, expires_at=now + ttl()
    )
    return f"failed: {message}"
