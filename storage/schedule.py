"""Weekly check-in slots as time maths: pure functions, no database, no clock.

A participant's slot is a weekday and a wall-clock time in their own zone ("Monday 09:00
in America/St_Johns"). Each occurrence of it opens a period named after the ISO week of
the local date ("2026-W47") that stays open until the next occurrence. Everything the
dispatcher stores is UTC; everything people see is local.

Daylight saving: a slot inside the spring-forward gap (02:30 on the night clocks jump to
03:00) happens when the clocks say 03:30 — the wall time read with the offset in force
before the jump; a slot inside the fall-back overlap (01:30 happens twice) happens the
first time (``fold=0``). Both are what ``datetime.combine(..., tzinfo=zone)`` gives with
zoneinfo, so the rule is stated here once and tested, not re-implemented.

The second half reads the slots people type: times, weekdays and time zones, in English or
French ("lundi 9 h", "6:30 p.m.", "Montréal"), for the dialogues and the command line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from locales.translator import N_
from storage.programs import is_fixed_zone

WEEK = timedelta(days=7)
DEFAULT_REMINDER_HOURS = 24
PULSE_INSTRUMENT = "relationship_pulse"
CHECKIN_KIND = "checkin"
# The first occurrence of any weekday in a month falls on day 1 to 7.
PULSE_LAST_DAY = 7


@dataclass(frozen=True)
class Slot:
    """A weekly wall-clock appointment: `weekday` 0 = Monday, `at` naive local time."""

    weekday: int
    at: time
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")


@dataclass(frozen=True)
class Occurrence:
    """One week's appointment: its period key, local date and the UTC instants at which it
    is due and at which its period closes (the next occurrence)."""

    period: str
    local_date: date
    due_at: datetime
    closes_at: datetime

    @property
    def pulse(self) -> bool:
        return is_pulse_week(self.local_date)


@dataclass(frozen=True)
class PlannedPrompt:
    """What the dispatcher will store for one occurrence and one role."""

    occurrence: Occurrence
    kind: str
    instrument: str
    remind_at: datetime | None


def period_key(local_date: date) -> str:
    """The ISO week of a local date: '2026-W47'. Sorts chronologically as text."""
    year, week, _ = local_date.isocalendar()
    return f"{year}-W{week:02d}"


@lru_cache(maxsize=256)
def period_monday(period: str) -> date | None:
    """The Monday of a `period_key` like "2026-W47"; None for anything else. (Kept: a
    dispatcher's batch, a digest or a chart reads a few weeks thousands of times.)"""
    try:
        year, week = period.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return None


def is_pulse_week(local_date: date) -> bool:
    """The first check-in of a calendar month is the monthly relationship pulse."""
    return local_date.day <= PULSE_LAST_DAY


def wall_time_to_utc(local_date: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant a wall-clock time happens on a local date (gap: moved forward by
    the jump; overlap: the first occurrence)."""
    wall = datetime.combine(local_date, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    return wall.astimezone(UTC)


def occurrence_on(slot: Slot, local_date: date) -> Occurrence:
    """The occurrence on `local_date`, which must be the slot's weekday."""
    if local_date.weekday() != slot.weekday:
        raise ValueError(f"{local_date} is not weekday {slot.weekday}")
    return Occurrence(
        period=period_key(local_date),
        local_date=local_date,
        due_at=wall_time_to_utc(local_date, slot.at, slot.zone),
        closes_at=wall_time_to_utc(local_date + WEEK, slot.at, slot.zone),
    )


def occurrences(slot: Slot, start: datetime, end: datetime) -> list[Occurrence]:
    """Occurrences due in [start, end], oldest first."""
    local_start = start.astimezone(slot.zone).date()
    # The slot's weekday on or before the local start date, one more week back in case
    # that day's slot lies after `start` in UTC but a DST shift moved it (cheap safety).
    day = local_start - timedelta(days=(local_start.weekday() - slot.weekday) % 7) - WEEK
    found: list[Occurrence] = []
    while True:
        occurrence = occurrence_on(slot, day)
        if occurrence.due_at > end:
            return found
        if occurrence.due_at >= start:
            found.append(occurrence)
        day += WEEK


def current_occurrence(slot: Slot, now: datetime) -> Occurrence:
    """The occurrence whose period is open at `now` (due_at ≤ now < closes_at)."""
    # A week between occurrences is 7 days give or take a DST hour (or a day, when a zone
    # once skipped one): two weeks back always holds the latest.
    return occurrences(slot, now - 2 * WEEK, now)[-1]


def instrument_for(role: str, pulse: bool, settings: Mapping[str, Any]) -> str:
    """The instrument key for a role's check-in: '<role>_weekly', or the relationship
    pulse in the month's first week. A program chooses its own through
    ``settings["instruments"]``, keyed by "mentee", "mentor" and "pulse", e.g.
    ``{"mentee": "ece_mentee_weekly"}``."""
    default = PULSE_INSTRUMENT if pulse else f"{role}_weekly"
    chosen = settings.get("instruments") or {}
    if not isinstance(chosen, Mapping):
        return default
    return str(chosen.get("pulse" if pulse else role) or default)


def reminder_delay(settings: Mapping[str, Any]) -> timedelta | None:
    """How long after a prompt its one reminder is due (``settings["reminder_hours"]``,
    24 by default); None when the program turned reminders off (0 or null)."""
    hours = settings.get("reminder_hours", DEFAULT_REMINDER_HOURS)
    if hours is None or float(hours) <= 0:
        return None
    return timedelta(hours=float(hours))


def plan(
    slot: Slot, role: str, settings: Mapping[str, Any], start: datetime, end: datetime
) -> list[PlannedPrompt]:
    """The check-ins a participant with this slot and role gets, due in [start, end]."""
    delay = reminder_delay(settings)
    return [
        PlannedPrompt(
            occurrence=occurrence,
            kind=CHECKIN_KIND,
            instrument=instrument_for(role, occurrence.pulse, settings),
            remind_at=None if delay is None else occurrence.due_at + delay,
        )
        for occurrence in occurrences(slot, start, end)
    ]


# --- reflection prompts ---------------------------------------------------------------

REFLECTION_KIND = "reflection"
DEFAULT_REFLECTION_WEEKS = 2
REFLECTION_DAYS_AFTER_CHECKIN = 3
"""Reflections come mid-week, away from the check-in: its weekday + 3, same local time."""
PHASES = ("first", "middle", "last")


def reflection_every(settings: Mapping[str, Any]) -> int:
    """Every how many weeks a reflection is sent (``settings["reflection_every_weeks"]``,
    2 by default); 0 when the program turned them off (0, null or nonsense)."""
    value = settings.get("reflection_every_weeks", DEFAULT_REFLECTION_WEEKS)
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def reflection_slot(slot: Slot) -> Slot:
    """The weekly slot reflections use: three days after the check-in, same local time."""
    weekday = (slot.weekday + REFLECTION_DAYS_AFTER_CHECKIN) % 7
    return Slot(weekday=weekday, at=slot.at, zone=slot.zone)


def weeks_since(started: datetime, at: datetime) -> int:
    """Whole weeks from a match's start to `at` (0 in its first week)."""
    return max((at - started) // WEEK, 0)


def reflection_phase(weeks_in: int, program_weeks: int) -> str:
    """first / middle / last: which third of the program a week falls in (a match that
    runs past the program's length stays in its last weeks)."""
    weeks = max(program_weeks, 1)
    if weeks_in * 3 < weeks:
        return PHASES[0]
    if weeks_in * 3 < 2 * weeks:
        return PHASES[1]
    return PHASES[2]


def reflection_instrument(role: str, weeks_in: int, program_weeks: int) -> str:
    """The instrument file of a role's reflection at this point of the match."""
    return f"reflection_{role}_{reflection_phase(weeks_in, program_weeks)}"


def plan_reflections(
    occurrences_of_slot: Sequence[Occurrence],
    role: str,
    settings: Mapping[str, Any],
    program_weeks: int,
    started: datetime,
) -> list[PlannedPrompt]:
    """The reflections of one match and role among its reflection slot's occurrences
    (`reflection_slot`): every `reflection_every` weeks counted from the match's start —
    its 2nd, 4th, 6th… week by default — never before it started, with no reminder."""
    every = reflection_every(settings)
    if not every:
        return []
    planned: list[PlannedPrompt] = []
    for occurrence in occurrences_of_slot:
        if occurrence.due_at < started:
            continue
        weeks_in = weeks_since(started, occurrence.due_at)
        if (weeks_in + 1) % every == 0:
            instrument = reflection_instrument(role, weeks_in, program_weeks)
            planned.append(PlannedPrompt(occurrence, REFLECTION_KIND, instrument, None))
    return planned


# Reading the times, weekdays and time zones people type, in English or French.

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
