"""Program figures: response rates count weekly check-ins only and never a skipped or
unsent week; ratings average per role; contact time prefers meeting logs over the
mentor's estimate."""

from __future__ import annotations

from datetime import date, timedelta

from storage.db import Database
from storage.metrics import (
    checkin_counts,
    contact_minutes,
    expected_minutes_per_week,
    rates_by_match,
    rates_by_week,
    recent_periods,
    weekly_ratings,
)
from storage.models import MeetingLog, Program, PromptStatus
from tests.builders import add_pair
from tests.conftest import FakeClock
from tests.test_alerts import week

WEEKS = ["2026-W45", "2026-W46", "2026-W47"]


def test_recent_periods_end_with_this_week_and_cross_the_year() -> None:
    assert recent_periods(date(2026, 11, 22), 3) == WEEKS
    assert recent_periods(date(2027, 1, 6), 2) == ["2026-W53", "2027-W01"]


def test_expected_contact_is_the_programs_weekly_minutes() -> None:
    assert expected_minutes_per_week({}) == 60
    assert expected_minutes_per_week({"expected_minutes_per_week": 90}) == 90
    assert expected_minutes_per_week({"expected_minutes_per_week": "lots"}) == 60
    assert expected_minutes_per_week({"expected_minutes_per_week": True}) == 60


async def test_response_rates_count_checkins_reached_only(
    database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, mentor, match = await add_pair(database, program, clock)
    await week(database, clock, mentee, match, 2, PromptStatus.ANSWERED, helpful="4")
    await week(database, clock, mentor, match, 2, PromptStatus.MISSED)
    await week(database, clock, mentee, match, 1, PromptStatus.SKIPPED)  # counts in neither
    await week(database, clock, mentor, match, 1, PromptStatus.EXPIRED)  # paused: neither
    await week(database, clock, mentee, match, 0, PromptStatus.SENT)  # still waiting
    await week(database, clock, mentor, match, 0, PromptStatus.ANSWERED, kind="reflection")
    async with database.session() as session:
        rows = await checkin_counts(session, program.id or 0, WEEKS)
    by_week = rates_by_week(rows)
    assert (by_week["2026-W45"].answered, by_week["2026-W45"].reached) == (1, 2)
    assert by_week["2026-W46"].value is None
    assert (by_week["2026-W47"].answered, by_week["2026-W47"].reached) == (0, 1)
    overall = rates_by_match(rows)[match.id or 0]
    assert (overall.answered, overall.reached) == (1, 3)


async def test_ratings_average_per_role_and_week(
    database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, mentor, match = await add_pair(database, program, clock)
    await week(database, clock, mentee, match, 1, helpful="2", progress="5")
    await week(database, clock, mentor, match, 1, going="5", contact="call")
    await week(database, clock, mentee, match, 0, helpful="x")
    async with database.session() as session:
        ratings = await weekly_ratings(session, program.id or 0, WEEKS)
    assert ratings == {"2026-W46": {"mentee": 2.0, "mentor": 5.0}}


async def test_contact_prefers_logs_over_the_mentors_estimate(
    database: Database, program: Program, clock: FakeClock
) -> None:
    _, mentor, match = await add_pair(database, program, clock)
    await week(database, clock, mentor, match, 1, duration="h1_2")  # W46: estimate only
    await week(database, clock, mentor, match, 0, duration="u30")  # W47: logs win
    async with database.session() as session:
        for days_ago, minutes, deleted in ((0, 50, False), (0, 25, False), (0, 500, True)):
            session.add(
                MeetingLog(
                    match_id=match.id or 0, author_id=mentor.id or 0, minutes=minutes,
                    mode="call", met_on=(clock() - timedelta(days=days_ago)).date(),
                    created_at=clock(), deleted_at=clock() if deleted else None,
                )
            )  # fmt: skip
    async with database.session() as session:
        minutes = await contact_minutes(session, program.id or 0, WEEKS)
    assert minutes == {(match.id, "2026-W46"): 90, (match.id, "2026-W47"): 75}
