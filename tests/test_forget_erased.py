"""A person erased outside the running bot (`tandem person erase`, the purge) while it
holds their half-written meeting log in memory: their next message finds a stranger, and
the draft's text is nowhere, neither in the Application's user_data and conversation
states nor in the database (which the running bot's persistence would otherwise write
back). The dispatcher's tick drops it too for someone who does not write again."""

from __future__ import annotations

from typing import Any

import pytest

from bot.conversation_states import conversation_handlers, live_states
from bot.forget import forget_erased
from conversations.kit.departure import erase
from storage.closure import Actor
from storage.db import Database
from storage.models import Person, Program
from tests.builders import ROBERT, add_pair
from tests.conftest import FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_deleteme import HOW_TO_JOIN
from tests.test_erasure import every_text

MARK = "DRAFTMARK"


@pytest.fixture
async def pair(database: Database, program: Program, clock: FakeClock) -> Any:
    return await add_pair(database, program, clock, mentor_locale="en")


def held(tg: FakeTelegram) -> str:
    """What the application holds for Robert: user_data and conversation states."""
    states = [
        (handler.name, key, state)
        for handler in conversation_handlers(tg.application)
        for key, state in live_states(handler).items()
        if ROBERT in key
    ]
    return repr((tg.application.user_data.get(ROBERT), states))


async def draft_then_erase(
    tg: FakeTelegram, database: Database, clock: FakeClock, mentor_id: int
) -> FakeUser:
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log")
    for label in ("Yesterday", "1 h", "Phone"):
        await robert.tap(label)
    await tg.application.update_persistence()  # the running bot's regular flush
    await robert.send(f"{MARK} and interviews")  # typed topics: in the draft only
    assert robert.last.text.startswith("Anything you'd like to note")
    assert MARK in held(tg)
    async with database.session() as session:  # the command line, outside the application
        person = await session.get(Person, mentor_id)
        assert person is not None
        await erase(session, person, Actor(None, "cli ana"), "email of 3 May", clock())
    assert MARK not in await every_text(database)
    # The bot's next flush writes back what it still holds: the hole closed below.
    await tg.application.update_persistence()
    assert MARK in await every_text(database)
    return robert


async def test_the_next_message_finds_a_stranger_and_the_draft_is_gone(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair: Any
) -> None:
    _, mentor, _ = pair
    robert = await draft_then_erase(tg, database, clock, mentor.id)
    await robert.send("Prepared the interview")  # no longer the draft's notes
    stranger = tg.user(9999, "Sam")
    await stranger.send("Prepared the interview")
    assert robert.last.text == stranger.last.text
    assert MARK not in held(tg) and "meeting_draft" not in held(tg)
    await robert.send("/start")
    assert robert.last.text == HOW_TO_JOIN
    assert MARK not in held(tg) and "meeting_draft" not in held(tg)
    await tg.application.update_persistence()
    assert MARK not in await every_text(database)
    tg.assert_no_errors()


async def test_the_tick_drops_it_for_someone_who_does_not_write_again(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair: Any
) -> None:
    alice, mentor, _ = pair
    await draft_then_erase(tg, database, clock, mentor.id)
    bystander = tg.user(alice.telegram_id, "Alice")
    await bystander.send("/help")  # someone not erased keeps what the bot holds for her
    kept = tg.application.user_data.get(alice.telegram_id)
    assert await forget_erased(tg.application, database) == 1
    assert MARK not in held(tg)
    assert tg.application.user_data.get(alice.telegram_id) == kept
    assert MARK not in await every_text(database)
    assert await forget_erased(tg.application, database) == 0
    tg.assert_no_errors()
