"""The dispatcher against the fake Bot API with a controllable clock, on SQLite and (with
TEST_DATABASE_URL) PostgreSQL: local times across DST, at-most-once sending under
concurrency, catching up after an outage, Telegram's errors, reminders, closing periods
and pauses. Rows are seeded directly; the renderer is a stand-in for the check-in
dialogue that names the prompt it words."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from apscheduler.triggers.date import DateTrigger
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackContext

from bot.app import PROMPTS, build_application
from bot.config import Settings
from bot.delivery import Outcome, TickReport, backoff, classify
from bot.dispatch import POSTGRESQL_LANES, Dispatcher
from bot.dispatch_job import JOB_NAME, run_dispatcher, schedule_dispatcher
from conversations import broadcast
from conversations.kit import alerting as alerts
from conversations.kit.buttons import Keyboard, keyboard
from conversations.kit.sending import markup_json
from storage.db import Database
from storage.materialise import (
    insert_prompts,
    invalidate_future,
    materialisation_due,
    materialise,
    materialise_page,
    materialise_start,
    refresh_statistics,
)
from storage.models import (
    Answer,
    Flag,
    Match,
    MatchStatus,
    MeetingLog,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from storage.prompts import claim_due, close_periods, mark_unreachable
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.test_pairing import add_person, join, make_program
from tests.test_week_figures import check_kept_rows

HOUR = timedelta(hours=1)
TORONTO, VANCOUVER, ST_JOHNS = "America/Toronto", "America/Vancouver", "America/St_Johns"
# The clock fixture starts at Monday 2026-11-16 14:00 UTC: 09:00 in Toronto.
MONDAY_NINE_TORONTO = datetime(2026, 11, 16, 14, tzinfo=UTC)
# Matched the day before: no earlier week is still open to catch up on.
MATCH_START = datetime(2026, 11, 15, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- the stand-in renderer and the seeding helpers ---------------------------------------


@dataclass(frozen=True)
class Message:
    text: str
    markup: InlineKeyboardMarkup | None = None


class EchoRenderer:
    """Words a prompt as 'Check-in <instrument> <period>' with one button."""

    async def render_prompt(self, session: AsyncSession, prompt: Prompt, person: Person) -> Message:
        button = InlineKeyboardButton("Start", callback_data=f"ci:{prompt.id}")
        return Message(
            f"<b>Check-in</b> {prompt.instrument} {prompt.period}",
            InlineKeyboardMarkup([[button]]),
        )

    async def render_reminder(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> Message:
        return Message(f"Reminder {prompt.period}")


@dataclass(frozen=True)
class Pair:
    match_id: int
    mentee: Person
    mentor: Person

    @property
    def people(self) -> tuple[Person, Person]:
        return self.mentee, self.mentor


_telegram_ids = itertools.count(700_000)


async def add_participant(
    session: AsyncSession,
    program: Program,
    now: datetime,
    role: Role,
    *,
    zone: str | None,
    weekday: int | None = 0,
    at: time | None = time(9),
    status: str = PersonStatus.ACTIVE,
    paused_until: date | None = None,
) -> Person:
    """A participant who finished onboarding with their own slot."""
    telegram_id = next(_telegram_ids)
    person = await add_person(session, now, telegram_id, f"{role} {telegram_id}", timezone=zone)
    person.checkin_weekday, person.checkin_time = weekday, at
    person.status, person.paused_until = status, paused_until
    session.add(person)
    await join(session, now, person, program, role)
    return person


async def add_pair(
    database: Database,
    *,
    zone: str = TORONTO,
    mentor_zone: str | None = None,
    weekday: int = 0,
    at: time = time(9),
    program_name: str = "Career",
    settings: dict[str, Any] | None = None,
    started: datetime = MATCH_START,
    mentee_status: str = PersonStatus.ACTIVE,
    paused_until: date | None = None,
) -> Pair:
    """A program (made once per name), a mentee and a mentor with the same slot (the
    mentor's zone may differ), matched on `started`."""
    async with database.session() as session:
        program = (await session.exec(select(Program).where(Program.name == program_name))).first()
        if program is None:
            program = await make_program(session, started, program_name)
            # Check-ins only: reflections have their own tests (tests/test_reflection.py).
            program.settings = {"reflection_every_weeks": 0, **(settings or {})}
            session.add(program)
        slot = {"weekday": weekday, "at": at}
        mentee = await add_participant(
            session, program, started, Role.MENTEE, zone=zone, status=mentee_status,
            paused_until=paused_until, **slot,
        )  # fmt: skip
        mentor = await add_participant(
            session, program, started, Role.MENTOR, zone=mentor_zone or zone, **slot
        )
        assert program.id is not None and mentee.id is not None and mentor.id is not None
        match = Match(
            program_id=program.id, mentor_id=mentor.id, mentee_id=mentee.id, started_at=started
        )
        session.add(match)
        await session.flush()
        assert match.id is not None
        return Pair(match.id, mentee, mentor)


async def prompts_of(database: Database, person: Person | None = None) -> list[Prompt]:
    async with database.session() as session:
        statement = select(Prompt).order_by(col(Prompt.due_at), col(Prompt.id))
        if person is not None:
            statement = statement.where(Prompt.person_id == person.id)
        return list((await session.exec(statement)).all())


async def reload(database: Database, person: Person) -> Person:
    async with database.session() as session:
        found = await session.get(Person, person.id)
        assert found is not None
        return found


async def set_prompt_status(database: Database, person: Person, status: str) -> None:
    async with database.session() as session:
        await session.exec(
            sa.update(Prompt).where(col(Prompt.person_id) == person.id).values(status=status)
        )


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    bot = Bot(BOT_TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    yield bot
    await bot.shutdown()
    api.assert_no_problems()


MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
def make_dispatcher(bot: Bot, database: Database, clock: FakeClock) -> MakeDispatcher:
    def make(db: Database | None = None, **options: Any) -> Dispatcher:
        options.setdefault("budget", None)
        options.setdefault("alerts", alerts)
        options.setdefault("broadcasts", broadcast)
        return Dispatcher(bot, db or database, EchoRenderer(), clock, **options)

    return make


@pytest.fixture
def dispatcher(make_dispatcher: MakeDispatcher) -> Dispatcher:
    return make_dispatcher()


def sent(api: FakeBotApi, chat_id: int | None = None) -> list[str]:
    """Texts of the messages delivered (to one chat), in order."""
    return [
        message.text
        for chat, messages in api.chats.items()
        if chat_id is None or chat == chat_id
        for message in messages
    ]


def chat(person: Person) -> int:
    assert person.chat_id is not None
    return person.chat_id


# --- local times ------------------------------------------------------------------------


# Monday 09:00 local in the last daylight week, the first standard week (DST ends
# 2026-11-01), the last standard week and the first daylight week (DST starts 2027-03-14).
MONDAYS = [(date(2026, 10, 26), True), (date(2026, 11, 2), False), (date(2027, 3, 8), False),
           (date(2027, 3, 15), True)]  # fmt: skip


def mondays(daylight_hour: float, standard_hour: float) -> list[datetime]:
    """The UTC instants of those Mondays' 09:00, from the zone's UTC hour for 09:00 in
    daylight and in standard time (written out by hand below)."""
    return [
        datetime.combine(day, time(0), UTC)
        + timedelta(hours=daylight_hour if daylight else standard_hour)
        for day, daylight in MONDAYS
    ]


DST_WEEKS = {TORONTO: mondays(13, 14), VANCOUVER: mondays(16, 17), ST_JOHNS: mondays(11.5, 12.5)}
PERIODS = ["2026-W44", "2026-W45", "2027-W10", "2027-W11"]


@pytest.mark.parametrize("zone", [TORONTO, VANCOUVER, ST_JOHNS])
async def test_prompts_arrive_at_local_nine_across_dst(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock, zone: str
) -> None:
    pair = await add_pair(database, zone=zone, started=utc(2026, 10, 20))
    for due, period in zip(DST_WEEKS[zone], PERIODS, strict=True):
        clock.now = due - timedelta(minutes=1)
        await dispatcher.tick()
        assert not any(period in text for text in sent(api)), f"{period} sent early"
        clock.now = due
        report = await dispatcher.tick()
        assert report.sent == 2
        for person in pair.people:
            assert sum(period in text for text in sent(api, chat(person))) == 1
    # Every prompt was sent at the instant it fell due, never before, never twice.
    prompts = await prompts_of(database, pair.mentee)
    sent_at = {p.period: p.sent_at for p in prompts if p.period in PERIODS}
    assert sent_at == dict(zip(PERIODS, DST_WEEKS[zone], strict=True))
    # Jumping from November to March, the week of 2027-03-01 was still open: caught up.
    assert [p.period for p in prompts] == [*PERIODS[:2], "2027-W09", *PERIODS[2:]]


async def test_mentor_and_mentee_each_get_their_own_local_time(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, zone=ST_JOHNS, mentor_zone=VANCOUVER, started=utc(2026, 11, 20))
    clock.now = utc(2026, 11, 23, 12, 30)  # 09:00 in St. John's
    assert (await dispatcher.tick()).sent == 1
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W48"]
    clock.now = utc(2026, 11, 23, 17)  # 09:00 in Vancouver
    assert (await dispatcher.tick()).sent == 1
    assert sent(api, chat(pair.mentor)) == ["Check-in mentor_weekly 2026-W48"]
    (call, _) = api.calls_to("sendMessage")
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Start"


async def test_slot_in_the_spring_gap_and_fall_overlap(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    """Sunday 02:30 on the night clocks jump comes at 03:30; Sunday 01:30 on the night
    they fall back comes the first time."""
    start = utc(2026, 10, 31)
    gap = await add_pair(database, weekday=6, at=time(2, 30), program_name="Gap", started=start)
    overlap = await add_pair(
        database, weekday=6, at=time(1, 30), program_name="Overlap", started=start
    )
    clock.now = utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    await dispatcher.tick()
    # (the first check-in of November: the monthly pulse)
    assert sent(api, chat(overlap.mentee)) == ["Check-in relationship_pulse 2026-W44"]
    clock.now = utc(2026, 11, 1, 6, 30)  # 01:30 EST, the second time
    assert (await dispatcher.tick()).sent == 0
    clock.now = utc(2027, 3, 14, 7, 29)
    await dispatcher.tick()
    assert not any("2027-W10" in text for text in sent(api, chat(gap.mentee)))
    clock.now = utc(2027, 3, 14, 7, 30)  # 03:30 EDT
    await dispatcher.tick()
    assert sent(api, chat(gap.mentee))[-1] == "Check-in mentee_weekly 2027-W10"


async def test_monthly_pulse_replaces_the_first_weekly_checkin(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    settings = {"instruments": {"mentee": "career_mentee"}}
    pair = await add_pair(database, settings=settings)
    for day in (23, 30):
        clock.now = utc(2026, 11, day, 14)
        await dispatcher.tick()
    clock.now = utc(2026, 12, 7, 14)
    await dispatcher.tick()
    assert sent(api, chat(pair.mentee)) == [
        "Check-in career_mentee 2026-W48",
        "Check-in career_mentee 2026-W49",
        "Check-in relationship_pulse 2026-W50",
    ]
    assert sent(api, chat(pair.mentor))[-1] == "Check-in relationship_pulse 2026-W50"


# --- at most once ------------------------------------------------------------------------


async def test_concurrent_ticks_send_each_prompt_once(
    database: Database, make_dispatcher: MakeDispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pairs = [await add_pair(database) for _ in range(20)]
    first, second = make_dispatcher(batch_size=3), make_dispatcher(batch_size=3)
    reports = await asyncio.gather(first.tick(), second.tick(), first.tick())
    assert sum(report.sent for report in reports) == 40
    chats = [int(call.params["chat_id"]) for call in api.calls_to("sendMessage")]
    assert sorted(chats) == sorted(chat(person) for pair in pairs for person in pair.people)
    assert {p.status for p in await prompts_of(database)} == {PromptStatus.SENT}


@pytest.mark.parametrize("advisory_lock", [True, False])
async def test_dispatchers_on_separate_connections_send_each_prompt_once(
    database: Database,
    database_url: str,
    make_dispatcher: MakeDispatcher,
    api: FakeBotApi,
    advisory_lock: bool,
) -> None:
    """Two instances (separate engines, separate connections). Without the PostgreSQL
    advisory lock the claim statement alone keeps them apart."""
    for _ in range(30):
        await add_pair(database)
    other = Database(database_url)
    try:
        one = make_dispatcher(batch_size=4, advisory_lock=advisory_lock)
        two = make_dispatcher(other, batch_size=4, advisory_lock=advisory_lock)
        reports = await asyncio.gather(one.tick(), two.tick(), one.tick(), two.tick())
    finally:
        await other.dispose()
    assert sum(report.sent for report in reports) == 60
    chats = [int(call.params["chat_id"]) for call in api.calls_to("sendMessage")]
    assert len(chats) == len(set(chats)) == 60
    if advisory_lock and not database.is_sqlite:
        assert any(report.skipped for report in reports)


async def test_two_claims_never_overlap(database: Database, clock: FakeClock) -> None:
    for _ in range(10):
        await add_pair(database)
    async with database.session() as session:
        assert await materialise(session, clock(), HOUR) == 20

    async def claim() -> list[int]:
        async with database.session() as session:
            return [prompt.id or 0 for prompt in await claim_due(session, clock(), 7)]

    batches = await asyncio.gather(*(claim() for _ in range(4)))
    claimed = [prompt_id for batch in batches for prompt_id in batch]
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 20
    assert max(len(batch) for batch in batches) <= 7
    if database.is_sqlite:  # claims run one after the other: the first three take all
        assert sorted(len(batch) for batch in batches) == [0, 6, 7, 7]


async def test_a_dead_instance_claims_are_recovered_within_a_minute(
    database: Database, dispatcher: Dispatcher, bot: Bot, api: FakeBotApi, clock: FakeClock
) -> None:
    """An instance claims a batch, sends one message and is killed before recording
    anything. The survivor leaves the leased rows alone, then recovers them once the
    lease has run out and sends each check-in again once (it may have arrived)."""
    pairs = [await add_pair(database) for _ in range(3)]
    async with database.session() as session:
        assert await materialise(session, clock(), HOUR) == 6
        batch = await claim_due(session, clock(), 4, claimed_by="dead:1")
    assert {prompt.claimed_by for prompt in batch} == {"dead:1"}
    assert {prompt.lease_until for prompt in batch} == {clock.now + timedelta(seconds=30)}
    people = {person.id: person for pair in pairs for person in pair.people}
    in_flight = people[batch[0].person_id]
    await bot.send_message(chat(in_flight), "Check-in in flight")  # arrived, never recorded
    report = await dispatcher.tick()
    assert (report.sent, report.recovered) == (2, 0)  # the leased rows are left alone
    clock.advance(seconds=31)
    report = await dispatcher.tick()
    assert (report.recovered, report.sent) == (4, 4)
    clock.advance(minutes=30)
    assert not (await dispatcher.tick()).sent
    rows = await prompts_of(database)
    assert {row.status for row in rows} == {PromptStatus.SENT}
    resent = {row.person_id for row in rows if row.uncertain_sends}
    assert resent == {prompt.person_id for prompt in batch}
    copies = {person_id: len(sent(api, chat(person))) for person_id, person in people.items()}
    assert copies == {person_id: 2 if person_id == in_flight.id else 1 for person_id in people}


async def test_on_postgresql_two_lanes_claim_at_once_and_send_each_prompt_once(
    database: Database,
    make_dispatcher: MakeDispatcher,
    api: FakeBotApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sends are held until more batches are claimed than one lane ever holds (the one
    sending and the next): only two lanes claiming at once get there. Then every prompt
    goes out once."""
    if database.is_sqlite:
        pytest.skip("SQLite has one writer, so one lane")
    pairs = [await add_pair(database) for _ in range(30)]
    answer = api.do_request
    held: list[int] = []

    async def claimed_now() -> int:
        async with database.session() as session:
            sending = select(sa.func.count()).where(Prompt.status == PromptStatus.SENDING)
            return int((await session.exec(sending)).one())

    async def held_back(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if not held:
            for _ in range(200):
                held.append(await claimed_now())
                if held[-1] > 20:
                    break
                await asyncio.sleep(0.01)
        return await answer(*args, **kwargs)

    monkeypatch.setattr(api, "do_request", held_back)
    dispatcher = make_dispatcher(batch_size=10, concurrency=1)
    report = await asyncio.wait_for(dispatcher.tick(), timeout=10)
    assert max(held) > 20, held  # one lane: at most its two batches of 10
    assert report.sent == 60
    people = [person for pair in pairs for person in pair.people]
    assert all(len(sent(api, chat(person))) == 1 for person in people)
    assert {row.status for row in await prompts_of(database)} == {PromptStatus.SENT}


async def test_stopping_ends_the_tick_and_gives_back_its_claims(
    database: Database,
    make_dispatcher: MakeDispatcher,
    api: FakeBotApi,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(20):
        await add_pair(database)
    answer = api.do_request
    dispatcher = make_dispatcher(batch_size=10, concurrency=2)
    started = 0

    async def slow(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        nonlocal started
        started += 1
        if started == 5:
            dispatcher.stop()  # SIGTERM arrives during the fifth send
        await asyncio.sleep(0.02)
        return await answer(*args, **kwargs)

    monkeypatch.setattr(api, "do_request", slow)
    report = await asyncio.wait_for(dispatcher.tick(), timeout=2)
    calls = len(api.calls_to("sendMessage"))
    assert calls in (5, 6) and report.sent == calls  # only the sends in flight finished
    # The next batch is claimed while the first one sends, unless the stop came first;
    # on PostgreSQL two lanes do so at once.
    lanes = 1 if database.is_sqlite else POSTGRESQL_LANES
    claimed = report.released + calls
    assert claimed % 10 == 0 and 10 <= claimed <= 20 * lanes
    rows = await prompts_of(database)
    assert sum(row.status == PromptStatus.SENT for row in rows) == calls
    waiting = [row for row in rows if row.status != PromptStatus.SENT]
    assert {(row.status, row.attempts) for row in waiting} == {(PromptStatus.PENDING, 0)}
    assert not (await dispatcher.tick())  # stopped: does nothing more
    successor = make_dispatcher()
    assert (await successor.tick()).sent == 40 - calls
    chats = [int(call.params["chat_id"]) for call in api.calls_to("sendMessage")]
    assert len(chats) == len(set(chats)) == 40


async def test_a_large_materialisation_refreshes_the_queue_statistics_on_postgresql(
    database: Database,
) -> None:
    if database.is_sqlite:
        pytest.skip("planner statistics are PostgreSQL's")
    for _ in range(3):
        await add_pair(database)
    async with database.session() as session:
        created = await materialise(session, MONDAY_NINE_TORONTO, 2 * HOUR)
        assert created == 6
        assert not await refresh_statistics(session, created, threshold=7)
        assert await refresh_statistics(session, created, threshold=6)
    async with database.session() as session:
        tuples = await session.exec(
            sa.text("SELECT reltuples FROM pg_class WHERE relname = 'prompt'")
        )
        assert tuples.one()[0] == 6  # the planner knows the queue's size


# --- outages ------------------------------------------------------------------------------


@pytest.mark.parametrize(("down_for", "period"), [(3, "2026-W47"), (10, "2026-W48")])
async def test_bot_that_was_down_catches_up_the_open_period_once(
    database: Database,
    dispatcher: Dispatcher,
    api: FakeBotApi,
    clock: FakeClock,
    down_for: int,
    period: str,
) -> None:
    pair = await add_pair(database)
    clock.now = MONDAY_NINE_TORONTO + timedelta(days=down_for)
    report = await dispatcher.tick()
    assert report.sent == 2
    await dispatcher.tick()
    clock.advance(minutes=5)
    await dispatcher.tick()
    assert sent(api, chat(pair.mentee)) == [f"Check-in mentee_weekly {period}"]
    prompts = await prompts_of(database, pair.mentee)
    # Nothing was created for the weeks that closed while the bot was down.
    assert [p.period for p in prompts if p.due_at <= clock.now] == [period]
    assert all(p.status != PromptStatus.MISSED for p in prompts)


async def test_outage_never_counts_against_anyone(
    database: Database, dispatcher: Dispatcher, clock: FakeClock
) -> None:
    """A prompt materialised before the bot went down expires unsent, not missed."""
    pair = await add_pair(database)
    clock.now = MONDAY_NINE_TORONTO - HOUR
    await dispatcher.tick()  # materialises this week's, due in an hour
    clock.advance(days=8)
    report = await dispatcher.tick()
    prompts = await prompts_of(database, pair.mentee)
    assert [(p.period, p.status) for p in prompts][:2] == [
        ("2026-W47", PromptStatus.EXPIRED),
        ("2026-W48", PromptStatus.SENT),
    ]
    assert report.closed == 2


# --- Telegram's errors --------------------------------------------------------------------


async def test_retry_after_waits_as_long_as_telegram_says(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, program_name="Solo")
    await mark_mentor_closed(database, pair)
    api.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 30",
        retry_after=30,
    )  # fmt: skip
    report = await dispatcher.tick()
    assert (report.sent, report.retried) == (0, 1)
    (prompt,) = await prompts_of(database, pair.mentee)
    assert prompt.status == PromptStatus.PENDING
    assert prompt.next_attempt_at == clock.now + timedelta(seconds=30)
    assert prompt.attempts == 0  # flood control does not use up an attempt
    clock.advance(seconds=29)
    assert (await dispatcher.tick()).sent == 0
    clock.advance(seconds=1)
    assert (await dispatcher.tick()).sent == 1
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W47"]


async def mark_mentor_closed(database: Database, pair: Pair) -> None:
    """Leave only the mentee to prompt, so counts stay simple."""
    async with database.session() as session:
        await session.exec(
            sa.update(Person)
            .where(col(Person.id) == pair.mentor.id)
            .values(status=PersonStatus.CLOSED)
        )


async def test_failed_connections_back_off_then_send(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, program_name="Solo")
    await mark_mentor_closed(database, pair)
    api.refuse_next("sendMessage", times=3)  # nothing reached Telegram
    start = clock.now
    for wait in (1, 2, 4):  # minutes after each failure
        report = await dispatcher.tick()
        assert report.retried == 1
        (prompt,) = await prompts_of(database, pair.mentee)
        assert prompt.next_attempt_at == clock.now + timedelta(minutes=wait)
        clock.advance(minutes=wait - 0.5)
        assert (await dispatcher.tick()).sent == 0
        clock.advance(minutes=0.5)
    assert (await dispatcher.tick()).sent == 1
    (prompt,) = await prompts_of(database, pair.mentee)
    assert (prompt.status, prompt.attempts, prompt.uncertain_sends) == (PromptStatus.SENT, 4, 0)
    assert prompt.sent_at == start + timedelta(minutes=7)
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W47"]


@pytest.mark.parametrize("failure", ["timeout after delivery", "bad gateway"])
async def test_an_uncertain_send_is_repeated_once_at_most(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock, failure: str
) -> None:
    """A check-in whose send may have arrived is sent once more, never a third time."""
    pair = await add_pair(database, program_name="Solo")
    await mark_mentor_closed(database, pair)
    for _ in range(2):
        if failure == "bad gateway":
            api.fail_next("sendMessage", error_code=502, description="Bad Gateway")
        else:
            api.time_out_next("sendMessage", after_delivery=True)
    report = await dispatcher.tick()
    assert (report.sent, report.uncertain, report.retried) == (0, 1, 1)
    (prompt,) = await prompts_of(database, pair.mentee)
    assert (prompt.status, prompt.uncertain_sends) == (PromptStatus.PENDING, 1)
    clock.advance(minutes=1)
    report = await dispatcher.tick()  # the one re-send: uncertain again
    assert (report.sent, report.uncertain, report.retried) == (0, 1, 0)
    (prompt,) = await prompts_of(database, pair.mentee)
    assert (prompt.status, prompt.uncertain_sends) == (PromptStatus.SENT, 2)
    clock.advance(minutes=30)
    assert (await dispatcher.tick()).sent == 0
    delivered = 2 if failure != "bad gateway" else 0
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W47"] * delivered
    assert len(api.calls_to("sendMessage")) == 2


async def test_a_resend_after_an_uncertain_send_that_arrives_is_recorded(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, program_name="Solo")
    await mark_mentor_closed(database, pair)
    api.time_out_next("sendMessage", after_delivery=True)
    await dispatcher.tick()
    clock.advance(minutes=1)
    assert (await dispatcher.tick()).sent == 1
    (prompt,) = await prompts_of(database, pair.mentee)
    assert (prompt.status, prompt.uncertain_sends, prompt.attempts) == (PromptStatus.SENT, 1, 2)
    assert prompt.telegram_message_id == 2  # the second copy is the one answers refer to
    assert len(sent(api, chat(pair.mentee))) == 2


async def test_prompt_fails_after_five_attempts(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, program_name="Solo")
    await mark_mentor_closed(database, pair)
    api.refuse_next("sendMessage", times=5)
    reports = []
    for wait in (1, 2, 4, 8, 16):
        reports.append(await dispatcher.tick())
        clock.advance(minutes=wait)
    assert [r.retried for r in reports] == [1, 1, 1, 1, 0]
    assert reports[-1].failed == 1
    (prompt,) = await prompts_of(database, pair.mentee)
    assert (prompt.status, prompt.attempts) == (PromptStatus.FAILED, 5)
    assert (await dispatcher.tick()).sent == 0
    assert (await reload(database, pair.mentee)).status == PersonStatus.ACTIVE


@pytest.mark.parametrize("how", ["blocked", "chat not found"])
async def test_forbidden_marks_unreachable_and_raises_one_flag(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock, how: str
) -> None:
    pair = await add_pair(database)
    clock.now = MONDAY_NINE_TORONTO - HOUR
    await dispatcher.tick()  # this week's prompts exist, due in an hour
    clock.now = MONDAY_NINE_TORONTO
    if how == "blocked":
        api.block(chat(pair.mentee))
    else:
        api.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    report = await dispatcher.tick()
    assert (report.sent, report.failed, report.unreachable) == (1, 1, 1)
    assert (await reload(database, pair.mentee)).status == PersonStatus.UNREACHABLE
    async with database.session() as session:
        (flag,) = (await session.exec(select(Flag))).all()
    assert (flag.match_id, flag.rule, flag.severity, flag.status) == (
        pair.match_id, "unreachable", "high", "open",
    )  # fmt: skip
    assert flag.evidence == {"since": clock.now.isoformat(), "person_id": pair.mentee.id}
    (prompt,) = await prompts_of(database, pair.mentee)
    assert prompt.status == PromptStatus.FAILED
    # No more prompts for them, however long we wait; the mentor carries on.
    for _ in range(3):
        clock.advance(days=7)
        await dispatcher.tick()
    assert len(await prompts_of(database, pair.mentee)) == 1
    assert len(sent(api, chat(pair.mentor))) == 4
    # Telling it again raises no second flag while the first is unresolved.
    async with database.session() as session:
        assert await mark_unreachable(session, pair.mentee.id or 0, clock.now) == 0
        assert len((await session.exec(select(Flag))).all()) == 1


async def test_other_bad_requests_fail_without_retry(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi
) -> None:
    pair = await add_pair(database, program_name="Solo")
    await mark_mentor_closed(database, pair)
    api.fail_next("sendMessage", error_code=400, description="Bad Request: can't parse entities")
    report = await dispatcher.tick()
    assert (report.failed, report.retried, report.unreachable) == (1, 0, 0)
    assert (await reload(database, pair.mentee)).status == PersonStatus.ACTIVE


def test_error_classification_and_backoff() -> None:
    assert classify(RetryAfter(5)) is Outcome.FLOOD
    assert classify(Forbidden("Forbidden: bot was blocked by the user")) is Outcome.UNREACHABLE
    assert classify(BadRequest("Chat not found")) is Outcome.UNREACHABLE
    assert classify(BadRequest("Message text is empty")) is Outcome.FAILED
    assert classify(TimedOut()) is Outcome.UNCERTAIN
    assert classify(NetworkError("Bad Gateway")) is Outcome.UNCERTAIN
    for cause in (httpx.ConnectError("no"), httpx.ConnectTimeout("no"), httpx.PoolTimeout("no")):
        error = TimedOut() if isinstance(cause, httpx.TimeoutException) else NetworkError("x")
        error.__cause__ = cause
        assert classify(error) is Outcome.BACKOFF, cause
    read_timeout = TimedOut()
    read_timeout.__cause__ = httpx.ReadTimeout("no answer")
    assert classify(read_timeout) is Outcome.UNCERTAIN
    assert classify(ValueError("a bug")) is Outcome.FAILED
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]


# --- reminders, closing and pauses ----------------------------------------------------------


async def test_one_reminder_after_the_delay_unless_answered(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database)
    await dispatcher.tick()
    await set_prompt_status(database, pair.mentor, PromptStatus.ANSWERED)
    clock.advance(hours=23, minutes=59)
    assert (await dispatcher.tick()).reminded == 0
    clock.advance(minutes=1)
    assert (await dispatcher.tick()).reminded == 1
    for _ in range(3):
        clock.advance(hours=1)
        assert (await dispatcher.tick()).reminded == 0
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W47", "Reminder 2026-W47"]
    assert sent(api, chat(pair.mentor)) == ["Check-in mentor_weekly 2026-W47"]
    # The reminder replies to the prompt it is about.
    reminder = api.calls_to("sendMessage")[-1]
    (prompt,) = await prompts_of(database, pair.mentee)
    assert reminder.params["reply_parameters"]["message_id"] == prompt.telegram_message_id
    assert prompt.reminded_at == MONDAY_NINE_TORONTO + timedelta(hours=24)


async def test_reminder_delay_is_a_program_setting(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, settings={"reminder_hours": 6})
    await dispatcher.tick()
    clock.advance(hours=6)
    assert (await dispatcher.tick()).reminded == 2
    assert sent(api, chat(pair.mentee))[-1] == "Reminder 2026-W47"


async def test_reminder_retried_after_flood_control(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, program_name="Solo")
    await mark_mentor_closed(database, pair)
    await dispatcher.tick()
    clock.advance(hours=24)
    api.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=60)
    assert (await dispatcher.tick()).reminded == 0
    clock.advance(seconds=60)
    assert (await dispatcher.tick()).reminded == 1
    assert sent(api, chat(pair.mentee))[-1] == "Reminder 2026-W47"


async def test_closed_periods_are_missed_or_expired(
    database: Database, dispatcher: Dispatcher, clock: FakeClock
) -> None:
    answered, unanswered = await add_pair(database), await add_pair(database)
    await dispatcher.tick()
    await set_prompt_status(database, answered.mentee, PromptStatus.ANSWERED)
    await set_prompt_status(database, answered.mentor, PromptStatus.SKIPPED)
    clock.advance(days=7)
    report = await dispatcher.tick()
    assert report.closed == 2
    statuses = {
        person.id: (await prompts_of(database, person))[0].status
        for person in (*answered.people, *unanswered.people)
    }
    assert statuses == {
        answered.mentee.id: PromptStatus.ANSWERED,
        answered.mentor.id: PromptStatus.SKIPPED,
        unanswered.mentee.id: PromptStatus.MISSED,
        unanswered.mentor.id: PromptStatus.MISSED,
    }
    async with database.session() as session:
        assert await close_periods(session, clock.now) == 0


async def test_paused_participants_get_nothing_and_miss_nothing(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(
        database, mentee_status=PersonStatus.PAUSED, paused_until=date(2026, 11, 30)
    )
    for _ in range(2):
        await dispatcher.tick()
        clock.advance(days=7)
    assert sent(api, chat(pair.mentee)) == []
    assert await prompts_of(database, pair.mentee) == []
    assert len(sent(api, chat(pair.mentor))) == 2
    # 2026-11-30 in Toronto: the pause is over and this week's check-in comes at 09:00.
    assert clock.now == utc(2026, 11, 30, 14)
    await dispatcher.tick()
    assert (await reload(database, pair.mentee)).status == PersonStatus.ACTIVE
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W49"]


async def test_pausing_after_the_prompt_was_sent_is_not_a_miss(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database)
    clock.now = MONDAY_NINE_TORONTO - HOUR
    await dispatcher.tick()
    clock.now = MONDAY_NINE_TORONTO
    await dispatcher.tick()
    async with database.session() as session:
        person = await session.get(Person, pair.mentee.id)
        assert person is not None
        person.status, person.paused_until = PersonStatus.PAUSED, date(2027, 1, 4)
        session.add(person)
        await invalidate_future(session, pair.mentee.id or 0, clock.now)
    clock.advance(days=1)
    assert (await dispatcher.tick()).reminded == 1  # the mentor only
    clock.advance(days=7)
    await dispatcher.tick()
    prompts = await prompts_of(database, pair.mentee)
    assert [(p.period, p.status) for p in prompts] == [("2026-W47", PromptStatus.EXPIRED)]
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W47"]


# --- materialising -----------------------------------------------------------------------


async def test_materialise_is_idempotent_and_skips_weeks_before_the_match(
    database: Database, clock: FakeClock
) -> None:
    early = await add_pair(database)
    late = await add_pair(database, started=MONDAY_NINE_TORONTO + HOUR, program_name="Late")
    async with database.session() as session:
        # early: this week's and next week's (due in exactly 7 days); late: next week's.
        assert await materialise(session, clock.now, timedelta(days=7)) == 6
    async with database.session() as session:
        assert await materialise(session, clock.now, timedelta(days=7)) == 0
    periods = {p.period for p in await prompts_of(database, early.mentee)}
    assert periods == {"2026-W47", "2026-W48"}
    assert {p.period for p in await prompts_of(database, late.mentee)} == {"2026-W48"}
    (first, _) = await prompts_of(database, early.mentee)
    assert first.remind_at == first.due_at + timedelta(hours=24)
    assert first.closes_at == utc(2026, 11, 23, 14)
    assert (first.kind, first.instrument, first.attempts) == ("checkin", "mentee_weekly", 0)


async def test_prompts_inserted_together_are_stored_as_the_orm_stores_them(
    database: Database,
) -> None:
    """`insert_prompts` writes a page in one statement (a JSON array on SQLite, one array
    per column on PostgreSQL), bypassing the ORM: what it stores must read, compare and
    conflict like a prompt the ORM wrote, or the queue's date comparisons (text on
    SQLite) go wrong."""
    pair = await add_pair(database)
    due = datetime(2026, 11, 23, 9, 30, 15, 250, tzinfo=ZoneInfo(TORONTO))
    row: dict[str, Any] = {
        "person_id": pair.mentee.id, "match_id": pair.match_id, "kind": PromptKind.CHECKIN,
        "period": "2026-W48", "instrument": "mentee_weekly", "due_at": due,
        "closes_at": due + timedelta(days=7), "status": PromptStatus.PENDING, "attempts": 0,
        "remind_at": None,
    }  # fmt: skip
    mentor_row = {**row, "person_id": pair.mentor.id, "remind_at": due + HOUR}
    async with database.session() as session:
        assert await insert_prompts(session, [row, mentor_row]) == 2
        session.add(Prompt(**{**row, "period": "2026-W49"}))
    async with database.session() as session:
        assert await insert_prompts(session, [mentor_row, {**row, "period": "2026-W50"}]) == 1
        stored = (
            await session.exec(
                sa.text("SELECT period, due_at, closes_at FROM prompt ORDER BY period, id")
            )
        ).all()
        at_due = select(sa.func.count()).where(col(Prompt.due_at) == due)
        assert (await session.exec(at_due)).one() == 4
    assert [period for period, *_ in stored] == ["2026-W48", "2026-W48", "2026-W49", "2026-W50"]
    assert len({(due_at, closes_at) for _, due_at, closes_at in stored}) == 1
    mentee, _, _ = await prompts_of(database, pair.mentee)
    (mentor,) = await prompts_of(database, pair.mentor)
    assert (mentee.due_at, mentee.remind_at, mentor.remind_at) == (due, None, due + HOUR)
    assert (mentee.kind, mentee.status, mentee.attempts) == ("checkin", "pending", 0)


async def test_materialising_page_by_page_creates_the_same_prompts(
    database: Database, clock: FakeClock
) -> None:
    for _ in range(5):
        await add_pair(database)
    async with database.session() as session:
        run = await materialise_start(session, clock.now, timedelta(days=7), page_size=2)
    assert len(run.pages) == 3
    created = 0
    for page in run.pages:
        async with database.session() as session:
            created += await materialise_page(session, run, page)
    assert created == 20
    assert len(run.plans) == 2  # one plan per (slot, role, program), shared by the pages
    async with database.session() as session:
        assert await materialise(session, clock.now, timedelta(days=7)) == 0


async def test_who_gets_prompts(database: Database, clock: FakeClock) -> None:
    """Only people who finished onboarding, are active, in an active match, with a zone."""
    await add_pair(database)
    closed = await add_pair(database)
    unfinished = await add_pair(database)
    no_zone = await add_pair(database, program_name="Zoneless")
    async with database.session() as session:
        await session.exec(
            sa.update(Match)
            .where(col(Match.id) == closed.match_id)
            .values(status=MatchStatus.CLOSED)
        )
        await session.exec(
            sa.text("UPDATE membership SET completed_at = NULL WHERE person_id = :person"),
            params={"person": unfinished.mentee.id},
        )
        await session.exec(
            sa.update(Person)
            .where(col(Person.id).in_([p.id for p in no_zone.people]))
            .values(timezone="Mars/Olympus_Mons")
        )
        await session.exec(
            sa.update(Program).where(Program.name == "Zoneless").values(timezone="Nowhere/Land")
        )
        assert await materialise(session, clock.now, HOUR) == 3


async def test_program_slot_and_zone_are_the_fallback(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database, zone=VANCOUVER)
    async with database.session() as session:
        await session.exec(
            sa.update(Person)
            .where(col(Person.id) == pair.mentee.id)
            .values(timezone=None, checkin_weekday=None, checkin_time=None)
        )
    # The program's slot: Monday 09:00 in Toronto.
    report = await dispatcher.tick()
    assert report.sent == 1
    assert sent(api, chat(pair.mentee)) == ["Check-in mentee_weekly 2026-W47"]


async def test_full_scan_runs_hourly_or_when_the_schedule_changed(
    database: Database, dispatcher: Dispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    pair = await add_pair(database)
    clock.now = MONDAY_NINE_TORONTO - 3 * HOUR
    assert (await dispatcher.tick()).created == 0  # nothing due within two hours
    async with database.session() as session:
        assert not await materialisation_due(session, clock.now, dispatcher.refresh)
    clock.advance(minutes=30)
    await dispatcher.tick()
    assert await prompts_of(database) == []  # no scan: it was done half an hour ago
    clock.advance(minutes=30)
    assert (await dispatcher.tick()).created == 2  # the hourly scan
    # Moving the mentee's slot to 08:30 drops the pending prompt and rescans at once.
    async with database.session() as session:
        await session.exec(
            sa.update(Person)
            .where(col(Person.id) == pair.mentee.id)
            .values(checkin_time=time(8, 30))
        )
        assert await invalidate_future(session, pair.mentee.id or 0, clock.now) == 1
    clock.advance(minutes=1)
    assert (await dispatcher.tick()).created == 1
    (prompt,) = await prompts_of(database, pair.mentee)
    assert prompt.due_at == MONDAY_NINE_TORONTO - HOUR / 2


async def test_a_broken_render_fails_one_prompt_not_the_batch(
    database: Database, make_dispatcher: MakeDispatcher, api: FakeBotApi
) -> None:
    pair = await add_pair(database)

    class Fussy(EchoRenderer):
        async def render_prompt(
            self, session: AsyncSession, prompt: Prompt, person: Person
        ) -> Message:
            if person.id == pair.mentor.id:
                raise KeyError("unknown instrument")
            return await super().render_prompt(session, prompt, person)

    dispatcher = make_dispatcher()
    dispatcher.renderer = Fussy()
    report = await dispatcher.tick()
    assert (report.sent, report.failed) == (1, 1)
    assert sent(api, chat(pair.mentor)) == []


async def test_many_small_batches_keep_the_weeks_figures_and_contacts_exact(
    database: Database, make_dispatcher: MakeDispatcher, api: FakeBotApi, clock: FakeClock
) -> None:
    """The real check-in renderer over batches of three. On PostgreSQL each batch's record
    (which moves the weekly figures) runs beside the next one's wording (which stores the
    contacts found in the week's logs): every message goes out once, with the contact
    noted where a meeting was logged, and the kept figures and last contacts equal the
    plain ones after."""
    pairs = [await add_pair(database) for _ in range(8)]
    logged = pairs[::2]
    async with database.session() as session:
        for pair in logged:
            session.add(
                MeetingLog(
                    match_id=pair.match_id, author_id=pair.mentor.id or 0, minutes=45,
                    met_on=date(2026, 11, 15), mode="video", topics=[], created_at=clock(),
                )
            )  # fmt: skip
        program = (await session.exec(select(Program))).one()
    dispatcher = make_dispatcher(batch_size=3)
    dispatcher.renderer = PROMPTS
    report = await dispatcher.tick()
    assert (report.sent, report.failed) == (16, 0)
    noted = "logged a meeting on Sunday, November 15, 2026: I noted the contact."
    for pair in pairs:
        for person in pair.people:
            (text,) = sent(api, chat(person))
            assert (noted in text) is (pair in logged)
    async with database.session() as session:
        contacts = await session.exec(select(Answer).where(Answer.question_key == "contact"))
        assert len(contacts.all()) == 2 * len(logged)
    # Two weeks have figures: the logs' (Sunday the 15th) and the check-ins'.
    assert await check_kept_rows(database, [program], clock()) == 2


# --- wiring ------------------------------------------------------------------------------


async def test_one_repeating_job_whatever_the_number_of_participants(
    database: Database, settings: Settings, clock: FakeClock, api: FakeBotApi
) -> None:
    for _ in range(5):
        await add_pair(database)
    application = build_application(settings, database, request=api, clock=clock)
    assert len(application.job_queue.jobs()) == 1
    bare = ApplicationBuilder().token(BOT_TOKEN).request(api).get_updates_request(api).build()
    dispatcher = schedule_dispatcher(bare, database, clock, renderer=EchoRenderer())
    assert dispatcher is not None
    (job,) = bare.job_queue.jobs()
    assert job.name == JOB_NAME
    assert job.job.trigger.interval == timedelta(seconds=60)
    await bare.initialize()
    try:
        assert job.callback is not None
        context: Any = type("Context", (), {"job": job, "application": bare})()
        await job.callback(context)
        assert len(api.calls_to("sendMessage")) == 10
    finally:
        await bare.shutdown()


async def test_a_tick_out_of_budget_with_messages_due_is_followed_at_once(
    database: Database, settings: Settings, clock: FakeClock, api: FakeBotApi
) -> None:
    for _ in range(3):
        await add_pair(database)
    application = build_application(settings, database, request=api, clock=clock)
    (job,) = application.job_queue.jobs()
    dispatcher = job.data
    assert isinstance(dispatcher, Dispatcher)
    await application.initialize()
    try:
        dispatcher.budget = 0.0  # spent before the first batch
        await run_dispatcher(CallbackContext.from_job(job, application))
        assert api.calls_to("sendMessage") == []
        repeating, following = application.job_queue.get_jobs_by_name(JOB_NAME)
        assert (repeating, following.data) == (job, dispatcher)  # the next tick, at once
        assert isinstance(following.job.trigger, DateTrigger)
        dispatcher.budget = None
        await run_dispatcher(CallbackContext.from_job(following, application))
        assert len(api.calls_to("sendMessage")) == 6
        assert len(application.job_queue.get_jobs_by_name(JOB_NAME)) == 2  # none more
    finally:
        await application.shutdown()


def test_tick_report_reads_well() -> None:
    assert not TickReport()
    assert str(TickReport(sent=3)).startswith("created=0, sent=3")


def test_dispatcher_keyboards_are_written_as_ptb_writes_them() -> None:
    """The dispatcher writes plain buttons' JSON itself (conversations.kit.sending.markup_json);
    whatever the buttons, Telegram receives what python-telegram-bot would have sent."""
    button = InlineKeyboardButton
    yes, no = button("Yes", callback_data="ci:7:yes"), button("No", callback_data="ci:7:no")
    plain = InlineKeyboardMarkup([[yes, no], [button("Guide", url="https://example.org/g")]])
    web_app = InlineKeyboardMarkup([[button("Open", web_app=WebAppInfo("https://e.org"))]])
    extra = InlineKeyboardMarkup([[button("A", callback_data="a", api_kwargs={"x": 1})]])
    for markup in (plain, web_app, extra):
        assert markup_json(markup) == markup.to_dict()
    first = markup_json(plain)["inline_keyboard"][0][0]
    assert first == {"text": "Yes", "callback_data": "ci:7:yes"}
    # The check-ins' keyboards are plain rows (conversations.kit.buttons.Keyboard).
    rows = [
        [("1", "ci:7:helpful:1"), ("5 🌟", "ci:7:helpful:5")],
        [("⏰ Demain", "ci:7:_snooze:t")],
    ]
    assert markup_json(Keyboard.of(rows)) == keyboard(rows).to_dict()
