"""A 429 for one chat delays that chat only: with the production rate limiter, the
dispatcher puts that one check-in back for Telegram's `retry_after` and goes on with the
other chats in the same tick, and a person tapping meanwhile is answered at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from time import monotonic

from bot.app import build_application
from bot.config import Settings
from bot.dispatch import Dispatcher
from conversations import checkin
from storage.db import Database
from storage.models import PromptStatus
from tests.conftest import FakeClock
from tests.fakebot import FakeBotApi
from tests.harness import FakeTelegram
from tests.test_dispatch import MONDAY_NINE_TORONTO, add_pair, prompts_of


async def test_a_429_for_one_chat_holds_up_no_one_else(
    settings: Settings, database: Database, clock: FakeClock
) -> None:
    pairs = [await add_pair(database) for _ in range(5)]
    api = FakeBotApi()
    application = build_application(settings, database, request=api, clock=clock)
    await application.initialize()
    try:
        tg = FakeTelegram(application, api)
        renderer = checkin
        dispatcher = Dispatcher(application.bot, database, renderer, clock, budget=None)
        clock.now = MONDAY_NINE_TORONTO
        bystander = tg.user(555_001, "Sam")
        api.fail_next(
            "sendMessage", error_code=429, description="Too Many Requests: retry after 20",
            retry_after=20, chat_id=pairs[0].mentee.telegram_id,
        )  # fmt: skip
        started = monotonic()
        tick = asyncio.create_task(dispatcher.tick())
        for _ in range(300):  # until the 429 has been answered
            if any(call.error_code == 429 for call in api.calls):
                break
            await asyncio.sleep(0.01)
        answered = await asyncio.wait_for(bystander.send("/help"), timeout=2)
        assert answered, "the interactive reply went out at once"
        report = await asyncio.wait_for(tick, timeout=3)
        assert monotonic() - started < 3
        assert (report.sent, report.retried) == (9, 1)
        rows = await prompts_of(database)
        (waiting,) = [row for row in rows if row.status == PromptStatus.PENDING]
        assert waiting.person_id == pairs[0].mentee.id
        assert waiting.next_attempt_at == clock.now + timedelta(seconds=20)
        assert waiting.attempts == 0
        people = {person.id for pair in pairs for person in pair.people}
        assert {row.person_id for row in rows} == people
        clock.advance(seconds=20)
        assert (await dispatcher.tick()).sent == 1
        api.assert_no_problems()
    finally:
        await application.shutdown()
