"""When the end of a match happens, as time maths: the program's closure settings and
the instants of the closure notice, the closure survey and the outcome follow-ups. Pure
functions, no database, no clock (the dispatcher's counterpart of `storage.schedule`).

- The **closure notice** is due at the person's first check-in slot on or after
  `planned_end − notice_weeks` (local date), and stays open until the planned end begins
  in their zone.
- The **closure survey** is due at the person's check-in time of day, the first one after
  closure began (so a match that reaches its planned end at midnight does not wake
  anyone), and closes `survey_days` after closure began; its one reminder comes halfway.
- An **outcome follow-up** is due at the person's first check-in slot on or after the
  local date of closure plus N months, for each N of `followup_months`, and stays open
  `survey_days`, its reminder halfway too.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from storage.schedule import Occurrence, Slot, occurrence_on, wall_time_to_utc

DEFAULT_NOTICE_WEEKS = 2
DEFAULT_EXTENSION_WEEKS = 4
DEFAULT_SURVEY_DAYS = 14
DEFAULT_FOLLOWUP_MONTHS = (3, 6)
MAX_FOLLOWUP_MONTHS = 60
CLOSURE_PERIOD = "closure"
# The instruments of each prompt: the notice (with the preparation reflection and the
# question whether to extend), each role's closure survey, the mentee's follow-up.
NOTICE_INSTRUMENT = "closure_notice"
CLOSURE_INSTRUMENTS = {"mentee": "closure_mentee", "mentor": "closure_mentor"}
FOLLOWUP_INSTRUMENT = "followup_mentee"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class ClosureSettings:
    """``Program.settings["closure"]`` (notice_weeks, extension_weeks, survey_days) and
    ``Program.settings["followup"]["months"]``, the defaults filling in what is missing
    or invalid."""

    notice_weeks: int = DEFAULT_NOTICE_WEEKS
    extension_weeks: int = DEFAULT_EXTENSION_WEEKS
    survey_days: int = DEFAULT_SURVEY_DAYS
    followup_months: tuple[int, ...] = DEFAULT_FOLLOWUP_MONTHS

    @property
    def survey_window(self) -> timedelta:
        return timedelta(days=self.survey_days)


def _positive(section: Any, key: str, default: int) -> int:
    value = section.get(key) if isinstance(section, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return default


def _months(section: Any) -> tuple[int, ...]:
    value = section.get("months") if isinstance(section, Mapping) else None
    if not isinstance(value, list | tuple):
        return DEFAULT_FOLLOWUP_MONTHS
    months = {
        item
        for item in value
        if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= MAX_FOLLOWUP_MONTHS
    }
    return tuple(sorted(months))  # an empty list turns follow-ups off


def closure_settings(settings: Mapping[str, Any] | None) -> ClosureSettings:
    """The program's closure settings (see `ClosureSettings`)."""
    given = settings or {}
    section = given.get("closure")
    return ClosureSettings(
        notice_weeks=_positive(section, "notice_weeks", DEFAULT_NOTICE_WEEKS),
        extension_weeks=_positive(section, "extension_weeks", DEFAULT_EXTENSION_WEEKS),
        survey_days=_positive(section, "survey_days", DEFAULT_SURVEY_DAYS),
        followup_months=_months(given.get("followup")),
    )


def local_today(now: datetime, zone: ZoneInfo | None) -> date:
    return now.astimezone(zone).date() if zone is not None else now.date()


def planned_end_reached(planned_end: date, zone: ZoneInfo | None, now: datetime) -> bool:
    """The planned end has begun in the program's zone (the zone pairing counted it in)."""
    return local_today(now, zone) >= planned_end


def first_slot_on_or_after(slot: Slot, day: date) -> Occurrence:
    """The slot's occurrence on `day` or the first of its weekdays after it."""
    return occurrence_on(slot, day + timedelta(days=(slot.weekday - day.weekday()) % 7))


@dataclass(frozen=True)
class Window:
    """When a prompt is due, when its period closes and when its one reminder comes."""

    due_at: datetime
    closes_at: datetime
    remind_at: datetime | None


def notice_window(slot: Slot, planned_end: date, notice_weeks: int) -> Window | None:
    """The closure notice's window; None when its slot would fall on the planned end or
    after (a match shorter than the notice)."""
    occurrence = first_slot_on_or_after(slot, planned_end - timedelta(weeks=notice_weeks))
    closes_at = wall_time_to_utc(planned_end, time(0), slot.zone)
    if occurrence.due_at >= closes_at:
        return None
    return Window(occurrence.due_at, closes_at, halfway(occurrence.due_at, closes_at))


def halfway(due_at: datetime, closes_at: datetime) -> datetime:
    """The one reminder of a closure survey or follow-up: halfway through its window, at
    the hour it was due (whole days)."""
    return due_at + DAY * ((closes_at - due_at) // DAY // 2)


def survey_window(slot: Slot, closing_at: datetime, survey_days: int) -> Window:
    """The closure survey's window: due at the first check-in time of day after closure
    began, closing `survey_days` after it began."""
    day = local_today(closing_at, slot.zone)
    due_at = wall_time_to_utc(day, slot.at, slot.zone)
    if due_at < closing_at:
        due_at = wall_time_to_utc(day + DAY, slot.at, slot.zone)
    closes_at = closing_at + timedelta(days=survey_days)
    return Window(due_at, closes_at, halfway(due_at, closes_at))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, the month's last day when it is shorter (31 January
    + 1 month = 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def followup_period(months: int) -> str:
    return f"m{months}"


def followup_window(slot: Slot, closed_at: datetime, months: int, survey_days: int) -> Window:
    """The follow-up N months after closure: at the person's first check-in slot on or
    after that local date, open `survey_days`."""
    day = add_months(local_today(closed_at, slot.zone), months)
    due_at = first_slot_on_or_after(slot, day).due_at
    closes_at = due_at + timedelta(days=survey_days)
    return Window(due_at, closes_at, halfway(due_at, closes_at))
