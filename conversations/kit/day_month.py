"""Dates as a day and a month ('Jun 1', '1er juin') or a span of them, with French's
ordinal for the first of the month, which Babel's CLDR patterns leave out ('1 juin')."""

from __future__ import annotations

import re
from datetime import date

from babel import Locale
from babel.dates import format_interval, format_skeleton

# A lone 1 in a date whose month is a word is the first of a month: years have four digits.
_FIRST = re.compile(r"(?<!\d)1(?!\d)")


def _first_as_ordinal(text: str, locale: Locale) -> str:
    return _FIRST.sub("1er", text) if locale.language == "fr" else text


def day_month(day: date, locale: Locale, skeleton: str = "MMMd") -> str:
    """`day` formatted with a Babel skeleton that names the month ('MMMd', 'MMMMd',
    'yMMMd') or shows the day alone ('d'); in French, the first of the month is written
    « 1er » (OQLF), as in « 1er juin »."""
    return _first_as_ordinal(format_skeleton(skeleton, day, locale=locale), locale)


def day_month_span(first: date, last: date, locale: Locale, skeleton: str = "yMMMd") -> str:
    """'Jun 1–7, 2026' / « 1er–7 juin 2026 », « 25 mai – 1er nov. 2026 »: the days from
    `first` to `last`, with a skeleton that names the month."""
    return _first_as_ordinal(format_interval(first, last, skeleton, locale=locale), locale)
