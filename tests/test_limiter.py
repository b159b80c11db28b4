"""The production rate limiter (bot/limiter.py): never more than 30 calls in any second
across both lanes, the dispatcher's bulk sends spaced so a reply always finds a place,
and a participant's tap answered while a dispatcher batch is still sending."""

from __future__ import annotations

import asyncio
from datetime import time

from bot.app import build_application
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.limiter import PER_SECOND, WINDOW, LaneRateLimiter, Pacer
from conversations import checkin
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakebot import FakeBotApi
from tests.harness import FakeTelegram
from tests.test_dispatch import MONDAY_NINE_TORONTO, add_pair


def most_in_a_window(times: list[float]) -> int:
    """The most instants of `times` in any half-open window of WINDOW seconds."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, instant in enumerate(ordered):
        while instant - ordered[start] >= WINDOW:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_both_lanes_together_stay_within_the_ceiling() -> None:
    granted: dict[bool, list[float]] = {True: [], False: []}

    class RecordingPacer(Pacer):
        """Records each grant at the time the pacer gives it (a task stamping the clock
        after `acquire` returns may run later, and two stamps could fall in one window
        that the grants did not)."""

        def _grant(self, bulk: bool, now: float) -> None:
            granted[bulk].append(now)
            super()._grant(bulk, now)

    pacer = RecordingPacer()

    async def take(bulk: bool) -> None:
        await pacer.acquire(bulk)

    # A backlog of bulk sends, with replies arriving in bursts while it drains.
    bulk = [asyncio.create_task(take(True)) for _ in range(75)]
    for _ in range(4):
        await asyncio.sleep(0.4)
        await asyncio.gather(*(take(False) for _ in range(5)))
    await asyncio.gather(*bulk)
    everything = granted[True] + granted[False]
    assert len(everything) == 95
    assert most_in_a_window(everything) <= PER_SECOND
    assert most_in_a_window(granted[True]) <= PER_SECOND - 1  # a place left for a reply


async def test_a_reply_goes_before_the_bulk_sends_waiting() -> None:
    pacer = Pacer()
    order: list[str] = []

    async def take(name: str, bulk: bool) -> None:
        await pacer.acquire(bulk)
        order.append(name)

    waiting = [asyncio.create_task(take(f"bulk {n}", True)) for n in range(10)]
    await asyncio.sleep(0)  # the bulk calls queue up first
    await take("reply", False)
    await asyncio.gather(*waiting)
    assert order.index("reply") <= 1  # at most the first bulk call went before it
    assert order[-1] == "bulk 9"


async def test_a_tap_is_answered_while_a_dispatcher_batch_is_still_sending(
    settings: Settings, database: Database, clock: FakeClock
) -> None:
    early = await add_pair(database, at=time(8))  # their check-in came an hour before
    for _ in range(15):  # 30 check-ins at 09:00, one batch
        await add_pair(database)
    api = FakeBotApi()
    application = build_application(settings, database, request=api, clock=clock)
    await application.initialize()
    try:
        # A slower ceiling (6 a second, 5 of them bulk) spreads the batch over seconds,
        # so the order below does not depend on how fast this machine is.
        limiter = application.bot.rate_limiter
        assert isinstance(limiter, LaneRateLimiter)
        limiter.pacer = Pacer(per_second=6, bulk_per_second=5)
        tg = FakeTelegram(application, api)
        mentee = tg.user(early.mentee.telegram_id, early.mentee.name or "Mentee")
        dispatcher = Dispatcher(application.bot, database, checkin, clock, budget=None)
        clock.now = MONDAY_NINE_TORONTO.replace(hour=13)
        assert (await dispatcher.tick()).sent == 2
        clock.now = MONDAY_NINE_TORONTO
        tick = asyncio.create_task(dispatcher.tick())
        for _ in range(500):  # until the batch has started going out
            if len(api.calls_to("sendMessage")) > 2:
                break
            await asyncio.sleep(0.01)
        answered = await mentee.tap(mentee.buttons[0])
        report = await tick
        assert report.sent == 30
        assert answered, "the tap was answered"
        sends = [call for call in api.calls if call.method.startswith(("send", "edit"))]
        reply = next(
            index
            for index, call in enumerate(sends)
            if call.params.get("chat_id") == mentee.chat_id and index >= 2
        )
        others_after = [c for c in sends[reply:] if c.params.get("chat_id") != mentee.chat_id]
        assert len(others_after) >= 10, "the reply to the tap waited behind the batch"
        assert not tg.errors
        api.assert_no_problems()
    finally:
        await application.shutdown()
