"""A program's outcomes, months after its matches ended: what the mentees' outcome
follow-ups say (exits to employment and to school, the median time to employment) and
how many answered them and the closure surveys. /dashboard, the weekly digest, /report and
exports all read them here (README, "Dashboard and weekly digest" and "Exports").

Counting rules:

- **Which matches.** The program's `closed` matches only: a closing match's surveys are
  still open. With no closed match there are no outcomes (`Outcomes.closed_matches` is 0)
  and the views show none at all rather than zeros.
- **Closure surveys answered**: the closure surveys of the closed matches (one per person
  and match, mentors and mentees) answered, over those that reached people (answered,
  missed or not delivered, as `storage.metrics.REACHED` counts a check-in). A survey the
  dispatcher never sent (the person was paused all along, or erased first) counts in
  neither.
- **Follow-ups answered** counts people, not questionnaires: the mentees at least one
  follow-up reached, and of those the ones who answered at least one. Someone who left
  the program, was erased or became unreachable before any follow-up reached them is in
  neither count (they are never asked).
- **The latest answer counts.** A mentee who answered two follow-ups (3 and 6 months) is
  counted once, by the one due last; across several closed matches in the program
  (a rematch), by the one due last too.
- **Exits to employment**: respondents whose latest answer is "employed in my field" or
  "employed outside my field" (those in their field also counted apart); **exits to
  school**: "studying". Both are out of the respondents. The closure survey's own
  employment question is in exports but not in these figures: exits are measured months
  after the end, by the follow-ups.
- **Median time to employment**: over the exits to employment that gave a start date,
  the days from the day their match began (in the program's time zone) to the day the
  job began. Counted from the start, not the end, so that a mentee hired during the
  mentorship (the closure reason "found employment") counts with the time it really
  took rather than zero; exports give both dates for another definition. A job that
  began before the match did is left out of the median (it predates the mentoring).
- **Erasure and departure.** Answers given before someone left or was erased still count:
  erasure keeps taps and dates (`storage.erasure`), so the figures do not change when
  someone is erased.

Each figure is a few aggregate queries per program: one pass of window functions over the
follow-ups counts each mentee's and picks their latest answer (`bench/outcomes.py`
measures it on 10,000 closed matches); only the start dates behind the median come back
as rows, one per exit to employment.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.metrics import REACHED, Rate
from storage.models import (
    Answer,
    Match,
    MatchStatus,
    Person,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
)
from storage.programs import zone_or_none

EMPLOYMENT_KEY, STARTED_KEY = "employment", "started"  # followup_mentee's questions
IN_FIELD, OUTSIDE_FIELD, STUDYING = "employed_field", "employed_other", "studying"
EMPLOYED = (IN_FIELD, OUTSIDE_FIELD)


@dataclass(frozen=True)
class Outcomes:
    """One program's outcome figures (see the module docstring for what each counts)."""

    closed_matches: int = 0
    closure_surveys: Rate = field(default_factory=Rate)  # answered, of those reached
    followups: Rate = field(default_factory=Rate)  # mentees who answered one, of those reached
    employed: int = 0  # latest answer: employed, in their field or not
    employed_in_field: int = 0
    studying: int = 0
    median_days: float | None = None  # to employment, from the match's start
    timed: int = 0  # the exits to employment the median is taken over

    @property
    def respondents(self) -> int:
        return self.followups.answered


@dataclass(frozen=True)
class MenteeOutcome:
    """One mentee a follow-up reached, for exports: how many reached them and how many
    they answered, and their latest answer (None throughout when they answered none)."""

    person_id: int
    name: str | None
    reached: int
    answered: int
    match_id: int | None
    period: str | None  # the follow-up the latest answer is from ("m6")
    answered_at: datetime | None
    employment: str | None
    started: date | None  # the day the job or studies began
    match_started_at: datetime | None
    match_closed_at: datetime | None
    days_to_employment: int | None


def program_zone(program: Program) -> tzinfo:
    return zone_or_none(program.timezone) or UTC


def _closed_in(program_id: int) -> tuple[sa.ColumnElement[bool], ...]:
    return (col(Match.program_id) == program_id, col(Match.status) == MatchStatus.CLOSED)


def _counted(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _by_mentee(program_id: int) -> sa.Subquery:
    """One row per mentee a follow-up reached in the program's closed matches: how many
    reached them and how many they answered, and their latest answered follow-up (its
    match, period, time, employment answer and start date; NULL when they answered
    none). One pass of window functions over the follow-ups."""
    person = col(Prompt.person_id)
    is_answered = sa.case((col(Prompt.status) == PromptStatus.ANSWERED, 1), else_=0)
    ranked = (
        select(
            col(Prompt.id).label("prompt_id"),
            person.label("person_id"),
            col(Prompt.match_id).label("match_id"),
            col(Prompt.period).label("period"),
            col(Prompt.answered_at).label("answered_at"),
            col(Prompt.status).label("status"),
            sa.func.sum(sa.case((col(Prompt.status).in_(REACHED), 1), else_=0))
            .over(partition_by=person)
            .label("reached"),
            sa.func.sum(is_answered).over(partition_by=person).label("answered"),
            sa.func.row_number()
            .over(
                partition_by=person,
                order_by=(is_answered.desc(), col(Prompt.due_at).desc(), col(Prompt.id).desc()),
            )
            .label("rank"),
        )
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(*_closed_in(program_id), col(Prompt.kind) == PromptKind.FOLLOWUP)
        .subquery()
    )
    latest = ranked.c.status == PromptStatus.ANSWERED  # the rank-1 row is an answer
    employment, started = aliased(Answer), aliased(Answer)

    def answer(alias: type[Answer], key: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            latest, col(alias.prompt_id) == ranked.c.prompt_id, col(alias.question_key) == key
        )

    return (
        select(
            ranked.c.person_id,
            ranked.c.reached,
            ranked.c.answered,
            sa.case((latest, ranked.c.match_id)).label("match_id"),
            sa.case((latest, ranked.c.period)).label("period"),
            sa.case((latest, ranked.c.answered_at)).label("answered_at"),
            col(employment.value).label("employment"),
            col(started.value).label("started"),
        )
        .select_from(ranked)
        .outerjoin(employment, answer(employment, EMPLOYMENT_KEY))
        .outerjoin(started, answer(started, STARTED_KEY))
        .where(ranked.c.rank == 1, ranked.c.reached > 0)
        .subquery()
    )


def _day(answer: str | None) -> date | None:
    """A date question's answer (YYYY-MM-DD), None when there is none or it is unusable."""
    try:
        return date.fromisoformat(answer or "")
    except ValueError:
        return None


def days_between(began: datetime, started: str | None, zone: tzinfo) -> int | None:
    """Days from the match's start (its local date) to a start date answered; None when
    there is no usable date or it falls before the match began."""
    day = _day(started)
    if day is None:
        return None
    days = (day - began.astimezone(zone).date()).days
    return days if days >= 0 else None


async def program_outcomes(session: AsyncSession, program: Program) -> Outcomes:
    """The program's outcome figures: three aggregate queries, and the start dates of
    the exits to employment for the median."""
    assert program.id is not None
    closed = (
        await session.exec(select(sa.func.count(col(Match.id))).where(*_closed_in(program.id)))
    ).one()
    if not closed:
        return Outcomes()
    answered = col(Prompt.status) == PromptStatus.ANSWERED
    surveys = (
        await session.exec(
            select(_counted(answered), _counted(col(Prompt.status).in_(REACHED)))
            .join(Match, col(Match.id) == col(Prompt.match_id))
            .where(*_closed_in(program.id), col(Prompt.kind) == PromptKind.CLOSURE)
        )
    ).one()
    mentees = _by_mentee(program.id)
    reached, responded, employed, in_field, studying = (
        await session.exec(
            select(
                sa.func.count(),
                _counted(mentees.c.answered > 0),
                _counted(mentees.c.employment.in_(EMPLOYED)),
                _counted(mentees.c.employment == IN_FIELD),
                _counted(mentees.c.employment == STUDYING),
            ).select_from(mentees)
        )
    ).one()
    starts = await session.exec(
        select(mentees.c.started, Match.started_at)
        .join(Match, col(Match.id) == mentees.c.match_id)
        .where(mentees.c.employment.in_(EMPLOYED))
    )
    zone = program_zone(program)
    days = [
        found
        for started, began in starts.all()
        if (found := days_between(began, started, zone)) is not None
    ]
    return Outcomes(
        closed_matches=int(closed),
        closure_surveys=Rate(int(surveys[0]), int(surveys[1])),
        followups=Rate(int(responded), int(reached)),
        employed=int(employed),
        employed_in_field=int(in_field),
        studying=int(studying),
        median_days=statistics.median(days) if days else None,
        timed=len(days),
    )


async def mentee_outcomes(session: AsyncSession, program: Program) -> Sequence[MenteeOutcome]:
    """One row per mentee a follow-up reached in the program's closed matches, with their
    latest answer (exports). One query."""
    assert program.id is not None
    mentees = _by_mentee(program.id)
    rows = await session.exec(
        select(mentees, Person.name, Match.started_at, Match.closed_at)
        .join(Person, col(Person.id) == mentees.c.person_id)
        .outerjoin(Match, col(Match.id) == mentees.c.match_id)
        .order_by(mentees.c.person_id)
    )
    zone = program_zone(program)
    return [
        MenteeOutcome(
            person_id=row.person_id,
            name=row.name,
            reached=int(row.reached),
            answered=int(row.answered),
            match_id=row.match_id,
            period=row.period,
            answered_at=row.answered_at,
            employment=row.employment,
            started=_day(row.started),
            match_started_at=row.started_at,
            match_closed_at=row.closed_at,
            days_to_employment=(
                days_between(row.started_at, row.started, zone)
                if row.employment in EMPLOYED and row.started_at is not None
                else None
            ),
        )
        for row in rows.all()
    ]
