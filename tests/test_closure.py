"""A match's end (storage.closure) through the dispatcher, with the controllable clock and
the fake Bot API, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: the closure notice
before the planned end, extensions, ending early from an end request, closure surveys
answered by both, one or none, no check-in after closure, and the outcome follow-ups.
The renderer is test_dispatch's stand-in, which names each prompt's instrument and
period: the closure dialogue does not exist yet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from telegram import Bot

from bot.dispatch import Dispatcher
from storage.closure import (
    EARLY_REASONS,
    SYSTEM,
    Actor,
    ClosureError,
    ClosureProblem,
    ClosureReason,
    answer_extension,
    current_extension,
    decide_extension,
    end_match,
    keep_match,
    set_wants_rematch,
    waiting_for_rematch,
)
from storage.closure_schedule import ClosureSettings, add_months, closure_settings
from storage.db import Database
from storage.end_requests import request_end
from storage.flags import Rule
from storage.models import (
    AuditEvent,
    ExtensionStatus,
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.test_dispatch import (
    TORONTO,
    VANCOUVER,
    EchoRenderer,
    Pair,
    add_pair,
    add_participant,
    chat,
    prompts_of,
    sent,
    utc,
)

# The clock starts on Monday 2026-11-16, 09:00 in Toronto; the match ends four weeks on.
PLANNED_END = date(2026, 12, 14)
NOTICE_DUE = utc(2026, 11, 30, 14)  # two weeks before, Monday 09:00 in Toronto
END_BEGINS = utc(2026, 12, 14, 5)  # midnight in Toronto
SURVEY_DUE = utc(2026, 12, 14, 14)  # the next 09:00 in Toronto
SURVEY_CLOSES = END_BEGINS + timedelta(days=14)


@pytest.fixture
async def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def dispatcher(
    api: FakeBotApi, database: Database, clock: FakeClock
) -> AsyncIterator[Dispatcher]:
    bot = Bot(BOT_TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    yield Dispatcher(bot, database, EchoRenderer(), clock, budget=None)
    await bot.shutdown()
    api.assert_no_problems()


async def ending_pair(database: Database, **options: object) -> Pair:
    pair = await add_pair(database, **options)  # type: ignore[arg-type]
    async with database.session() as session:
        match = await session.get(Match, pair.match_id)
        assert match is not None
        match.planned_end = PLANNED_END
        session.add(match)
    return pair


async def match_of(database: Database, pair: Pair) -> Match:
    async with database.session() as session:
        match = await session.get(Match, pair.match_id)
        assert match is not None
        return match


async def answer(database: Database, person: Person, kind: str, now: datetime) -> None:
    async with database.session() as session:
        await session.exec(
            sa.update(Prompt)
            .where(col(Prompt.person_id) == person.id, col(Prompt.kind) == kind)
            .values(status=PromptStatus.ANSWERED, answered_at=now)
        )


async def actions(database: Database) -> list[str]:
    async with database.session() as session:
        found = await session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id)))
        return list(found.all())


async def tick_at(dispatcher: Dispatcher, clock: FakeClock, moment: datetime) -> object:
    clock.now = moment
    return await dispatcher.tick()


def kinds(prompts: list[Prompt]) -> list[tuple[str, str]]:
    return [(prompt.kind, prompt.period) for prompt in prompts]


# --- settings and dates -------------------------------------------------------------------


def test_closure_settings_defaults_and_program_values() -> None:
    assert closure_settings(None) == ClosureSettings(2, 4, 14, (3, 6))
    chosen = {"closure": {"notice_weeks": 3, "survey_days": 10}, "followup": {"months": [12, 1]}}
    assert closure_settings(chosen) == ClosureSettings(3, 4, 10, (1, 12))
    nonsense = {"closure": {"notice_weeks": 0, "extension_weeks": "x"}, "followup": {"months": 3}}
    assert closure_settings(nonsense) == ClosureSettings()
    assert closure_settings({"followup": {"months": []}}).followup_months == ()


def test_months_later_keep_the_day_or_take_the_month_end() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 14), 6) == date(2027, 6, 14)
    assert add_months(date(2026, 8, 31), 4) == date(2026, 12, 31)


# --- the planned end ----------------------------------------------------------------------


async def test_planned_end_without_extension_notice_then_closure(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await ending_pair(database)
    await tick_at(dispatcher, clock, NOTICE_DUE - timedelta(minutes=1))
    assert not any("closure_notice" in text for text in sent(api))
    await tick_at(dispatcher, clock, NOTICE_DUE)
    for person in pair.people:  # beside that week's check-in
        assert "Check-in closure_notice 2026-12-14" in sent(api, chat(person))
    (notice,) = [p for p in await prompts_of(database, pair.mentee) if p.kind == "closure_notice"]
    assert (notice.closes_at, notice.remind_at) == (END_BEGINS, utc(2026, 12, 6, 14))
    await tick_at(dispatcher, clock, END_BEGINS - timedelta(seconds=1))
    assert (await match_of(database, pair)).status == MatchStatus.ACTIVE
    report = await tick_at(dispatcher, clock, END_BEGINS)
    assert report.closing == 1  # type: ignore[attr-defined]
    match = await match_of(database, pair)
    assert (match.status, match.closure_reason) == (MatchStatus.CLOSING, ClosureReason.COMPLETED)
    assert match.closing_at == END_BEGINS
    await tick_at(dispatcher, clock, SURVEY_DUE)
    assert sent(api, chat(pair.mentee))[-1] == "Check-in closure_mentee closure"
    assert sent(api, chat(pair.mentor))[-1] == "Check-in closure_mentor closure"
    # The week of the planned end had no check-in: the survey replaced it.
    periods = kinds(await prompts_of(database, pair.mentee))
    assert ("checkin", "2026-W51") not in periods and ("closure", "closure") in periods
    assert await actions(database) == ["match.end"]


async def test_extension_both_agree_and_the_coordinator_approves(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await ending_pair(database)
    await tick_at(dispatcher, clock, NOTICE_DUE)
    async with database.session() as session:
        match = await match_of(database, pair)
        asked = await answer_extension(session, match, pair.mentee.id or 0, True, clock.now)
        assert asked.status == ExtensionStatus.ASKING
        with pytest.raises(ClosureError) as early:
            await decide_extension(session, match, Actor(None, "coordinator"), True, clock.now)
        assert early.value.problem == ClosureProblem.NOT_AGREED
    async with database.session() as session:
        agreed = await answer_extension(session, match, pair.mentor.id or 0, True, clock.now)
        assert (agreed.status, agreed.weeks) == (ExtensionStatus.AGREED, 4)
    async with database.session() as session:
        with pytest.raises(ClosureError) as twice:
            await answer_extension(session, match, pair.mentor.id or 0, False, clock.now)
        assert twice.value.problem == ClosureProblem.NOT_ASKING
    async with database.session() as session:
        decided = await decide_extension(session, match, Actor(None, "cli ana"), True, clock.now)
        assert decided.status == ExtensionStatus.APPROVED
    extended = await match_of(database, pair)
    assert extended.planned_end == date(2027, 1, 11)
    # The old planned end passes: check-ins go on, and a new notice comes two weeks
    # before the new end.
    await tick_at(dispatcher, clock, END_BEGINS)
    assert (await match_of(database, pair)).status == MatchStatus.ACTIVE
    await tick_at(dispatcher, clock, SURVEY_DUE)
    assert sent(api, chat(pair.mentee))[-1] == "Check-in mentee_weekly 2026-W51"
    await tick_at(dispatcher, clock, utc(2026, 12, 28, 14))
    assert "Check-in closure_notice 2027-01-11" in sent(api, chat(pair.mentee))
    await tick_at(dispatcher, clock, utc(2027, 1, 11, 5))
    assert (await match_of(database, pair)).status == MatchStatus.CLOSING
    assert await actions(database) == [
        "match.extension_answer",
        "match.extension_answer",
        "match.extend",
        "match.end",
    ]


@pytest.mark.parametrize(
    ("mentor_wants", "approve", "status"),
    [(False, None, ExtensionStatus.DECLINED), (True, False, ExtensionStatus.REFUSED)],
)
async def test_extension_declined_by_one_or_refused_ends_on_the_planned_end(
    database: Database,
    dispatcher: Dispatcher,
    clock: FakeClock,
    mentor_wants: bool,
    approve: bool | None,
    status: ExtensionStatus,
) -> None:
    pair = await ending_pair(database)
    await tick_at(dispatcher, clock, NOTICE_DUE)
    match = await match_of(database, pair)
    async with database.session() as session:
        await answer_extension(session, match, pair.mentee.id or 0, True, clock.now)
        await answer_extension(session, match, pair.mentor.id or 0, mentor_wants, clock.now)
    async with database.session() as session:
        if approve is None:
            with pytest.raises(ClosureError):
                await decide_extension(session, match, Actor(None, "x"), True, clock.now)
        else:
            await decide_extension(session, match, Actor(None, "x"), approve, clock.now)
    async with database.session() as session:
        extension = await current_extension(session, match)
        assert extension is not None and extension.status == status
    await tick_at(dispatcher, clock, END_BEGINS)
    ended = await match_of(database, pair)
    assert (ended.status, ended.planned_end) == (MatchStatus.CLOSING, PLANNED_END)


async def test_an_extension_still_waiting_lapses_at_the_planned_end(
    database: Database, dispatcher: Dispatcher, clock: FakeClock
) -> None:
    pair = await ending_pair(database)
    match = await match_of(database, pair)
    async with database.session() as session:
        await answer_extension(session, match, pair.mentee.id or 0, True, clock.now)
    await tick_at(dispatcher, clock, END_BEGINS)
    async with database.session() as session:
        extension = await current_extension(session, await match_of(database, pair))
        assert extension is not None and extension.status == ExtensionStatus.LAPSED
        with pytest.raises(ClosureError) as late:
            await answer_extension(session, match, pair.mentor.id or 0, True, clock.now)
        assert late.value.problem == ClosureProblem.NOT_OPEN


# --- ending early -------------------------------------------------------------------------


async def test_end_match_from_a_request_resolves_its_flag(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await ending_pair(database)
    await tick_at(dispatcher, clock, clock.now - timedelta(hours=1))  # check-in materialised
    async with database.session() as session:
        match = await match_of(database, pair)
        await request_end(session, match, pair.mentee.id or 0, "no time", clock.now)
    coordinator = Actor(pair.mentor.id, "coordinator")  # any person row stands in
    async with database.session() as session:
        ended = await end_match(session, match, ClosureReason.NO_TIME, coordinator, clock.now)
    assert ended.resolved_flag_id is not None
    async with database.session() as session:
        flag = await session.get(Flag, ended.resolved_flag_id)
        assert flag is not None and flag.rule == Rule.END_REQUEST
        assert (flag.status, flag.handled_by) == (FlagStatus.RESOLVED, pair.mentor.id)
        events = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
    assert [event.action for event in events] == [
        "match.end_requested",
        "match.end",
        "flag.resolve",
    ]
    assert events[1].detail == {"reason": "no_time", "from": "active", "planned_end": "2026-12-14"}
    assert events[2].detail["outcome"] == "ended" and events[2].actor_label == "coordinator"
    # The check-in due at 09:00 is gone: only the closure surveys are sent.
    await tick_at(dispatcher, clock, utc(2026, 11, 16, 14))
    assert sent(api, chat(pair.mentee)) == ["Check-in closure_mentee closure"]
    async with database.session() as session:
        with pytest.raises(ClosureError) as again:
            await end_match(session, match, ClosureReason.OTHER, SYSTEM, clock.now)
        assert again.value.problem == ClosureProblem.NOT_OPEN
    assert ClosureReason.COMPLETED not in EARLY_REASONS and len(EARLY_REASONS) == 6


async def test_keep_match_resolves_the_request_and_changes_nothing_else(
    database: Database, clock: FakeClock
) -> None:
    pair = await ending_pair(database)
    match = await match_of(database, pair)
    async with database.session() as session:
        assert await keep_match(session, match, SYSTEM, clock.now) is None
        await request_end(session, match, pair.mentor.id or 0, None, clock.now)
    async with database.session() as session:
        flag_id = await keep_match(session, match, Actor(None, "cli ana"), clock.now)
    async with database.session() as session:
        flag = await session.get(Flag, flag_id)
        assert flag is not None and flag.status == FlagStatus.RESOLVED
    assert (await match_of(database, pair)).status == MatchStatus.ACTIVE


# --- the closure surveys ------------------------------------------------------------------


async def closing_pair(database: Database, dispatcher: Dispatcher, clock: FakeClock) -> Pair:
    """A pair whose match reached its planned end and whose surveys were sent."""
    pair = await ending_pair(database)
    await tick_at(dispatcher, clock, END_BEGINS)
    await tick_at(dispatcher, clock, SURVEY_DUE)
    return pair


async def test_surveys_answered_by_both_close_the_match(
    database: Database, dispatcher: Dispatcher, clock: FakeClock
) -> None:
    pair = await closing_pair(database, dispatcher, clock)
    await answer(database, pair.mentee, PromptKind.CLOSURE, clock.now)
    assert (await tick_at(dispatcher, clock, SURVEY_DUE + timedelta(hours=1))).ended == 0  # type: ignore[attr-defined]
    await answer(database, pair.mentor, PromptKind.CLOSURE, clock.now)
    closed_at = SURVEY_DUE + timedelta(hours=2)
    assert (await tick_at(dispatcher, clock, closed_at)).ended == 1  # type: ignore[attr-defined]
    match = await match_of(database, pair)
    assert (match.status, match.closed_at) == (MatchStatus.CLOSED, closed_at)
    assert await actions(database) == ["match.end", "match.closed"]


async def test_one_survey_answered_the_other_expires_and_the_match_closes(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await closing_pair(database, dispatcher, clock)
    await answer(database, pair.mentee, PromptKind.CLOSURE, clock.now)
    # One reminder, halfway through the window, to the one who has not answered.
    await tick_at(dispatcher, clock, utc(2026, 12, 20, 14))
    assert sent(api, chat(pair.mentor))[-1] == "Reminder closure"
    assert sent(api, chat(pair.mentee))[-1] == "Check-in closure_mentee closure"
    await tick_at(dispatcher, clock, SURVEY_CLOSES - timedelta(seconds=1))
    assert (await match_of(database, pair)).status == MatchStatus.CLOSING
    await tick_at(dispatcher, clock, SURVEY_CLOSES)
    match = await match_of(database, pair)
    assert (match.status, match.closed_at) == (MatchStatus.CLOSED, SURVEY_CLOSES)
    surveys = {p.person_id: p.status for p in await prompts_of(database) if p.kind == "closure"}
    assert surveys == {pair.mentee.id: PromptStatus.ANSWERED, pair.mentor.id: PromptStatus.MISSED}
    assert sum(text == "Reminder closure" for text in sent(api)) == 1


async def test_no_survey_answered_expiry_closes_the_match_and_no_checkin_follows(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await closing_pair(database, dispatcher, clock)
    await tick_at(dispatcher, clock, SURVEY_CLOSES)
    assert (await match_of(database, pair)).status == MatchStatus.CLOSED
    before = len(sent(api))
    for week in range(1, 9):  # two months of Mondays at 09:00
        await tick_at(dispatcher, clock, SURVEY_DUE + timedelta(weeks=week))
    assert len(sent(api)) == before
    statuses = [(p.kind, p.status) for p in await prompts_of(database) if p.kind == "closure"]
    assert statuses == [("closure", PromptStatus.MISSED)] * 2
    assert not [
        p for p in await prompts_of(database) if p.due_at > END_BEGINS and p.kind == "checkin"
    ]


async def test_no_checkin_in_the_week_after_a_match_ended_even_in_a_new_match(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await ending_pair(database)
    ended_at = utc(2026, 11, 17, 14)  # Tuesday
    match = await match_of(database, pair)
    async with database.session() as session:
        await end_match(session, match, ClosureReason.OTHER, SYSTEM, ended_at)
        program = await session.get(Program, match.program_id)
        assert program is not None and pair.mentee.id is not None
        mentor = await add_participant(session, program, ended_at, Role.MENTOR, zone=TORONTO)
        assert mentor.id is not None
        rematched = ended_at + timedelta(hours=1)
        session.add(Match(program_id=match.program_id, mentor_id=mentor.id,
                          mentee_id=pair.mentee.id, started_at=rematched))  # fmt: skip
    await tick_at(dispatcher, clock, utc(2026, 11, 23, 14))  # within the week: nothing
    assert not any("mentee_weekly" in text for text in sent(api, chat(pair.mentee)))
    assert sent(api, chat(mentor)) == ["Check-in mentor_weekly 2026-W48"]
    await tick_at(dispatcher, clock, utc(2026, 11, 30, 14))
    assert "Check-in mentee_weekly 2026-W49" in sent(api, chat(pair.mentee))


# --- outcome follow-ups -------------------------------------------------------------------

CLOSED_AT = utc(2026, 12, 14, 15)


async def closed_pair(database: Database, mentee_status: str = PersonStatus.ACTIVE) -> Pair:
    """A mentee in Vancouver and a mentor in Toronto whose match closed on CLOSED_AT."""
    pair = await add_pair(database, zone=VANCOUVER, mentor_zone=TORONTO)
    async with database.session() as session:
        match = await session.get(Match, pair.match_id)
        mentee = await session.get(Person, pair.mentee.id)
        assert match is not None and mentee is not None
        match.status, match.closing_at, match.closed_at = MatchStatus.CLOSED, END_BEGINS, CLOSED_AT
        mentee.status = mentee_status
        session.add_all([match, mentee])
    return pair


async def test_followups_at_the_offsets_and_the_mentees_local_time(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await closed_pair(database)
    # 14 December + 3 months is Sunday 14 March 2027 (daylight time from that night):
    # the first Monday slot is 15 March, 09:00 in Vancouver = 16:00 UTC.
    three = utc(2027, 3, 15, 16)
    await tick_at(dispatcher, clock, three - timedelta(minutes=1))
    assert sent(api) == []
    await tick_at(dispatcher, clock, three)
    assert sent(api) == ["Check-in followup_mentee m3"]
    assert chat(pair.mentee) in api.chats
    await tick_at(dispatcher, clock, three + timedelta(days=7))
    assert sent(api, chat(pair.mentee)) == ["Check-in followup_mentee m3", "Reminder m3"]
    six = utc(2027, 6, 14, 16)  # Monday 14 June, 09:00 in Vancouver
    await tick_at(dispatcher, clock, six)
    assert sent(api, chat(pair.mentee))[-1] == "Check-in followup_mentee m6"
    assert sent(api, chat(pair.mentor)) == []
    followups = [p for p in await prompts_of(database) if p.kind == PromptKind.FOLLOWUP]
    assert [(p.period, p.due_at, p.closes_at) for p in followups] == [
        ("m3", three, three + timedelta(days=14)),
        ("m6", six, six + timedelta(days=14)),
    ]


async def test_followup_offsets_are_a_program_setting(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, zone=TORONTO, settings={"followup": {"months": [1]}})
    async with database.session() as session:
        match = await session.get(Match, pair.match_id)
        assert match is not None
        match.status, match.closing_at, match.closed_at = MatchStatus.CLOSED, END_BEGINS, CLOSED_AT
        session.add(match)
    await tick_at(dispatcher, clock, utc(2027, 1, 18, 14))  # Monday 18 January, 09:00
    await tick_at(dispatcher, clock, utc(2027, 3, 15, 14))
    assert sent(api) == ["Check-in followup_mentee m1"]


@pytest.mark.parametrize(
    "status", [PersonStatus.CLOSED, PersonStatus.ERASED, PersonStatus.UNREACHABLE]
)
async def test_no_followup_for_someone_who_left_was_erased_or_is_unreachable(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock, status: str
) -> None:
    await closed_pair(database, mentee_status=status)
    for moment in (utc(2027, 3, 15, 16), utc(2027, 6, 14, 16)):
        await tick_at(dispatcher, clock, moment)
    assert sent(api) == []
    assert [p for p in await prompts_of(database) if p.kind == PromptKind.FOLLOWUP] == []


# --- rematch ------------------------------------------------------------------------------


async def test_a_mentee_who_wants_a_new_match_waits_until_matched_again(
    database: Database, clock: FakeClock
) -> None:
    pair = await closed_pair(database)
    match = await match_of(database, pair)
    async with database.session() as session:
        with pytest.raises(ClosureError) as mentor:
            await set_wants_rematch(session, match, pair.mentor.id or 0, True, clock.now)
        assert mentor.value.problem == ClosureProblem.NOT_MENTEE
        await set_wants_rematch(session, match, pair.mentee.id or 0, True, clock.now)
    async with database.session() as session:
        waiting = await waiting_for_rematch(session, match.program_id)
        assert [membership.person_id for membership in waiting] == [pair.mentee.id]
        session.add(
            Match(
                program_id=match.program_id,
                mentor_id=pair.mentor.id or 0,
                mentee_id=pair.mentee.id or 0,
                started_at=clock.now + timedelta(days=1),
            )
        )
    async with database.session() as session:
        assert await waiting_for_rematch(session, match.program_id) == []
    assert await actions(database) == ["match.rematch_wanted"]
