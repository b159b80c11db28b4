"""Contact between a mentor and a mentee, as Tandem knows it: the meetings logged (not
deleted) and the contact reported in weekly check-ins (a ``contact`` answer other than
"none", by either of them). Shared by the no-contact and contact-benchmark flag rules.

A contact has a day, for counting contacts in a month, and a moment, for how long ago the
latest one was:

- a meeting log: the day it was held (its moment: noon UTC that day);
- a reported contact: the Monday of the check-in's week, or the match's first day when the
  match began later that week (its moment: when the answer was given).

Counting days rather than reports keeps one meeting from counting several times: both
partners' check-ins of a week fall on the same day, and a week's reports count only when
no meeting was logged that week, so the mentor's log and the two check-ins about that
meeting are one contact.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

CONTACT_KEY = "contact"  # the check-in question
NO_CONTACT = "none"  # its "not this week" option
LOG, ANSWER = "log", "answer"  # where a contact is known from


@dataclass(frozen=True)
class Contact:
    day: date
    moment: datetime
    source: str  # LOG or ANSWER


def is_reported(key: str, value: str) -> bool:
    """Whether a check-in answer reports a contact."""
    return key == CONTACT_KEY and value not in ("", NO_CONTACT)


def logged(met_on: date) -> Contact:
    return Contact(met_on, datetime.combine(met_on, time(12), UTC), LOG)


def reported(week_monday: date, answered_at: datetime, started_on: date) -> Contact:
    return Contact(max(week_monday, started_on), answered_at, ANSWER)


def _week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week


def contact_days(contacts: Iterable[Contact]) -> set[date]:
    """The distinct days of contact: every logged meeting's day, and the day of each
    week's reports when no meeting was logged that week."""
    contacts = list(contacts)
    days = {contact.day for contact in contacts if contact.source == LOG}
    weeks = {_week(day) for day in days}
    return days | {
        contact.day
        for contact in contacts
        if contact.source == ANSWER and _week(contact.day) not in weeks
    }


@dataclass(frozen=True)
class Month:
    """One month of a match: `number` 1 is the month from its first day."""

    number: int
    first: date
    last: date  # included

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 January + 1: 28 or 29
    February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def elapsed_months(started_on: date, today: date) -> list[Month]:
    """The match's months that ended before `today`, in order."""
    months: list[Month] = []
    while (end := add_months(started_on, len(months) + 1)) <= today:
        first = add_months(started_on, len(months))
        months.append(Month(len(months) + 1, first, end - timedelta(days=1)))
    return months
