"""The /report chart: what it shows, assembled from the program figures (storage.metrics),
and the words and numbers its labels use.

`report_data` gathers one `ChartWeek` per ISO week, so every figure can be checked without
looking at pixels; `render_report` hands the drawing to `chart_drawing`, imported only then,
so that importing the bot does not import matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import sqlalchemy as sa
from babel.numbers import format_decimal, format_percent
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from locales.translator import Translator
from storage.metrics import Rate, expected_minutes_per_week, recent_periods
from storage.models import Match, Program
from storage.programs import zone_or_none
from storage.schedule import period_monday
from storage.week_figures import WeekFigures, program_weeks


@dataclass(frozen=True)
class ChartWeek:
    """One ISO week of a program, as the chart shows it."""

    period: str
    monday: date
    rate: Rate  # weekly check-ins answered out of those that reached people
    mentee_rating: float | None  # mentees' average "How helpful"; None: nobody rated
    mentor_rating: float | None  # mentors' average "How it's going"
    contact_minutes: int  # across the program's matches
    active_matches: int  # matches running at some point of the week
    expected_minutes: float  # the program's expectation for those matches


@dataclass(frozen=True)
class ReportData:
    weeks: tuple[ChartWeek, ...]

    @property
    def response(self) -> Rate:
        return sum((week.rate for week in self.weeks), Rate())

    @property
    def mentee_average(self) -> float | None:
        """The average of the weekly averages (each week with ratings weighs the same)."""
        return _mean([week.mentee_rating for week in self.weeks])

    @property
    def mentor_average(self) -> float | None:
        return _mean([week.mentor_rating for week in self.weeks])

    @property
    def contact_minutes(self) -> int:
        return sum(week.contact_minutes for week in self.weeks)

    @property
    def expected_minutes(self) -> float:
        return sum(week.expected_minutes for week in self.weeks)

    @property
    def empty(self) -> bool:
        """Nothing measured: no check-in reached anyone, nobody rated, no contact."""
        return (
            self.response.reached == 0
            and self.contact_minutes == 0
            and self.mentee_average is None
            and self.mentor_average is None
        )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


# --- the figures --------------------------------------------------------------------------


async def active_matches(
    session: AsyncSession, program_id: int, mondays: Sequence[date], zone: tzinfo
) -> list[int]:
    """How many of the program's matches ran during each week (Monday to Sunday in the
    program's time zone): from the day they started until the day they closed, both
    included. Counted by the database, one sum per week."""
    if not mondays:
        return []
    counts = []
    for monday in mondays:
        start = datetime.combine(monday, time.min, zone)  # a local day begins at its midnight
        end = datetime.combine(monday + timedelta(days=7), time.min, zone)
        ran = (col(Match.started_at) < end) & (
            col(Match.closed_at).is_(None) | (col(Match.closed_at) >= start)
        )
        counts.append(sa.func.sum(sa.case((ran, 1), else_=0)))
    row = (await session.exec(select(*counts).where(Match.program_id == program_id))).one()
    return [int(count or 0) for count in row]


async def report_data(
    session: AsyncSession, program: Program, today: date, weeks: int
) -> ReportData:
    """The program's last `weeks` ISO weeks, ending with today's (still under way), less
    the weeks before its first match started: nothing could happen in them, and drawn they
    look like weeks at 0 (at 26 weeks, a 10-week program would be mostly empty weeks)."""
    assert program.id is not None
    zone = zone_or_none(program.timezone) or UTC
    periods = recent_periods(today, weeks)
    mondays = [period_monday(period) or today for period in periods]
    first = await session.scalar(
        select(func.min(Match.started_at)).where(Match.program_id == program.id)
    )
    if first is not None:
        started = first.replace(tzinfo=first.tzinfo or UTC).astimezone(zone).date()
        before = sum(1 for monday in mondays[:-1] if monday + timedelta(days=7) <= started)
        periods, mondays = periods[before:], mondays[before:]
    figures = await program_weeks(session, program.id, periods)
    nothing = WeekFigures(Rate(), None, None, 0)
    active = await active_matches(session, program.id, mondays, zone)
    per_match = expected_minutes_per_week(program.settings)
    return ReportData(
        tuple(
            ChartWeek(
                period=period,
                monday=monday,
                rate=week.rate,
                mentee_rating=week.mentee_rating,
                mentor_rating=week.mentor_rating,
                contact_minutes=week.contact_minutes,
                active_matches=count,
                expected_minutes=per_match * count,
            )
            for period, monday, count in zip(periods, mondays, active, strict=True)
            for week in (figures.get(period, nothing),)
        )
    )


# --- the words and numbers ----------------------------------------------------------------


def week_label(tr: Translator, monday: date, skeleton: str = "MMMd") -> str:
    """'Nov 16' / '16 nov.', '1er déc.': the Monday that starts the week."""
    return tr.day_month(monday, skeleton)


def percent(tr: Translator, value: float) -> str:
    """0.78 -> '78%' / '78 %'."""
    return format_percent(value, locale=tr.locale)


def decimal(tr: Translator, value: float, pattern: str = "#,##0.#") -> str:
    return format_decimal(value, format=pattern, locale=tr.locale)


def render_report(data: ReportData, tr: Translator, program_name: str) -> bytes:
    """The chart as a PNG: response rate, ratings and contact hours, one panel each."""
    from conversations.kit.chart_drawing import draw_report, png  # matplotlib: only here

    return png(draw_report(data, tr, program_name))
