"""Random update sequences through the real Application: nothing crashes, every update is
answered, every Bot API call is within Telegram's limits, and the database stays sound.

Each example builds a fresh bot on a fresh database, seeds one program with a coordinator,
a matched mentor and mentee, an unmatched mentee and an open invite, then lets hypothesis
play a sequence of actions by them and by a stranger: commands with odd arguments, text
(NUL and other control characters, superscript digits, 5,000 characters, 2,000 emoji,
HTML), stickers, taps on the buttons they can see, forged or replayed callback data (other
people's, huge or negative ids), edits of earlier messages, blocking the bot, and
dispatcher ticks as the clock moves on.

CI runs a few dozen examples per database; a long run sets TANDEM_FUZZ_EXAMPLES:

    TANDEM_FUZZ_EXAMPLES=10000 .venv/bin/pytest tests/test_fuzz.py -q

With TANDEM_FUZZ_STATS=<file> each example appends one line, ``ok <actions> <updates>``
or ``failed <actions> -``, so an interrupted long run still says how far it got.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from bot.app import build_application
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.dispatch_job import JOB_NAME
from storage.db import Database, async_database_url
from storage.invites import create_invites
from storage.models import (
    Answer,
    Person,
    Program,
    Prompt,
    Role,
)
from tests.builders import MONDAY_NINE_IN_TORONTO, add_match, onboarded
from tests.conftest import ADMIN_ID, TEST_DATABASE_URL, FakeClock, fresh_schema
from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.harness import FakeTelegram, FakeUser

EXAMPLES = int(os.environ.get("TANDEM_FUZZ_EXAMPLES", "25"))
STATS = os.environ.get("TANDEM_FUZZ_STATS")
STEPS = 14

COORDINATOR, MENTOR, MENTEE, WAITING, STRANGER = 7001, 7002, 7003, 7004, 7005
ACTORS = (ADMIN_ID, COORDINATOR, MENTOR, MENTEE, WAITING, STRANGER)

COMMANDS = (
    "start", "help", "cancel", "settings", "language", "checkin", "skip", "pause",
    "resume", "log", "logs", "goals", "reflect", "journal", "endmatch", "invite", "pair",
    "people", "flags", "matches", "match", "dashboard", "report", "broadcast", "export",
    "newprogram", "certificate", "mydata", "deleteme", "nosuchcommand",
)  # fmt: skip

AWKWARD = (
    "", " ", "0", "-1", "²", "¹²³", "٣", "2147483648", "9223372036854775808", "-99999999999",
    "1e9", "NaN", "a\x00b", "\x00", "\x07\x1b[31m", "<b>bold</b> & <i>", "&amp;", "👍🏽" * 50,
    "x" * 5000, "é" * 301, "😀" * 2000, "45m yesterday video: mock interview",
    "1,5 h hier en personne : CV", "2026-02-30", "31/13/2026", "mentee", "mentor",
    "coordinator", "fr", "en", "✅", "Oui", "Yes", "\u202eevil",
    "line\nbreak\r\n", "'; DROP TABLE person; --",
)  # fmt: skip

text_values = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(min_size=0, max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
)
number_values = st.sampled_from(
    ["0", "1", "-5", "²", "2147483648", "99999999999999999999", "abc", "", "1.5"]
)

actions = st.one_of(
    st.tuples(st.just("command"), st.sampled_from(ACTORS), st.sampled_from(COMMANDS),
              st.one_of(st.just(""), text_values)),
    st.tuples(st.just("text"), st.sampled_from(ACTORS), text_values),
    st.tuples(st.just("tap"), st.sampled_from(ACTORS), st.integers(0, 40)),
    st.tuples(st.just("forge"), st.sampled_from(ACTORS), st.integers(0, 400), number_values),
    st.tuples(st.just("sticker"), st.sampled_from(ACTORS)),
    st.tuples(st.just("photo"), st.sampled_from(ACTORS)),
    st.tuples(st.just("edit"), st.sampled_from(ACTORS), text_values),
    st.tuples(st.just("block"), st.sampled_from(ACTORS)),
    st.tuples(st.just("tick"), st.integers(0, 60 * 24 * 9)),
)  # fmt: skip


@dataclass
class World:
    """One bot on one fresh database, with its people and what they have seen."""

    database: Database
    clock: FakeClock
    api: FakeBotApi
    telegram: FakeTelegram
    dispatcher: Dispatcher
    invite_code: str
    users: dict[int, FakeUser] = field(default_factory=dict)
    seen_callback_data: list[str] = field(default_factory=list)
    owners: dict[str, int] = field(default_factory=dict)  # callback data -> who saw it
    acted: set[int] = field(default_factory=set)
    log: list[str] = field(default_factory=list)


async def seed(database: Database, clock: FakeClock) -> str:
    async with database.session() as session:
        program = Program(
            name="Pont Carrière Montréal",
            weeks=12,
            checkin_weekday=0,
            checkin_time=time(9, 0),
            timezone="America/Toronto",
            created_at=clock(),
        )
        session.add(program)
        await session.flush()
        people = {}
        for telegram_id, name, role, locale in [
            (COORDINATOR, "Chloé Coordination", Role.COORDINATOR, "fr"),
            (MENTOR, "Robert Tremblay", Role.MENTOR, "fr"),
            (MENTEE, "Alice Martin", Role.MENTEE, "en"),
            (WAITING, "Wen Li", Role.MENTEE, "en"),
        ]:
            people[telegram_id] = await onboarded(
                session, clock(), program_id=program.id or 0, role=role,
                telegram_id=telegram_id, name=name, locale=locale, **MONDAY_NINE_IN_TORONTO,
            )  # fmt: skip
        await add_match(
            session, program.id or 0, people[MENTOR], people[MENTEE], clock() - timedelta(days=30)
        )
        (invite,) = await create_invites(
            session, program_id=program.id or 0, role=Role.MENTEE, now=clock()
        )
        return invite.code


async def build_world(database_url: str) -> World:
    clock = FakeClock(datetime(2026, 11, 16, 13, 55, tzinfo=UTC))
    database = Database(database_url)
    await fresh_schema(database)
    code = await seed(database, clock)
    settings_ = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=BOT_TOKEN,
        database_url=database_url,
        admin_telegram_ids=frozenset({ADMIN_ID}),
    )
    api = FakeBotApi(clock=clock)
    application = build_application(
        settings_, database, request=api, clock=clock, rate_limited=False
    )
    await application.initialize()
    telegram = FakeTelegram(application, api, clock=clock, raise_errors=False)
    # The dispatcher the application scheduled, with every hook it was handed.
    (job,) = application.job_queue.get_jobs_by_name(JOB_NAME)
    dispatcher = job.data
    world = World(database, clock, api, telegram, dispatcher, code)
    languages = {ADMIN_ID: "en", COORDINATOR: "fr", MENTOR: "fr", MENTEE: "en"}
    for telegram_id in ACTORS:
        world.users[telegram_id] = telegram.user(
            telegram_id, f"U{telegram_id}", language_code=languages.get(telegram_id, "fr-CA")
        )
    return world


def other_callback_data(world: World, index: int, number: str) -> str:
    """Callback data someone could forge: seen data replayed (by anyone), its numbers
    swapped for awkward ones, cut short, or an unknown prefix."""
    if not world.seen_callback_data:
        return f"zz:{number}"
    data = world.seen_callback_data[index % len(world.seen_callback_data)]
    variant = index % 4
    if variant == 0:
        return data
    if variant == 1:
        parts = data.split(":")
        return ":".join(number if part.lstrip("-").isdigit() else part for part in parts)[:64]
    if variant == 2:
        return data[: max(1, len(data) // 2)]
    return f"{data.split(':', 1)[0]}:{number}:{number}"[:64]


async def act(world: World, action: tuple[Any, ...]) -> None:
    kind = action[0]
    world.log.append(repr(action)[:200])
    if kind == "tick":
        world.clock.advance(minutes=action[1])
        await world.dispatcher.tick()
        return
    user = world.users[action[1]]
    if kind != "block" and user.chat_id in world.api.blocked:
        await user.unblock_bot()  # writing to a bot you blocked unblocks it
    if kind in {"command", "text", "tap", "forge"}:
        world.acted.add(user.id)
    calls_before = len(world.api.calls)
    if kind == "command":
        _, _, command, argument = action
        if command == "start" and argument == "":
            argument = world.invite_code if user.id == STRANGER else ""
        await user.send(f"/{command} {argument}".rstrip())
    elif kind == "text":
        await user.send(action[2]) if action[2] else await user.send_sticker()
    elif kind == "tap":
        message = user._latest(with_buttons=True)
        if message is None:
            return
        buttons = [b for row in message.buttons for b in row if b.callback_data]
        if not buttons:
            return
        await user.press(buttons[action[2] % len(buttons)].callback_data, message.message_id)
    elif kind == "forge":
        if not user.messages:
            return  # a callback query always comes from a message the bot sent
        data = other_callback_data(world, action[2], action[3])
        owner = world.owners.get(data, user.id)
        before = await answers_of(world, owner)
        await user.press(data)
        if owner != user.id:
            assert await answers_of(world, owner) == before, "someone else's button answered"
    elif kind == "sticker":
        await user.send_sticker()
    elif kind == "photo":
        await user.send_photo(caption="²")
    elif kind == "edit":
        await world.telegram.feed(
            {
                "edited_message": {
                    "message_id": max(1, world.api.incoming_message(user.chat_id) - 1),
                    "from": user.user,
                    "chat": user.chat,
                    "date": world.telegram.now(),
                    "edit_date": world.telegram.now(),
                    "text": action[2] or "edited",
                }
            }
        )
    elif kind == "block":
        await user.block_bot()
        return
    replied = [
        call
        for call in world.api.calls[calls_before:]
        if call.method != "getMe"
        and (
            call.method == "answerCallbackQuery"
            or str(call.params.get("chat_id")) == str(user.chat_id)
        )
    ]
    assert replied, f"{action!r} got no answer at all"


async def answers_of(world: World, telegram_id: int) -> list[tuple[int, str, str]]:
    async with world.database.session() as session:
        rows = await session.exec(
            select(Answer.prompt_id, Answer.question_key, Answer.value)
            .join(Prompt, Prompt.id == Answer.prompt_id)
            .join(Person, Person.id == Prompt.person_id)
            .where(Person.telegram_id == telegram_id)
            .order_by(Answer.prompt_id, Answer.question_key)
        )
        return [tuple(row) for row in rows.all()]


def collect_callback_data(world: World) -> None:
    for user in world.users.values():
        for message in user.messages:
            for row in message.buttons:
                for button in row:
                    if (
                        button.callback_data
                        and button.callback_data not in world.seen_callback_data
                    ):
                        world.seen_callback_data.append(button.callback_data)


async def check_invariants(world: World) -> None:
    assert not world.telegram.errors, f"unhandled: {world.telegram.errors[0]!r}"
    world.api.assert_no_problems()
    assert world.api.unanswered_callback_queries() == []
    async with world.database.session() as session:
        duplicates = (
            await session.exec(
                select(Prompt.person_id, Prompt.match_id, Prompt.kind, Prompt.period)
                .group_by(Prompt.person_id, Prompt.match_id, Prompt.kind, Prompt.period)
                .having(func.count() > 1)
            )
        ).all()
        assert duplicates == []
        # Only the person a prompt was sent to can answer it: anyone with answers must
        # have pressed or typed something themselves.
        answered_by = (
            await session.exec(
                select(Person.telegram_id)
                .join(Prompt, Prompt.person_id == Person.id)
                .join(Answer, Answer.prompt_id == Prompt.id)
                .distinct()
            )
        ).all()
        assert set(answered_by) <= world.acted


async def play(database_url: str, sequence: list[tuple[Any, ...]]) -> int:
    """Play one sequence on a fresh world; returns how many updates were fed."""
    world = await build_world(database_url)
    try:
        for action in sequence:
            try:
                await act(world, action)
                collect_callback_data(world)
                await check_invariants(world)
            except AssertionError as failure:
                raise AssertionError(f"{failure}\nafter:\n  " + "\n  ".join(world.log)) from failure
        return world.telegram.next_update_id() - 1
    finally:
        await world.telegram.application.shutdown()
        await world.database.dispose()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 100,
)
@given(sequence=st.lists(actions, min_size=1, max_size=STEPS))
def test_random_update_sequences(sequence: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = (
            async_database_url(TEST_DATABASE_URL)
            if TEST_DATABASE_URL
            else f"sqlite+aiosqlite:///{Path(folder) / 'fuzz.db'}"
        )
        outcome, updates = "failed", "-"
        try:
            updates = str(asyncio.run(play(url, sequence)))
            outcome = "ok"
        finally:
            if STATS:
                with Path(STATS).open("a", encoding="utf-8") as stats:
                    stats.write(f"{outcome} {len(sequence)} {updates}\n")
