"""``admin2 analytics_query``: run one read query from the shell, through the same seam.

Same guard, limits, read-only engine and history as the pages (source ``cli``); a refusal or
error exits 1 with one line saying why. Options and behaviour: docs/clickhouse.md.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import sys
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from admin2_analytics import engine, history
from admin2_analytics.errors import AnalyticsError, ParameterError
from admin2_analytics.exports import FORMATS as EXPORT_FORMATS
from admin2_analytics.exports import body, open_stream

FORMATS = tuple(EXPORT_FORMATS)
CELL_WIDTH = 60


class Command(BaseCommand):
    help = "Run one read-only ClickHouse query (guarded, with limits) and print or save rows."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--sql", help="the SQL to run (one SELECT)")
        source.add_argument("--saved", metavar="NAME", help="run the saved query with this name")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a value for a {name:Type} placeholder (repeatable)",
        )
        parser.add_argument(
            "--format", choices=FORMATS, help="csv, tsv, jsonl or xlsx (default: a table)"
        )
        parser.add_argument("--output", type=Path, help="write to this file instead of stdout")
        parser.add_argument("--limit", type=int, help="at most N rows")
        parser.add_argument(
            "--raw-cells",
            action="store_true",
            help="CSV/TSV: keep cells starting with = + - @ (tab, CR) as the engine wrote them "
            "(default: prefix them with ' so spreadsheets do not run them as formulas)",
        )

    def handle(
        self, *args, sql, saved, param, format, output, limit, raw_cells, verbosity, **options
    ):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        sql, query, params = _inputs(sql, saved, param)
        account = _os_account()
        fmt = format or _format_from_suffix(output)
        run = None
        try:
            with history.recorded(
                sql=sql, source="cli", saved_query=query, params=params, os_user=account,
                quiet=True,
            ) as run:  # fmt: skip
                run.row_count = self._run(sql, params, run, fmt, output, limit, raw=raw_cells)
        except AnalyticsError as exc:
            raise CommandError(_one_line(exc)) from None
        finally:
            # The reason line is the whole answer to a failed run: a history warning beside
            # it only with -v 2.
            failed = sys.exc_info()[0] is not None
            if run is not None and verbosity > (1 if failed else 0):
                self._warn_unrecorded(run)

    def _run(self, sql, params, run: history.PendingRun, fmt, output, limit, *, raw) -> int:
        if fmt is None:
            return self._print_table(sql, params, run, limit)
        return self._stream(sql, params, run, fmt, output, limit, raw=raw)

    def _warn_unrecorded(self, run: history.PendingRun) -> None:
        if run.unrecorded is not None:
            reason = _one_line(f"{type(run.unrecorded).__name__}: {run.unrecorded}")
            self.stderr.write(f"warning: not recorded in the query history ({reason})")

    def _print_table(self, sql, params, run: history.PendingRun, limit) -> int:
        result = engine.execute(sql, params, tag=run.tag, max_rows=limit, query_id=run.query_id)
        cells = [result.columns] + [[_cell(value) for value in row] for row in result.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(result.columns))]
        for row in cells:
            line = "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
            self.stdout.write(line.rstrip())
        rows = f"{result.row_count} row{'s' if result.row_count != 1 else ''}"
        more = f" (more exist; --limit {limit})" if result.truncated else ""
        self.stderr.write(f"{rows}{more} in {result.elapsed_ms:.1f} ms")
        return result.row_count

    def _stream(self, sql, params, run: history.PendingRun, fmt, output, limit, *, raw) -> int:
        started = time.perf_counter()
        stream = open_stream(
            sql, params, fmt, tag=run.tag, query_id=run.query_id, max_rows=limit, raw=raw or None
        )
        with stream:
            written = body(stream, fmt, raw=raw or None)  # None: the setting decides
            if output is None:
                _copy(written, sys.stdout.buffer)
                sys.stdout.flush()
            else:
                _write_atomically(written, output)
        where = f" to {output}" if output else ""
        self.stderr.write(
            f"{written.bytes:,} bytes of {fmt}{where} in {time.perf_counter() - started:.2f} s"
        )
        return written.records


def _copy(chunks, target) -> None:
    for chunk in chunks:
        target.write(chunk)


def _write_atomically(chunks, output: Path) -> None:
    """Write beside the target, rename only when the stream ended well: no half files."""
    output = output.expanduser()
    if output.is_dir():
        raise CommandError(f"--output {output} is a directory")
    if not output.parent.is_dir():
        raise CommandError(f"--output: directory {output.parent} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(handle, "wb") as target:
            _copy(chunks, target)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _inputs(sql, saved, param) -> tuple:
    """The SQL (a saved query's, with --saved), that query, and its parameter values: the saved
    defaults overridden by each --param."""
    query = _saved_query(saved) if saved else None
    if query is not None:
        sql = query.sql
    try:
        params = {**_saved_defaults(query), **_parse_params(param)}
    except AnalyticsError as exc:
        raise CommandError(_one_line(exc)) from None
    return sql, query, params


def _saved_query(name: str):
    try:
        from admin2_analytics.models import SavedQuery
    except ImportError:  # the pages side (models) is not installed
        raise CommandError("--saved needs the saved queries of the analytics pages") from None
    try:
        query = SavedQuery.objects.get(name=name)
    except SavedQuery.DoesNotExist:
        known = list(SavedQuery.objects.order_by("name").values_list("name", flat=True)[:10])
        hint = f"; known: {', '.join(known)}" if known else "; none exist yet"
        raise CommandError(f"no saved query named {name!r}{hint}") from None
    return query


def _saved_defaults(query) -> dict[str, str]:
    if query is None:
        return {}
    return {k: "" if v is None else str(v) for k, v in (query.parameter_defaults or {}).items()}


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--param {pair!r}: expected NAME=VALUE", name=name)
        params[name.strip()] = value
    return params


def _format_from_suffix(output: Path | None) -> str | None:
    if output is None:
        return None
    suffix = output.suffix.lower().lstrip(".")
    by_suffix = {"tsv": "tsv", "tab": "tsv", "jsonl": "jsonl", "ndjson": "jsonl", "xlsx": "xlsx"}
    return by_suffix.get(suffix, "csv")


def _os_account() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


def _cell(value) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())
