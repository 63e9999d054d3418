"""XLSX exports: the engine's TabSeparated stream written as typed cells by xlsxwriter in its
constant-memory mode (one row in memory), then read back in chunks. Which type becomes which
cell, and why wide numbers become text: docs/analytics.md, "XLSX".
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import xlsxwriter

from admin2_analytics.engine.text_rows import unescape
from admin2_analytics.errors import ResultTooLarge
from admin2_analytics.formulas import formula_leading

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 1_048_576 - 1  # a worksheet's rows, less the header
EXACT_DIGITS = 15  # significant digits a spreadsheet's double shows unchanged
READ_SIZE = 1 << 20
SHEET = "Result"

_WRAPPERS = re.compile(r"^(?:(?:Nullable|LowCardinality)\()+(.*?)\)+$")
_DATETIME = re.compile(r"^DateTime(?:64\((\d+)(?:,\s*'([^']+)')?\)|\('([^']+)'\))?$")
_DECIMAL = re.compile(r"^Decimal(?:32|64|128|256)?\((?:\d+,\s*)?(\d+)\)$")
_INTEGER = re.compile(r"^U?Int(?:8|16|32|64|128|256)$")
_FLOAT = re.compile(r"^(?:Float32|Float64|BFloat16)$")
_DATE = re.compile(r"^Date(?:32)?$")

Writer = Callable[[object, int, int, str], None]


def bare_type(kind: str) -> str:
    """The column type without its Nullable/LowCardinality wrappers."""
    match = _WRAPPERS.match(kind)
    return match.group(1) if match else kind


def significant_digits(text: str) -> int:
    """Digits from the first non-zero one, trailing zeros included: an integer's are all
    significant (1e19 + 1 is not a double), a Decimal's fraction zeros are its scale."""
    return len(text.lstrip("-+").replace(".", "").lstrip("0"))


class Sheet:
    """One worksheet being written: per column a writer for its type."""

    def __init__(self, path: Path, scratch: str, columns: list[str], types: list[str],
                 timezone: str, *, raw: bool):  # fmt: skip
        self.workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "tmpdir": scratch,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.sheet = self.workbook.add_worksheet(SHEET)
        self.raw = raw
        self._formats: dict[str, object] = {}
        header = []
        self.writers: list[Writer] = []
        for name, kind in zip(columns, types, strict=True):
            writer, zone = self._writer(bare_type(kind), timezone)
            self.writers.append(writer)
            header.append(f"{name} ({zone})" if zone else name)
        self.sheet.write_row(0, 0, header, self._format("bold"))
        self.sheet.freeze_panes(1, 0)
        self.rows = 0

    def _format(self, spec: str):
        if spec not in self._formats:
            props = {"bold": True} if spec == "bold" else {"num_format": spec}
            self._formats[spec] = self.workbook.add_format(props)
        return self._formats[spec]

    def _writer(self, kind: str, timezone: str) -> tuple[Writer, str]:
        """How a column of ``kind`` writes a cell, and the time zone its header names."""
        if moment := _DATETIME.match(kind):
            precision, zone64, zone = moment.groups()
            digits = min(int(precision or 0), 3)
            shape = "yyyy-mm-dd hh:mm:ss" + ("." + "0" * digits if digits else "")
            return self._datetime(self._format(shape)), zone64 or zone or timezone
        if decimal := _DECIMAL.match(kind):
            scale = int(decimal.group(1))
            return self._exact(self._format("0." + "0" * scale if scale else "0")), ""
        return self._plain_writer(kind), ""

    def _plain_writer(self, kind: str) -> Writer:
        if _DATE.match(kind):
            return self._date(self._format("yyyy-mm-dd"))
        if _INTEGER.match(kind):
            return self._exact(None)
        if _FLOAT.match(kind):
            return self._float
        return self._bool if kind == "Bool" else self._text

    def _text(self, sheet, row: int, col: int, value: str) -> None:
        if not self.raw and formula_leading(value):
            value = "'" + value
        sheet.write_string(row, col, value)

    def _float(self, sheet, row: int, col: int, value: str) -> None:
        if value in ("inf", "-inf", "nan", "+inf", "-nan"):
            sheet.write_string(row, col, value)  # a spreadsheet number has no inf or nan
        else:
            sheet.write_number(row, col, float(value))

    def _bool(self, sheet, row: int, col: int, value: str) -> None:
        sheet.write_boolean(row, col, value == "true")

    def _exact(self, number_format) -> Writer:
        def write(sheet, row: int, col: int, value: str) -> None:
            if significant_digits(value) > EXACT_DIGITS:
                sheet.write_string(row, col, value)  # a double would change a digit
            else:
                sheet.write_number(row, col, float(value), number_format)

        return write

    def _date(self, number_format) -> Writer:
        def write(sheet, row: int, col: int, value: str) -> None:
            day = dt.date.fromisoformat(value)
            if day.year < 1900:  # before a spreadsheet's first day
                sheet.write_string(row, col, value)
            else:
                sheet.write_datetime(row, col, day, number_format)

        return write

    def _datetime(self, number_format) -> Writer:
        def write(sheet, row: int, col: int, value: str) -> None:
            moment = dt.datetime.fromisoformat(value)
            if moment.year < 1900:
                sheet.write_string(row, col, value)
            else:
                sheet.write_datetime(row, col, moment, number_format)

        return write

    def add(self, fields: list[str]) -> None:
        if self.rows >= MAX_ROWS:
            raise ResultTooLarge(
                f"an XLSX sheet holds at most {MAX_ROWS:,} rows; export CSV for more"
            )
        self.rows += 1
        row, sheet = self.rows, self.sheet
        for col, (field, write) in enumerate(zip(fields, self.writers, strict=True)):
            if field != "\\N":  # NULL: an empty cell
                write(sheet, row, col, unescape(field))

    def close(self) -> None:
        self.workbook.close()


def tsv_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a TabSeparated stream, however its chunks cut them."""
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line.decode("utf-8", "replace")
    if rest:
        yield rest.decode("utf-8", "replace")


class XlsxBody:
    """The bytes of an XLSX export of an engine TSV stream, with its row and byte counts
    (what ``exports`` needs of every format's body)."""

    def __init__(self, stream, *, raw: bool):
        self._stream = stream
        self._raw = raw
        self.records = 0
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        with tempfile.TemporaryDirectory(prefix="admin2-xlsx-") as scratch:
            path = Path(scratch) / "export.xlsx"
            self._write(path, scratch)
            with open(path, "rb") as handle:
                while chunk := handle.read(READ_SIZE):
                    self.bytes += len(chunk)
                    yield chunk

    def _write(self, path: Path, scratch: str) -> None:
        stream = self._stream
        lines = tsv_lines(stream)
        next(lines, None)  # the stream's header line: the sheet writes its own
        sheet = Sheet(path, scratch, stream.columns, stream.types, stream.timezone, raw=self._raw)
        try:
            for line in lines:
                sheet.add(line.split("\t"))
        finally:
            sheet.close()
        self.records = sheet.rows
