"""Someone marked unreachable (they blocked the bot) becomes reachable again as soon as
they write to it — /start, any message, a tap, or unblocking — through the real
application, and the dispatcher then sends them this week's check-in and the next."""

from __future__ import annotations

import pytest

from bot.dispatch import Dispatcher
from conversations import checkin
from storage.db import Database
from storage.models import PersonStatus, PromptStatus
from tests.conftest import FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_dispatch import MONDAY_NINE_TORONTO, add_pair, prompts_of, reload


async def write(user: FakeUser, how: str) -> None:
    if how == "unblock":
        await user.unblock_bot()
        return
    user.api.unblock(user.chat_id)
    if how == "tap":
        await user.press("stale:button")
    else:
        await user.send(how)


@pytest.mark.parametrize("how", ["/start", "hello", "tap", "unblock"])
async def test_writing_again_makes_an_unreachable_person_reachable(
    tg: FakeTelegram, database: Database, clock: FakeClock, how: str
) -> None:
    pair = await add_pair(database)
    renderer = checkin
    dispatcher = Dispatcher(tg.application.bot, database, renderer, clock, budget=None)
    mentee = tg.user(pair.mentee.telegram_id, "Mia")
    clock.now = MONDAY_NINE_TORONTO
    await tg.application.bot.send_message(mentee.chat_id, "An earlier message")  # to tap on
    await mentee.block_bot()
    assert (await dispatcher.tick()).unreachable == 1
    assert (await reload(database, pair.mentee)).status == PersonStatus.UNREACHABLE
    clock.advance(hours=1)
    assert len(mentee.messages) == 1

    await write(mentee, how)
    assert (await reload(database, pair.mentee)).status == PersonStatus.ACTIVE
    seen = len(mentee.messages)
    await dispatcher.tick()
    assert len(mentee.messages) == seen + 1, "this week's check-in, which had failed"
    assert mentee.last.text.startswith("Weekly check-in")
    clock.advance(days=7)
    await dispatcher.tick()
    assert len(mentee.messages) == seen + 2, "and next week's"
    statuses = [prompt.status for prompt in await prompts_of(database, pair.mentee)]
    assert statuses == [PromptStatus.MISSED, PromptStatus.SENT]  # the first went unanswered
    tg.assert_no_errors()


async def test_blocking_the_bot_is_no_contact(
    tg: FakeTelegram, database: Database, clock: FakeClock
) -> None:
    pair = await add_pair(database)
    renderer = checkin
    dispatcher = Dispatcher(tg.application.bot, database, renderer, clock, budget=None)
    mentee = tg.user(pair.mentee.telegram_id, "Mia")
    clock.now = MONDAY_NINE_TORONTO
    tg.api.block(mentee.chat_id)
    await dispatcher.tick()
    await mentee.block_bot()  # Telegram's my_chat_member: "kicked"
    assert (await reload(database, pair.mentee)).status == PersonStatus.UNREACHABLE
    clock.advance(days=7)
    await dispatcher.tick()
    assert not mentee.messages
