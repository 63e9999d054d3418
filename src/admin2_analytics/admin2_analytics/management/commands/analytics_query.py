"""``admin2 analytics_query``: run one read query from the shell, through the same seam.

Same guard, limits, read-only engine and query tag (source ``cli``) as the web pages. Rows
print as a table (or CSV/TSV/JSON lines with ``--format``); ``--output`` writes a file that
appears only when complete. Any refusal or error exits 1 with one line saying why.
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

from admin2_analytics import engine
from admin2_analytics.errors import AnalyticsError, ParameterError

FORMATS = ("csv", "tsv", "jsonl")
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
        parser.add_argument("--format", choices=FORMATS, help="csv, tsv or jsonl (default: table)")
        parser.add_argument("--output", type=Path, help="write to this file instead of stdout")
        parser.add_argument("--limit", type=int, help="at most N rows")

    def handle(self, *args, sql, saved, param, format, output, limit, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        try:
            if saved:
                sql, defaults = _saved_query(saved)
            else:
                defaults = {}
            params = {**defaults, **_parse_params(param)}
            tag = engine.QueryTag(user=_os_user(), source="cli", saved_query=saved or "")
            fmt = format or _format_from_suffix(output)
            if fmt is None:
                self._print_table(sql, params, tag, limit)
            else:
                self._stream(sql, params, tag, fmt, output, limit)
        except AnalyticsError as exc:
            raise CommandError(_one_line(exc)) from None

    def _print_table(self, sql, params, tag, limit):
        result = engine.execute(sql, params, tag=tag, max_rows=limit)
        cells = [result.columns] + [[_cell(value) for value in row] for row in result.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(result.columns))]
        for row in cells:
            line = "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
            self.stdout.write(line.rstrip())
        rows = f"{result.row_count} row{'s' if result.row_count != 1 else ''}"
        more = f" (more exist; --limit {limit})" if result.truncated else ""
        self.stderr.write(f"{rows}{more} in {result.elapsed_ms:.1f} ms")

    def _stream(self, sql, params, tag, fmt, output, limit):
        started = time.perf_counter()
        stream = engine.stream(sql, params, tag=tag, fmt=fmt, max_rows=limit)
        with stream:
            if output is None:
                written = _copy(stream, sys.stdout.buffer)
                sys.stdout.flush()
            else:
                written = _write_atomically(stream, output)
        where = f" to {output}" if output else ""
        self.stderr.write(
            f"{written:,} bytes of {fmt}{where} in {time.perf_counter() - started:.2f} s"
        )


def _copy(stream, target) -> int:
    written = 0
    for chunk in stream:
        target.write(chunk)
        written += len(chunk)
    return written


def _write_atomically(stream, output: Path) -> int:
    """Write beside the target, rename only when the stream ended well: no half files."""
    output = output.expanduser()
    if output.is_dir():
        raise CommandError(f"--output {output} is a directory")
    if not output.parent.is_dir():
        raise CommandError(f"--output: directory {output.parent} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(handle, "wb") as target:
            written = _copy(stream, target)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return written


def _saved_query(name: str) -> tuple[str, dict]:
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
    defaults = {k: "" if v is None else str(v) for k, v in (query.parameter_defaults or {}).items()}
    return query.sql, defaults


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
    return {"tsv": "tsv", "tab": "tsv", "jsonl": "jsonl", "ndjson": "jsonl"}.get(suffix, "csv")


def _os_user() -> str:
    try:
        return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"cli:uid{os.getuid()}"


def _cell(value) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
