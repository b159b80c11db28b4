"""Export tables as files: an XLSX workbook (one sheet per table) or a zip of CSV files.

XLSX: a timestamp is a real spreadsheet date (Excel has no time zones, so the program's
local time, naive), a date a date, a number a number, and text always text, never a
formula. CSV: timestamps in ISO 8601 with their offset (`2026-11-16T09:00:00-05:00`,
`2026-11-16T14:00:00Z` in a `_utc` column),
UTF-8 with a byte order mark so Excel reads accents right, and text Excel would run as a
formula disarmed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from storage.export_table import Cell, ExportTable

MAX_COLUMN_WIDTH = 60
WIDTH_SAMPLE = 500  # rows looked at to size a column
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
# Characters that make Excel read a CSV cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters XLSX (XML) cannot hold.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _shown(value: Cell) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return "" if value is None else str(value)


def _width(table: ExportTable, index: int) -> int:
    longest = len(table.columns[index])
    for row in table.rows[:WIDTH_SAMPLE]:
        value = row[index]
        if value is not None:
            longest = max(longest, max(len(line) for line in _shown(value).splitlines() or [""]))
    return min(longest, MAX_COLUMN_WIDTH) + 2


def write_xlsx(tables: dict[str, ExportTable], path: Path | str | IO[bytes]) -> None:
    """One sheet per table, streamed (openpyxl's write-only mode): a bold, frozen header
    row, columns sized to their content."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, table in tables.items():
        sheet: Any = workbook.create_sheet(title=(table.title or name)[:31])
        for index in range(len(table.columns)):
            sheet.column_dimensions[get_column_letter(index + 1)].width = _width(table, index)
        sheet.freeze_panes = "A2"

        def cell(value: Cell, number_format: str | None = None, *, sheet: Any = sheet) -> Any:
            made = WriteOnlyCell(sheet, value)
            if number_format:
                made.number_format = number_format
            return made

        header = []
        for column in table.columns:
            made = cell(column)
            made.font = bold
            header.append(made)
        sheet.append(header)
        for row in table.rows:
            sheet.append([_xlsx_value(value, cell) for value in row])
    workbook.save(path)  # type: ignore[arg-type]


def _xlsx_value(value: Cell, cell: Any) -> Any:
    """Plain values go as they are; dates get a format, and text that openpyxl would take
    for a formula ("=…" typed by a participant) is forced to stay text."""
    if isinstance(value, str):
        value = ILLEGAL_XML.sub("", value)
        if value.startswith("="):
            made = cell(value)
            made.data_type = "s"
            return made
        return value
    if isinstance(value, datetime):
        return cell(value.replace(tzinfo=None), DATETIME_FORMAT)
    if isinstance(value, date):
        return cell(value, DATE_FORMAT)
    return value


def _csv_value(value: Cell) -> str | int | float | None:
    if isinstance(value, datetime):
        text = value.isoformat(timespec="seconds")
        return text.removesuffix("+00:00") + "Z" if value.tzinfo is UTC else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(table: ExportTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    writer.writerows([_csv_value(value) for value in row] for row in table.rows)
    return buffer.getvalue()


def write_csv_zip(tables: dict[str, ExportTable], path: Path | str | IO[bytes]) -> None:
    """A zip of `<table>.csv` files: UTF-8 with a byte order mark, comma-separated, CRLF
    line ends."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, table in tables.items():
            archive.writestr(f"{name}.csv", "\ufeff" + csv_text(table))
