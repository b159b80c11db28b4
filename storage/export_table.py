"""The shape every export table shares: columns, rows of typed cells, and the words the
column guide shows about them; and how a moment becomes two cells (local and UTC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

Cell = str | int | float | datetime | date | None
"""A datetime in a table is aware, in the program's zone or in UTC (a `_utc` column):
the XLSX writer makes it a naive spreadsheet date (Excel has no zones), the CSV writer
ISO 8601 with its offset, `Z` for UTC."""

UTC_SUFFIX = "_utc"


@dataclass
class ExportTable:
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    about: str = ""
    """What one row is, for the column guide."""
    notes: dict[str, str] = field(default_factory=dict)
    """Column -> what it holds, for the column guide."""
    title: str | None = None
    """The XLSX sheet's name when it is not the table's (the guide's is translated)."""


def timed(*names: str) -> list[str]:
    """Each timestamp column followed by its UTC twin: `sent_at, sent_at_utc`."""
    return [column for name in names for column in (name, name + UTC_SUFFIX)]


@dataclass(frozen=True)
class Stamp:
    """Turns a stored moment into the cells of `timed` columns: the moment in the
    program's zone, then in UTC."""

    zone: tzinfo

    def __call__(self, moment: datetime | None) -> list[Cell]:
        if moment is None:
            return [None, None]
        return [moment.astimezone(self.zone), moment.astimezone(UTC)]
