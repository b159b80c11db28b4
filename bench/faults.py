"""Experiment: is every check-in accounted for under Telegram's faults and a kill -9?

    python -m bench.faults [--checkins 600] [--fault-rate 0.3] [--due 1200] [--seed 1]

1. Faults: `--checkins` check-ins fall due at once; each sendMessage fails with
   probability `--fault-rate`, evenly among 429 (retry_after 1–20 s), 500, 502, 403, a
   timeout before Telegram got the message, a timeout after it delivered it, and a
   refused connection. The dispatcher ticks every minute (controllable clock) until
   nothing is left to send. Prints how many people got the check-in once, twice, more,
   or never, and the prompts' final states.
2. kill -9: `--due` check-ins fall due; one instance's tick is cut off (its task
   cancelled: nothing it had claimed is recorded) after 250 sends, with sends in flight;
   a second instance ticks every minute. Prints how many people got it never, once,
   twice.

The real check-in renderer and the real dispatcher, on a fresh SQLite file, against the
in-process fake Bot API (tests/fakebot.py). Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel, select
from telegram import Bot

from bot.dispatch import Dispatcher
from conversations import checkin
from storage.db import Database
from storage.models import Prompt, PromptStatus
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN, ApiCall, FakeBotApi, _Injected
from tests.test_dispatch import MONDAY_NINE_TORONTO, add_pair

FAULTS = ("429", "500", "502", "403", "timeout before", "timeout after", "refused")


class FaultyApi(FakeBotApi):
    """Fails sendMessage calls at random, as described in the module docstring."""

    def __init__(self, rate: float, rng: random.Random, delay: float = 0.0) -> None:
        super().__init__()
        self.rate, self.rng, self.delay = rate, rng, delay
        self.injected: Counter[str] = Counter()

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().do_request(*args, **kwargs)

    def _injected(self, call: ApiCall) -> _Injected | None:
        if call.method != "sendMessage" or self.rng.random() >= self.rate:
            return None
        fault = self.rng.choice(FAULTS)
        self.injected[fault] += 1
        if fault == "429":
            return _Injected(429, "Too Many Requests", self.rng.randint(1, 20))
        if fault in ("500", "502"):
            return _Injected(
                int(fault), "Internal Server Error" if fault == "500" else "Bad Gateway", None
            )
        if fault == "403":
            return _Injected(403, "Forbidden: bot was blocked by the user", None)
        if fault == "refused":
            return _Injected(None, "refused", None, refused=True)
        return _Injected(None, "timed out", None, after_delivery=fault == "timeout after")


def report(people: Counter[int], never: int) -> None:
    more = sum(count for times, count in people.items() if times > 2)
    print(f"  people who got it once {people[1]}, twice {people[2]}, more {more}, never {never}")


async def seeded(folder: Path, checkins: int) -> Database:
    database = Database(f"sqlite+aiosqlite:///{folder / 'faults.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    for _ in range(checkins // 2):
        await add_pair(database)
    return database


def copies(api: FakeBotApi) -> Counter[int]:
    """How many people got the check-in 0, 1, 2 … times."""
    return Counter(len(messages) for messages in api.chats.values())


async def settle(dispatcher: Dispatcher, clock: FakeClock, database: Database) -> Counter[str]:
    for _ in range(180):  # three hours of ticks, a minute apart
        await dispatcher.tick()
        clock.advance(minutes=1)
        states = await final_states(database)
        if not states[PromptStatus.PENDING] and not states[PromptStatus.SENDING]:
            break
    return await final_states(database)


async def final_states(database: Database) -> Counter[str]:
    async with database.session() as session:
        return Counter((await session.exec(select(Prompt.status))).all())


async def faults(args: argparse.Namespace, folder: Path) -> None:
    database = await seeded(folder, args.checkins)
    clock = FakeClock(MONDAY_NINE_TORONTO)
    api = FaultyApi(args.fault_rate, random.Random(args.seed))
    renderer = checkin
    async with Bot(BOT_TOKEN, request=api) as bot:
        states = await settle(
            Dispatcher(bot, database, renderer, clock, budget=None), clock, database
        )
    people = copies(api)
    never = args.checkins - sum(people.values())
    print(
        f"faults: {args.checkins} check-ins, {sum(api.injected.values())} faults injected "
        f"({', '.join(f'{k} {v}' for k, v in sorted(api.injected.items()))})"
    )
    report(people, never)
    print(f"  prompts: {dict(sorted(states.items()))}")
    await database.dispose()


async def kill(args: argparse.Namespace, folder: Path) -> None:
    database = await seeded(folder, args.due)
    clock = FakeClock(MONDAY_NINE_TORONTO)
    api = FaultyApi(0.0, random.Random(args.seed), delay=0.005)
    renderer = checkin
    async with Bot(BOT_TOKEN, request=api) as bot:
        doomed = Dispatcher(bot, database, renderer, clock, budget=None, instance="doomed")
        tick = asyncio.create_task(doomed.tick())
        for _ in range(100_000):  # until 250 messages went out
            if len(api.calls_to("sendMessage")) >= 250:
                break
            await asyncio.sleep(0.001)
        tick.cancel()  # killed: nothing it claimed since its last record is recorded
        await asyncio.gather(tick, return_exceptions=True)
        async with database.session() as session:
            left = Counter((await session.exec(select(Prompt.status))).all())
        survivor = Dispatcher(bot, database, renderer, clock, budget=None, instance="survivor")
        states = await settle(survivor, clock, database)
    people = copies(api)
    never = args.due - sum(people.values())
    print(
        f"kill -9: {args.due} check-ins due, one instance killed after 250 sends "
        f"({left[PromptStatus.SENDING]} left sending)"
    )
    report(people, never)
    print(f"  prompts: {dict(sorted(states.items()))}")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkins", type=int, default=600)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--due", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(faults(args, Path(folder)))
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(kill(args, Path(folder)))


if __name__ == "__main__":
    main()
