"""The figures the database computes (storage.standings, storage.metrics' weekly sums,
storage.summary's counts) against a straightforward Python computation over the same
rows, on random programs of a few dozen matches: every status, kind, answer, snooze,
deleted log and time zone the rules distinguish, two programs with different thresholds.
Run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from random import Random

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.contacts import is_reported
from storage.db import Database
from storage.flags import SEVERITY_ORDER
from storage.health import Mark, match_health, snoozed, sort_key
from storage.metrics import (
    DURATION_MINUTES,
    RATING_KEYS,
    checkin_counts,
    contact_minutes,
    mentor_estimates,
    program_meetings,
    rates_by_week,
    recent_periods,
    weekly_contact_minutes,
    weekly_rates,
    weekly_ratings,
)
from storage.models import (
    Answer,
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
)
from storage.schedule import period_key, period_monday
from storage.standings import closed_page, marks, open_page
from storage.summary import (
    flag_counts,
    local_today,
    month_contact,
    month_weeks,
    previous_week,
    program_zone,
    week_in_review,
)
from tests.conftest import FakeClock

SEEDS = [1, 2, 3]
RULES = ["concern", "missed_checkins", "no_contact", "low_rating", "rating_gap", "safety_words"]
SEVERITIES = ["urgent", "high", "medium", "low", "odd"]
WEEKS = 10


async def random_programs(
    database: Database, program: Program, clock: FakeClock, rng: Random, count: int = 36
) -> list[Program]:
    """`program` and a second one (another time zone, a one-week contact threshold), with
    `count` matches between them and ten weeks of random history."""
    now = clock()
    async with database.session() as session:
        other = Program(
            name="ECE Halifax", timezone="America/Halifax", created_at=now,
            settings={"flags": {"no_contact_weeks": 1}},
        )  # fmt: skip
        session.add(other)
        await session.flush()
        programs = [program, other]
        for index in range(count):
            await _random_match(session, rng, rng.choice(programs), index, now)
    return programs


async def _random_match(
    session: AsyncSession, rng: Random, program: Program, index: int, now: datetime
) -> None:
    people = [
        Person(
            telegram_id=70_000 + 2 * index + offset,
            name=f"P{index}-{offset}",
            status=PersonStatus.ACTIVE,
            consent_at=now,
            consent_version="t",
            created_at=now,
        )
        for offset in (0, 1)
    ]
    session.add_all(people)
    await session.flush()
    mentor, mentee = people
    status = rng.choice([MatchStatus.ACTIVE] * 5 + [MatchStatus.PAUSED, "closing", "closed"])
    started = now - timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 23))
    match = Match(
        program_id=program.id or 0, mentor_id=mentor.id or 0, mentee_id=mentee.id or 0,
        status=status, started_at=started,
        closed_at=now - timedelta(days=rng.randint(0, 20)) if status == "closed" else None,
    )  # fmt: skip
    session.add(match)
    await session.flush()
    for back in range(WEEKS):
        due = now - timedelta(weeks=back, hours=rng.randint(0, 13))  # the same ISO week
        for person, rating in ((mentor, "going"), (mentee, "helpful")):
            for kind in (PromptKind.CHECKIN, PromptKind.REFLECTION):
                if rng.random() < (0.85 if kind == PromptKind.CHECKIN else 0.2):
                    await _random_prompt(session, rng, match, person, kind, due, rating)
    for _ in range(rng.randint(0, 5)):
        session.add(
            MeetingLog(
                match_id=match.id or 0, author_id=mentor.id or 0,
                met_on=(now - timedelta(days=rng.randint(-1, 75))).date(),
                minutes=rng.choice([0, 15, 30, 60, 90]), mode="call", created_at=now,
                deleted_at=now if rng.random() < 0.2 else None,
            )
        )  # fmt: skip
    for rule in rng.sample(RULES, rng.randint(0, 3)):
        flag_status = rng.choice(list(FlagStatus))
        session.add(
            Flag(
                match_id=match.id or 0, rule=rule, severity=rng.choice(SEVERITIES),
                evidence={}, status=flag_status,
                opened_at=now - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 59)),
                snoozed_until=rng.choice([None, now + timedelta(days=2), now - timedelta(days=1)]),
            )
        )  # fmt: skip


async def _random_prompt(
    session: AsyncSession,
    rng: Random,
    match: Match,
    person: Person,
    kind: str,
    due: datetime,
    rating: str,
) -> None:
    prompt = Prompt(
        person_id=person.id or 0, match_id=match.id or 0, kind=kind,
        period=period_key(due.date()), instrument="t", due_at=due,
        closes_at=due + timedelta(days=7), status=rng.choice(list(PromptStatus)),
    )  # fmt: skip
    session.add(prompt)
    await session.flush()
    if rng.random() < 0.6:
        at = due + timedelta(hours=rng.randint(1, 90))
        answers = {
            rng.choice([rating, rating, rating, "going", "helpful"]): rng.choice(
                ["1", "2", "3", "4", "5", "5", "", "x"]
            ),
            "contact": rng.choice(["call", "messages", "none", ""]),
            "duration": rng.choice([*DURATION_MINUTES, "??"]),
        }
        for key, value in answers.items():
            if rng.random() < 0.8:
                session.add(Answer(prompt_id=prompt.id or 0, question_key=key, value=value,
                                   answered_at=at))  # fmt: skip


@pytest.fixture(params=SEEDS)
async def programs(
    request: pytest.FixtureRequest, database: Database, program: Program, clock: FakeClock
) -> list[Program]:
    return await random_programs(database, program, clock, Random(request.param))


# --- match health ---------------------------------------------------------------------------


async def test_marks_order_and_pages_agree_with_the_python_judgement(
    database: Database, programs: list[Program], clock: FakeClock
) -> None:
    now = clock()
    for scope in ([programs[0]], [programs[1]], programs):
        async with database.session() as session:
            healths = await match_health(session, scope, now)
            assert await marks(session, scope, now) == {h.match.id: h.mark for h in healths}
            if scope == programs:  # the random programs hold every mark
                assert {health.mark for health in healths} == set(Mark)
            for wanted in (None, *Mark):
                expected = [h.match.id for h in healths if wanted in (None, h.mark)]
                seen, offset = [], 0
                while page := await open_page(session, scope, now, wanted, offset, 5):
                    if not page.match_ids:
                        break
                    assert page.counts == {m: sum(h.mark == m for h in healths) for m in Mark}
                    assert page.listed == len(expected)
                    seen += page.match_ids
                    offset += 5
                assert seen == expected, wanted
            closed = await match_health(session, scope, now, closed=True)
            pages = [await closed_page(session, scope, offset, 4) for offset in range(0, 40, 4)]
            assert [i for page in pages for i in page.match_ids] == [h.match.id for h in closed]
            assert closed == sorted(closed, key=sort_key)


# --- program figures ------------------------------------------------------------------------


async def _rows(session: AsyncSession, program: Program) -> list[tuple[Prompt, Answer, Match]]:
    return list(
        (
            await session.exec(
                select(Prompt, Answer, Match)
                .join(Answer, col(Answer.prompt_id) == col(Prompt.id))
                .join(Match, col(Match.id) == col(Prompt.match_id))
                .where(Match.program_id == program.id)
            )
        ).all()
    )


def python_ratings(
    rows: list[tuple[Prompt, Answer, Match]], periods: list[str]
) -> dict[str, dict[str, float]]:
    values: dict[tuple[str, str], list[int]] = defaultdict(list)
    for prompt, answer, match in rows:
        role = "mentor" if prompt.person_id == match.mentor_id else "mentee"
        if (
            prompt.kind == PromptKind.CHECKIN
            and prompt.period in periods
            and answer.question_key == RATING_KEYS[role]
            and answer.value in {"1", "2", "3", "4", "5"}
        ):
            values[prompt.period, role].append(int(answer.value))
    result: dict[str, dict[str, float]] = defaultdict(dict)
    for (period, role), ratings in values.items():
        result[period][role] = sum(ratings) / len(ratings)
    return dict(result)


async def test_weekly_figures_agree_with_per_match_rows(
    database: Database, programs: list[Program], clock: FakeClock
) -> None:
    for program in programs:
        periods = recent_periods(local_today(program, clock()), WEEKS + 1)
        async with database.session() as session:
            pid = program.id or 0
            rates = rates_by_week(await checkin_counts(session, pid, periods))
            assert await weekly_rates(session, pid, periods) == rates
            rows = await _rows(session, program)
            assert await weekly_ratings(session, pid, periods) == python_ratings(rows, periods)
            minutes = dict.fromkeys(periods, 0)
            for (_, period), value in (await contact_minutes(session, pid, periods)).items():
                minutes[period] += value
            assert await weekly_contact_minutes(session, pid, periods) == minutes
            assert sum(minutes.values()) > 0 or pid != programs[0].id


async def python_month(session: AsyncSession, program_id: int, today: date) -> tuple[int, int]:
    first, weeks = today.replace(day=1), month_weeks(today)
    mondays = [monday for week in weeks if (monday := period_monday(week)) is not None]
    start = min([first, *mondays])
    end = max([today, *(monday + timedelta(days=6) for monday in mondays)])
    meetings = minutes = 0
    logged = set()
    for match_id, met_on, length in await program_meetings(session, program_id, start, end):
        logged.add((match_id, period_key(met_on)))
        if first <= met_on <= today:
            meetings, minutes = meetings + 1, minutes + length
    estimates = await mentor_estimates(session, program_id, weeks)
    return meetings, minutes + sum(v for key, v in estimates.items() if key not in logged)


async def test_dashboard_and_digest_counts_agree_with_the_rows(
    database: Database, programs: list[Program], clock: FakeClock
) -> None:
    now = clock()
    for program in programs:
        pid, today = program.id or 0, local_today(program, now)
        async with database.session() as session:
            for day in (today, today - timedelta(days=20), today.replace(day=1)):
                assert await month_contact(session, pid, day) == await python_month(
                    session, pid, day
                )
            for back in range(4):
                week = previous_week(period_key(today - timedelta(weeks=back)))
                review = await week_in_review(session, program, week, now)
                assert (review.meetings, review.minutes, review.active, review.silent) == (
                    await python_week(session, program, week)
                )
            flags = list(
                (
                    await session.exec(
                        select(Flag)
                        .join(Match, col(Match.id) == col(Flag.match_id))
                        .where(Match.program_id == pid, Flag.status != FlagStatus.RESOLVED)
                    )
                ).all()
            )
            counts = await flag_counts(session, pid, now, 3)
            waiting = [flag for flag in flags if not snoozed(flag, now)]
            assert counts.by_severity == dict(Counter(flag.severity for flag in waiting))
            assert counts.snoozed == len(flags) - len(waiting)
            waiting.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.opened_at, f.id))  # type: ignore[call-overload]
            assert [line.flag.id for line in counts.top] == [flag.id for flag in waiting[:3]]


async def python_week(
    session: AsyncSession, program: Program, week: str
) -> tuple[int, int, int, int]:
    """(meetings, minutes, active, silent) of the week, as the digest counted them from
    the rows."""
    monday = period_monday(week)
    assert monday is not None
    pid = program.id or 0
    meetings = await program_meetings(session, pid, monday, monday + timedelta(days=6))
    logged = {match_id for match_id, _, _ in meetings}
    estimates = await mentor_estimates(session, pid, [week])
    minutes = sum(length for _, _, length in meetings) + sum(
        value for (match_id, _), value in estimates.items() if match_id not in logged
    )
    began = datetime.combine(monday, datetime.min.time(), program_zone(program))
    matches = (await session.exec(select(Match).where(Match.program_id == pid))).all()
    active = {m.id for m in matches if m.status == MatchStatus.ACTIVE and m.started_at < began}
    reported = {
        prompt.match_id
        for prompt, answer, _ in await _rows(session, program)
        if prompt.kind == PromptKind.CHECKIN
        and prompt.period == week
        and is_reported(answer.question_key, answer.value)
    }
    return len(meetings), minutes, len(active), len(active - logged - reported)
