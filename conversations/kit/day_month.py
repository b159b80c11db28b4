"""Dates as a day and a month ('Jun 1', '1er juin'), with French's ordinal for the first
of the month, which Babel's CLDR patterns leave out ('1 juin')."""

from __future__ import annotations

import re
from datetime import date

from babel import Locale
from babel.dates import format_skeleton

_FIRST = re.compile(r"(?<!\d)1(?!\d)")  # the day, when it is the 1st: never part of a year


def day_month(day: date, locale: Locale, skeleton: str = "MMMd") -> str:
    """`day` formatted with a Babel skeleton ('MMMd', 'MMMMd', 'd', 'yMMMd'); in French,
    the first of the month is written « 1er » (OQLF), as in « 1er juin »."""
    text = format_skeleton(skeleton, day, locale=locale)
    if day.day == 1 and locale.language == "fr":
        return _FIRST.sub("1er", text, count=1)
    return text
