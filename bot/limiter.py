"""The rate limiter between Tandem and Telegram: two lanes under one ceiling.

Telegram allows about 30 messages a second to different chats and 20 a minute per group.
Tandem sends two kinds of traffic: *interactive* replies (answers to a tap, a command, a
typed message) and the dispatcher's *bulk* sends (check-ins, reminders, broadcasts),
which mark their calls with ``rate_limit_args=BULK``. Both share one sliding window of at
most `PER_SECOND` calls in any second, but:

- an interactive call takes the next free place before any waiting bulk call, so a tap is
  never queued behind a dispatcher batch;
- bulk calls may use at most `BULK_PER_SECOND` places of any second, one every
  ``1 / PER_SECOND`` seconds at most, so while the dispatcher keeps the window full there
  is always a place for the next interactive call within a few tens of milliseconds;
- nobody sleeps out a 429 (`RetryAfter`) inside the limiter: the error reaches the caller
  at once (the dispatcher puts that chat's message back for Telegram's delay), so one
  chat's flood control holds up no other chat and no reply.

Idle, an interactive call goes straight through (no pacing delay between the answer to a
tap and the message it edits). PTB's `AIORateLimiter` has one queue for both and paces
every call, which is what this replaces.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Coroutine
from time import monotonic
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.ext import BaseRateLimiter

BULK = "bulk"  # rate_limit_args of the dispatcher's sends
PER_SECOND = int(FloodLimit.MESSAGES_PER_SECOND)  # 30, both lanes together
BULK_PER_SECOND = PER_SECOND - 1  # leaves every second a place for a reply
GROUP_PER_MINUTE = int(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP)  # 20
WINDOW = 1.0  # seconds
MAX_GROUP_LIMITERS = 512  # idle group limiters are dropped beyond this many

Result = bool | dict[str, Any] | list[dict[str, Any]]


class Pacer:
    """At most `per_second` grants in any `WINDOW`, at most `bulk_per_second` of them bulk
    (spaced by at least ``WINDOW / per_second``); interactive waiters first, each lane in
    arrival order. `clock` is injectable for tests."""

    def __init__(
        self,
        per_second: int = PER_SECOND,
        bulk_per_second: int = BULK_PER_SECOND,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.per_second = per_second
        self.bulk_per_second = bulk_per_second
        self.spacing = WINDOW / per_second
        self.clock = clock
        self._granted: deque[float] = deque()  # both lanes, within the last WINDOW
        self._bulk: deque[float] = deque()
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, bulk: bool) -> None:
        """Wait for a place in the window (at once when one is free and nobody of the same
        or a higher lane is waiting)."""
        ahead = self._waiting[bulk] or (bulk and self._waiting[False])
        if not ahead and self._delay(bulk, self.clock()) <= 0:
            self._grant(bulk, self.clock())
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[bulk].append(future)
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            if future in self._waiting[bulk]:
                self._waiting[bulk].remove(future)
            raise

    def _delay(self, bulk: bool, now: float) -> float:
        """Seconds until a call of this lane may go (≤ 0: now)."""
        for granted in (self._granted, self._bulk):
            while granted and granted[0] <= now - WINDOW:
                granted.popleft()
        delay = 0.0
        if len(self._granted) >= self.per_second:
            delay = self._granted[-self.per_second] + WINDOW - now
        if bulk and self._bulk:
            delay = max(delay, self._bulk[-1] + self.spacing - now)
            if len(self._bulk) >= self.bulk_per_second:
                delay = max(delay, self._bulk[-self.bulk_per_second] + WINDOW - now)
        return delay

    def _grant(self, bulk: bool, now: float) -> None:
        self._granted.append(now)
        if bulk:
            self._bulk.append(now)

    def _pump(self) -> None:
        """Hand out the places that are free now, then wake up when the next one is."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while True:
            for bulk in (False, True):
                waiting = self._waiting[bulk]
                while waiting and waiting[0].done():  # cancelled
                    waiting.popleft()
            lane = next((bulk for bulk in (False, True) if self._waiting[bulk]), None)
            if lane is None:
                return
            now = self.clock()
            delay = self._delay(lane, now)
            if delay > 0:
                self._timer = asyncio.get_running_loop().call_later(delay, self._pump)
                return
            self._grant(lane, now)
            self._waiting[lane].popleft().set_result(None)


class LaneRateLimiter(BaseRateLimiter[str]):
    """PTB's rate limiter interface over a `Pacer`, plus 20 calls a minute per group
    (as `AIORateLimiter` does). Calls marked ``rate_limit_args=BULK`` use the bulk lane."""

    def __init__(
        self,
        per_second: int = PER_SECOND,
        bulk_per_second: int = BULK_PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
    ) -> None:
        self.pacer = Pacer(per_second, bulk_per_second)
        self.group_per_minute = group_per_minute
        self._groups: dict[int | str, AsyncLimiter] = {}

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        if chat_id is None:  # getUpdates, getMe, answerCallbackQuery…: no chat to flood
            return await callback(*args, **kwargs)
        group = self._group(chat_id)
        if group is not None:
            async with group:
                await self.pacer.acquire(rate_limit_args == BULK)
                return await callback(*args, **kwargs)
        await self.pacer.acquire(rate_limit_args == BULK)
        return await callback(*args, **kwargs)

    def _group(self, chat_id: Any) -> AsyncLimiter | None:
        """The per-group limiter when the chat is a group or a channel (a negative id or
        an @name), else None."""
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        if isinstance(chat_id, int) and chat_id >= 0:
            return None
        if len(self._groups) > MAX_GROUP_LIMITERS:
            for key, limiter in list(self._groups.items()):
                if limiter.has_capacity(limiter.max_rate):
                    del self._groups[key]
        limiter = self._groups.get(chat_id)
        if limiter is None:
            limiter = self._groups[chat_id] = AsyncLimiter(self.group_per_minute, 60)
        return limiter
