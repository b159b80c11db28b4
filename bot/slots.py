"""Reading the times, weekdays and time zones people type, in English or French."""

from __future__ import annotations

import re
import unicodedata
from datetime import time
from functools import cache
from zoneinfo import available_timezones

from bot.i18n import N_
from storage.programs import is_fixed_zone

# Canadian zones offered as buttons, west to east; labels are translated where shown.
CANADIAN_ZONES: tuple[tuple[str, str], ...] = (
    ("America/Vancouver", N_("Pacific (Vancouver)")),
    ("America/Edmonton", N_("Mountain (Edmonton, Calgary)")),
    ("America/Regina", N_("Saskatchewan (Regina)")),
    ("America/Winnipeg", N_("Central (Winnipeg)")),
    ("America/Toronto", N_("Eastern (Toronto, Montréal, Ottawa)")),
    ("America/Halifax", N_("Atlantic (Halifax, Moncton)")),
    ("America/St_Johns", N_("Newfoundland (St. John's)")),
)

# Cities people type that are not the name of their zone.
CITY_ZONES = {
    "montreal": "America/Toronto",
    "quebec": "America/Toronto",
    "ottawa": "America/Toronto",
    "gatineau": "America/Toronto",
    "calgary": "America/Edmonton",
    "saskatoon": "America/Regina",
    "victoria": "America/Vancouver",
    "moncton": "America/Moncton",
    "fredericton": "America/Moncton",
    "charlottetown": "America/Halifax",
    "st johns": "America/St_Johns",
    "saint-jean de terre-neuve": "America/St_Johns",
    "yellowknife": "America/Edmonton",
    "whitehorse": "America/Whitehorse",
}

WEEKDAYS = {
    "mon": 0, "monday": 0, "lun": 0, "lundi": 0,
    "tue": 1, "tues": 1, "tuesday": 1, "mar": 1, "mardi": 1,
    "wed": 2, "wednesday": 2, "mer": 2, "mercredi": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "jeu": 3, "jeudi": 3,
    "fri": 4, "friday": 4, "ven": 4, "vendredi": 4,
    "sat": 5, "saturday": 5, "sam": 5, "samedi": 5,
    "sun": 6, "sunday": 6, "dim": 6, "dimanche": 6,
}  # fmt: skip

_TIME = re.compile(
    r"^(?P<hour>\d{1,2})\s*(?:(?::|h|\.)\s*(?P<minute>\d{2})?)?\s*(?P<half>a\.?m\.?|p\.?m\.?)?$"
)


def fold(text: str) -> str:
    """Lower-case with accents removed, nothing else touched: 'Vidéo 1,5 h' -> 'video 1,5 h'.
    Shared by every parser of typed French/English so 'Hier' and 'hier', 'téléphone' and
    'telephone' read the same."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _plain(text: str) -> str:
    """Folded, spaces squeezed, dots and underscores dropped: 'Montréal ' -> 'montreal'."""
    stripped = fold(text.strip())
    return re.sub(r"\s+", " ", stripped.replace("_", " ").replace(".", ""))


def parse_time(text: str) -> time | None:
    """'9:00', '09h', '18 h 30', '6 pm', '6:30 p.m.' -> a time; None when unclear."""
    match = _TIME.match(text.strip().lower())
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    half = (match["half"] or "").replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_weekday(text: str) -> int | None:
    """'mon', 'Lundi', 'jeu.' -> 0…6 (Monday is 0); None when not a weekday."""
    return WEEKDAYS.get(_plain(text))


def parse_slot(text: str) -> tuple[int, time] | None:
    """'mon 09:00', 'lundi 9 h' -> (weekday, time)."""
    day, _, rest = text.strip().partition(" ")
    weekday = parse_weekday(day)
    moment = parse_time(rest) if rest else None
    return None if weekday is None or moment is None else (weekday, moment)


@cache
def _zones_by_city() -> dict[str, str]:
    cities = {
        _plain(name.rsplit("/", 1)[-1]): name
        for name in available_timezones()
        if not is_fixed_zone(name)
    }
    cities.update(CITY_ZONES)
    return cities


def resolve_zone(text: str) -> str | None:
    """An IANA name (any case) or a city -> the zone's name; None when unknown, and for
    abbreviations and fixed offsets (EST, UTC-5), which ignore daylight saving time."""
    candidate = text.strip()
    if is_fixed_zone(candidate):
        return None
    if "/" in candidate:
        by_lower = {name.lower(): name for name in available_timezones()}
        name = by_lower.get(candidate.lower().replace(" ", "_"))
        if name is not None:
            return name
    return _zones_by_city().get(_plain(candidate))
