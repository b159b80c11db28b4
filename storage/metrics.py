"""Program figures for coordinators: check-in response rates, ratings and contact time,
per week or per match, one definition of each (README, "Figures"). The weekly ones
summed over a program (`weekly_rates`, `weekly_ratings`, `weekly_contact_minutes`) are
what storage.week_figures keeps as rows are written, and what its tests check it
against; the dashboard, the digest and /report read the kept rows.

- **Response rate**: weekly check-ins (kind ``checkin`` only: reflections, closure and
  follow-up surveys never count) answered, over those that reached the participant:
  answered, still waiting, missed or not delivered. A skipped week and a week that was
  not sent (paused, or the period closed during an outage) count in neither.
- **Ratings**: the mentee's "How helpful" (``helpful``) and the mentor's "How it's going"
  (``going``), 1 to 5, averaged.
- **Contact minutes** of a match in a week: its meeting logs held that week; a week with
  no log falls back on the mentor's check-in estimate of the time spent together
  (``duration``: the middle of the range they tapped). Expected: the program's
  ``expected_minutes_per_week`` (default 60), as /logs shows participants.

Weeks are ISO weeks (``2026-W47``), as check-in periods are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Match, MeetingLog, Prompt, PromptKind, PromptStatus
from storage.schedule import period_key, period_monday

RESPONDED = (PromptStatus.ANSWERED,)
REACHED = (PromptStatus.ANSWERED, PromptStatus.SENT, PromptStatus.MISSED, PromptStatus.FAILED)
RATING_KEYS = {"mentee": "helpful", "mentor": "going"}
# The mentor check-in's "how long together" choices, in minutes (the middle of each range).
DURATION_MINUTES = {"u30": 20, "m30_60": 45, "h1_2": 90, "o2h": 150}
DEFAULT_EXPECTED_MINUTES = 60
RATING_VALUES = ("1", "2", "3", "4", "5")


@dataclass(frozen=True)
class Rate:
    """Check-ins answered out of those that reached people."""

    answered: int = 0
    reached: int = 0

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.answered + other.answered, self.reached + other.reached)

    @property
    def value(self) -> float | None:
        """Between 0 and 1, or None when nothing reached anyone."""
        return self.answered / self.reached if self.reached else None


def recent_periods(today: date, count: int) -> list[str]:
    """The `count` ISO weeks ending with today's, oldest first."""
    return [period_key(today - timedelta(weeks=back)) for back in range(count - 1, -1, -1)]


def expected_minutes_per_week(settings: Mapping[str, Any] | None) -> float:
    """The program's expected contact time per match and week
    (``settings["expected_minutes_per_week"]``; the default when missing or invalid)."""
    given = (settings or {}).get("expected_minutes_per_week")
    valid = isinstance(given, int | float) and not isinstance(given, bool) and given >= 0
    return given if valid else DEFAULT_EXPECTED_MINUTES


@dataclass(frozen=True)
class CheckinCount:
    match_id: int
    period: str
    status: str
    count: int


async def checkin_counts(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> list[CheckinCount]:
    """How many check-ins of each status each of the program's matches had each week."""
    statement = (
        select(Prompt.match_id, Prompt.period, Prompt.status, sa.func.count(col(Prompt.id)))
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(
            Match.program_id == program_id,
            Prompt.kind == PromptKind.CHECKIN,
            col(Prompt.period).in_(list(periods)),
        )
        .group_by(col(Prompt.match_id), col(Prompt.period), col(Prompt.status))
    )
    rows = (await session.exec(statement)).all()
    return [CheckinCount(match_id, period, status, int(n)) for match_id, period, status, n in rows]


def _rate(row: CheckinCount) -> Rate:
    if row.status not in REACHED:
        return Rate()
    return Rate(row.count if row.status in RESPONDED else 0, row.count)


def rates_by_week(rows: Iterable[CheckinCount]) -> dict[str, Rate]:
    result: dict[str, Rate] = defaultdict(Rate)
    for row in rows:
        result[row.period] += _rate(row)
    return dict(result)


def rates_by_match(rows: Iterable[CheckinCount]) -> dict[int, Rate]:
    result: dict[int, Rate] = defaultdict(Rate)
    for row in rows:
        result[row.match_id] += _rate(row)
    return dict(result)


async def weekly_rates(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> dict[str, Rate]:
    """Each week's response over all the program's matches (what `rates_by_week` makes of
    `checkin_counts`), counted by the database."""
    rows = await session.exec(
        select(Prompt.period, Prompt.status, sa.func.count())
        .where(
            _of_program(program_id),
            Prompt.kind == PromptKind.CHECKIN,
            col(Prompt.period).in_(list(periods)),
        )
        .group_by(col(Prompt.period), col(Prompt.status))
    )
    return rates_by_week(CheckinCount(0, period, status, int(n)) for period, status, n in rows)


def _of_program(program_id: int) -> Any:
    """A condition on a row with a ``match_id``: its match is the program's."""
    return col(Prompt.match_id).in_(select(Match.id).where(Match.program_id == program_id))


async def weekly_ratings(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> dict[str, dict[str, float]]:
    """{week: {"mentee": average, "mentor": average}} — a role with no rating that week
    is absent."""
    by_mentor = col(Prompt.person_id) == col(Match.mentor_id)
    statement = (
        select(
            Prompt.period,
            by_mentor,
            sa.func.sum(sa.cast(col(Answer.value), sa.Integer)),
            sa.func.count(),
        )
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(
            Match.program_id == program_id,
            Prompt.kind == PromptKind.CHECKIN,
            col(Prompt.period).in_(list(periods)),
            (by_mentor & (col(Answer.question_key) == RATING_KEYS["mentor"]))
            | (~by_mentor & (col(Answer.question_key) == RATING_KEYS["mentee"])),
            col(Answer.value).in_(RATING_VALUES),
        )
        .group_by(col(Prompt.period), by_mentor)
    )
    result: dict[str, dict[str, float]] = defaultdict(dict)
    for period, mentor, total, count in await session.exec(statement):
        result[period]["mentor" if mentor else "mentee"] = int(total) / int(count)
    return dict(result)


async def contact_minutes(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> dict[tuple[int, str], int]:
    """{(match id, week): minutes together} for the weeks given: logged meetings, else the
    mentor's check-in estimate."""
    wanted = set(periods)
    mondays = sorted(filter(None, (period_monday(period) for period in wanted)))
    logged: dict[tuple[int, str], int] = defaultdict(int)
    if mondays:
        for match_id, met_on, minutes in await program_meetings(
            session, program_id, mondays[0], mondays[-1] + timedelta(days=6)
        ):
            if (period := period_key(met_on)) in wanted:
                logged[match_id, period] += minutes
    estimates = await mentor_estimates(session, program_id, periods)
    return {**{key: minutes for key, minutes in estimates.items() if key not in logged}, **logged}


async def program_meetings(
    session: AsyncSession, program_id: int, first: date, last: date
) -> list[tuple[int, date, int]]:
    """(match id, day, minutes) of the program's meetings held from `first` to `last`
    (both included); deleted logs left out."""
    rows = await session.exec(
        select(MeetingLog.match_id, MeetingLog.met_on, MeetingLog.minutes)
        .join(Match, col(Match.id) == col(MeetingLog.match_id))
        .where(
            Match.program_id == program_id,
            col(MeetingLog.deleted_at).is_(None),
            col(MeetingLog.met_on) >= first,
            col(MeetingLog.met_on) <= last,
        )
    )
    return [(match_id, met_on, minutes) for match_id, met_on, minutes in rows.all()]


async def mentor_estimates(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> dict[tuple[int, str], int]:
    """{(match id, week): minutes} the mentors' check-ins estimated for those weeks."""
    rows = await session.exec(
        select(Prompt.match_id, Prompt.period, Answer.value)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(
            Match.program_id == program_id,
            col(Prompt.person_id) == col(Match.mentor_id),
            Prompt.kind == PromptKind.CHECKIN,
            col(Prompt.period).in_(list(periods)),
            Answer.question_key == "duration",
        )
    )
    return {
        (match_id, period): DURATION_MINUTES[value]
        for match_id, period, value in rows.all()
        if value in DURATION_MINUTES
    }


async def meeting_days(
    session: AsyncSession, program_id: int, first: date, last: date
) -> dict[date, tuple[int, int]]:
    """{day: (meetings, minutes)} of the program's meetings held from `first` to `last`
    (both included), deleted logs left out."""
    rows = await session.exec(
        select(MeetingLog.met_on, sa.func.count(), sa.func.sum(col(MeetingLog.minutes)))
        .where(
            col(MeetingLog.match_id).in_(select(Match.id).where(Match.program_id == program_id)),
            col(MeetingLog.deleted_at).is_(None),
            col(MeetingLog.met_on) >= first,
            col(MeetingLog.met_on) <= last,
        )
        .group_by(col(MeetingLog.met_on))
    )
    return {day: (int(count), int(minutes or 0)) for day, count, minutes in rows.all()}


def _week_bound(periods: Sequence[str], offset: int) -> Any:
    """The day `offset` days after the check-in's ISO week's Monday, as SQL."""
    days = [
        (col(Prompt.period) == period, sa.literal(monday + timedelta(days=offset), sa.Date))
        for period in periods
        if (monday := period_monday(period)) is not None
    ]
    unknown = sa.cast(sa.null(), sa.Date)  # not a week: no meeting falls in it
    return sa.case(*days, else_=unknown) if days else unknown


async def estimated_minutes(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> dict[str, int]:
    """{week: minutes} the mentors' check-ins estimated, over the program's matches'
    weeks with no meeting logged (what `contact_minutes` adds to the logs), summed by the
    database."""
    if not periods:
        return {}
    logged = (  # on Match, not Prompt: SQLite then looks only for the mentors' estimates
        select(MeetingLog.id)
        .where(
            col(MeetingLog.match_id) == col(Match.id),
            col(MeetingLog.deleted_at).is_(None),
            col(MeetingLog.met_on) >= _week_bound(periods, 0),
            col(MeetingLog.met_on) <= _week_bound(periods, 6),
        )
        .exists()
    )
    rows = await session.exec(
        select(Prompt.period, Answer.value, sa.func.count())
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(
            Match.program_id == program_id,
            col(Prompt.person_id) == col(Match.mentor_id),
            Prompt.kind == PromptKind.CHECKIN,
            col(Prompt.period).in_(list(periods)),
            Answer.question_key == "duration",
            col(Answer.value).in_(list(DURATION_MINUTES)),
            ~logged,
        )
        .group_by(col(Prompt.period), col(Answer.value))
    )
    result: dict[str, int] = defaultdict(int)
    for period, value, count in rows.all():
        result[period] += DURATION_MINUTES[value] * int(count)
    return dict(result)


async def weekly_contact_minutes(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> dict[str, int]:
    """{week: minutes together} over the program's matches: `contact_minutes` summed per
    week, by the database."""
    result = dict.fromkeys(periods, 0)
    mondays = sorted(filter(None, (period_monday(period) for period in periods)))
    if mondays:
        days = await meeting_days(session, program_id, mondays[0], mondays[-1] + timedelta(6))
        for day, (_, minutes) in days.items():
            if (period := period_key(day)) in result:
                result[period] += minutes
    for period, minutes in (await estimated_minutes(session, program_id, periods)).items():
        result[period] += minutes
    return result
