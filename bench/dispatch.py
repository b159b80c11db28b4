"""Benchmark: the dispatcher (scheduling as data) against one JobQueue job per participant.

    python -m bench.dispatch [--participants 100000] [--simultaneous 30000]

Seeds a fresh SQLite file in a temporary directory with N participants (N/2 matches,
slots spread over six Canadian zones, every weekday and half-hour from 07:00 to 20:30),
then measures each design in its own subprocess, so neither pollutes the other's memory:

- dispatcher: start-up (build_application + initialize + registering the one repeating
  job + starting the JobQueue), materialising one week's prompts, claiming them, and one
  `Dispatcher.tick` that sends a whole week's prompts end to end;
- naive: start-up with one `run_daily` job per participant; and, in a fresh process, how
  many of M one-off jobs due at the same instant actually run.

The Bot API is an in-process fake that answers at once and the rate limiter is off, so
the figures are Tandem's and PTB's own cost, not Telegram's. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time as clock
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import CallbackContext
from telegram.request import BaseRequest, RequestData

from bot.app import build_application
from bot.config import Settings
from bot.dispatch import Dispatcher, schedule_dispatcher
from conversations import broadcast, digest
from conversations.kit import alerting as alerts
from storage.db import Database
from storage.models import Match, Membership, Person, Program, Prompt, Role
from storage.prompts import claim_due, materialise, scheduled_participants

BOT_TOKEN = "123456789:" + "B" * 35
# Sunday 2026-11-22 23:00 UTC: every participant's next slot falls in the coming week.
NOW = datetime(2026, 11, 22, 23, tzinfo=UTC)
WEEK = timedelta(days=7)
ZONES = (
    "America/Toronto",
    "America/Vancouver",
    "America/St_Johns",
    "America/Halifax",
    "America/Winnipeg",
    "America/Edmonton",
)
SLOT_TIMES = tuple(time(hour, minute) for hour in range(7, 21) for minute in (0, 30))
CLAIM_BATCH = 1000
BURST_DELAY = 3.0  # seconds from scheduling the one-off jobs to their common due time
BURST_WAIT = 120.0  # give up waiting for the one-off jobs after this long


# --- the fake Bot API -------------------------------------------------------------------


class InstantBotApi(BaseRequest):
    """Answers every Bot API call at once: getMe with a bot, sendMessage with a message."""

    def __init__(self) -> None:
        self.sent = 0

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        result: Any = True
        if name == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
        elif name == "sendMessage":
            self.sent += 1
            result = {
                "message_id": self.sent,
                "date": int(NOW.timestamp()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()


@dataclass(frozen=True)
class Outgoing:
    text: str
    markup: InlineKeyboardMarkup | None


class BenchRenderer:
    """A check-in message with one button, like the real one."""

    async def render_prompt(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> Outgoing:
        button = InlineKeyboardButton("Start", callback_data=f"ci:{prompt.id}")
        return Outgoing(f"<b>Weekly check-in</b> {prompt.period}", InlineKeyboardMarkup([[button]]))

    async def render_reminder(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> Outgoing:
        return Outgoing(f"Reminder {prompt.period}", None)


# --- measuring --------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's resident memory now (Linux; the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return peak_rss_mb()
    return pages * resource.getpagesize() / 2**20


@contextmanager
def timed(figures: dict[str, float], name: str) -> Iterator[None]:
    start = clock.perf_counter()
    yield
    figures[name] = clock.perf_counter() - start


def settings_for(url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=BOT_TOKEN,
        database_url=url,
        log_level="WARNING",
    )


# --- seeding ----------------------------------------------------------------------------


def _people(count: int) -> Iterator[dict[str, Any]]:
    for index in range(count):
        yield {
            "telegram_id": 10_000_000 + index,
            "chat_id": 10_000_000 + index,
            "name": f"Participant {index}",
            "locale": "fr" if index % 3 == 0 else "en",
            "timezone": ZONES[index % len(ZONES)],
            "checkin_weekday": (index // len(ZONES)) % 7,
            "checkin_time": SLOT_TIMES[(index // 42) % len(SLOT_TIMES)],
            "status": "active",
            "consent_at": NOW - 2 * WEEK,
            "consent_version": "1",
            "created_at": NOW - 2 * WEEK,
        }


async def seed(url: str, participants: int) -> None:
    """N participants who finished onboarding, in N/2 active matches that start now (so
    one week's materialisation is exactly one prompt each), reminders off."""
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    joined = NOW - WEEK
    async with database.session() as session:
        program = Program(name="Bench", settings={"reminder_hours": 0}, created_at=joined)
        session.add(program)
        await session.flush()
        await session.exec(sa.insert(Person), params=list(_people(participants)))
        members = [
            {
                "person_id": index + 1,
                "program_id": program.id,
                "role": Role.MENTOR if index % 2 else Role.MENTEE,
                "joined_at": joined,
                "completed_at": joined,
            }
            for index in range(participants)
        ]
        await session.exec(sa.insert(Membership), params=members)
        matches = [
            {
                "program_id": program.id,
                "mentee_id": index + 1,
                "mentor_id": index + 2,
                "status": "active",
                "started_at": NOW,
            }
            for index in range(0, participants - 1, 2)
        ]
        await session.exec(sa.insert(Match), params=matches)
    await database.dispose()


# --- the designs, each run in its own process ----------------------------------------------


async def measure_dispatcher(url: str) -> dict[str, float]:
    figures: dict[str, float] = {"rss_before_mb": rss_mb()}
    database = Database(url)
    api = InstantBotApi()
    now = NOW
    with timed(figures, "startup_s"):
        application = build_application(
            settings_for(url), database, request=api, clock=lambda: now, rate_limited=False
        )
        await application.initialize()
        if not application.job_queue.jobs():
            schedule_dispatcher(
                application,
                database,
                lambda: now,
                BenchRenderer(),
                alerts=alerts,
                digests=digest,
                broadcasts=broadcast,
            )
        await application.job_queue.start()
    figures["startup_rss_mb"] = rss_mb()
    figures["jobs"] = len(application.job_queue.jobs())
    await application.job_queue.stop(wait=False)

    with timed(figures, "materialise_s"):
        async with database.session() as session:
            figures["materialised"] = await materialise(session, now, WEEK - timedelta(seconds=1))
    figures["materialise_peak_rss_mb"] = peak_rss_mb()
    figures["claimed"] = 0
    with timed(figures, "claim_s"):
        while True:
            async with database.session() as session:
                batch = await claim_due(session, now + WEEK - timedelta(seconds=1), CLAIM_BATCH)
            if not batch:
                break
            figures["claimed"] += len(batch)

    # End to end: a fresh week (no prompts, no watermark) and one tick at the week's end.
    async with database.session() as session:
        await session.exec(sa.delete(Prompt))
        await session.exec(sa.text("DELETE FROM stored_state"))
    now = NOW + WEEK - timedelta(seconds=1)
    dispatcher = Dispatcher(
        application.bot,
        database,
        BenchRenderer(),
        lambda: now,
        budget=None,
        alerts=alerts,
        broadcasts=broadcast,
    )
    with timed(figures, "tick_s"):
        report = await dispatcher.tick()
    figures["tick_created"], figures["tick_sent"] = report.created, report.sent
    figures["api_sent"] = api.sent
    figures["peak_rss_mb"] = peak_rss_mb()
    await application.shutdown()
    await database.dispose()
    return figures


def ptb_days(weekday: int) -> tuple[int, ...]:
    """PTB's run_daily counts 0 as Sunday; Tandem (and Python) count 0 as Monday."""
    return ((weekday + 1) % 7,)


async def naive_checkin(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """What a per-participant job would do: send the check-in."""
    assert context.job is not None
    person_id, chat_id = context.job.data  # type: ignore[misc]
    await context.bot.send_message(
        chat_id, f"<b>Weekly check-in</b> {person_id}", parse_mode="HTML"
    )


async def measure_naive_startup(url: str) -> dict[str, float]:
    """Start-up when every participant has their own `run_daily` job."""
    figures: dict[str, float] = {"rss_before_mb": rss_mb()}
    database = Database(url)
    api = InstantBotApi()
    with timed(figures, "startup_s"):
        application = build_application(
            settings_for(url), database, request=api, clock=lambda: NOW, rate_limited=False
        )
        await application.initialize()
        for job in application.job_queue.jobs():  # this design has no dispatcher
            job.schedule_removal()
        async with database.session() as session:
            people = await scheduled_participants(session)
        for someone in people:
            assert someone.slot is not None
            application.job_queue.run_daily(
                naive_checkin,
                time=someone.slot.at.replace(tzinfo=someone.slot.zone),
                days=ptb_days(someone.slot.weekday),
                name=f"checkin-{someone.person_id}-{someone.match_id}",
                data=(someone.person_id, someone.person_id + 10_000_000 - 1),
            )
        await application.job_queue.start()
    figures["startup_rss_mb"] = rss_mb()
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["jobs"] = len(application.job_queue.jobs())
    await application.job_queue.stop(wait=False)
    await application.shutdown()
    await database.dispose()
    return figures


async def measure_naive_burst(url: str, simultaneous: int) -> dict[str, float]:
    """M one-off jobs due at the same instant: how many run (APScheduler drops a job that
    starts more than its misfire grace time, 1 s, late)."""
    figures: dict[str, float] = {"due": simultaneous}
    database = Database(url)
    api = InstantBotApi()
    application = build_application(
        settings_for(url), database, request=api, clock=lambda: NOW, rate_limited=False
    )
    await application.initialize()
    for job in application.job_queue.jobs():
        job.schedule_removal()
    ran = 0

    async def checkin(context: CallbackContext[Any, Any, Any, Any]) -> None:
        nonlocal ran
        await naive_checkin(context)
        ran += 1

    due = datetime.now(UTC) + timedelta(seconds=BURST_DELAY)
    with timed(figures, "register_s"):
        for index in range(simultaneous):
            application.job_queue.run_once(checkin, when=due, data=(index, 10_000_000 + index))
    await application.job_queue.start()
    deadline = clock.monotonic() + BURST_WAIT
    while clock.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if datetime.now(UTC) > due and not application.job_queue.jobs():
            break
    await asyncio.sleep(2)  # let the last started callbacks finish
    figures["ran"], figures["sent"] = ran, api.sent
    figures["peak_rss_mb"] = peak_rss_mb()
    await application.job_queue.stop(wait=False)
    await application.shutdown()
    await database.dispose()
    return figures


async def measure_seed(url: str, participants: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with timed(figures, "seed_s"):
        await seed(url, participants)
    return figures


# Each runs in a fresh process. Seeding too: Linux carries a parent's peak RSS over into
# the children it spawns, so the parent stays small.
CHILDREN: dict[str, Callable[[argparse.Namespace], Awaitable[dict[str, float]]]] = {
    "seed": lambda args: measure_seed(args.url, args.participants),
    "dispatcher": lambda args: measure_dispatcher(args.url),
    "naive": lambda args: measure_naive_startup(args.url),
    "burst": lambda args: measure_naive_burst(args.url, args.simultaneous),
}


def run_child(name: str, url: str, participants: int, simultaneous: int) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.dispatch", "--child", name, "--url", url]
    command += ["--participants", str(participants), "--simultaneous", str(simultaneous)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {name} run failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- the report -------------------------------------------------------------------------


def ratio(naive: float, dispatcher: float) -> str:
    return f"{naive / dispatcher:,.1f}×" if dispatcher else "—"


def row(label: str, dispatcher: float, naive: float, unit: str = "", digits: int = 0) -> str:
    """One line of the side-by-side table, with naive/dispatcher as the ratio."""
    cells = [f"{value:,.{digits}f}{unit}" for value in (dispatcher, naive)]
    return f"{label:40}{cells[0]:>14}{cells[1]:>18}{ratio(naive, dispatcher):>13}"


def report(participants: int, seed_s: float, d: dict[str, float], n: dict[str, float],
           b: dict[str, float]) -> str:  # fmt: skip
    per_second = d["tick_sent"] / d["tick_s"] if d["tick_s"] else 0.0
    dispatched = f"{d['tick_sent']:,.0f}/{participants:,}"
    naive_ran = f"{b['ran']:,.0f}/{b['due']:,.0f}"
    lines = [
        f"Tandem dispatch benchmark: {participants:,} participants, SQLite, instant fake Bot "
        f"API, no rate limiter (seeding took {seed_s:.1f} s)",
        "",
        f"{'':40}{'dispatcher':>14}{'job per person':>18}{'naive/disp.':>13}",
        row("jobs in the JobQueue", d["jobs"], n["jobs"]),
        row("start-up time", d["startup_s"], n["startup_s"], " s", 2),
        row("memory after start-up (RSS)", d["startup_rss_mb"], n["startup_rss_mb"], " MB"),
        row(
            "  of which start-up added",
            d["startup_rss_mb"] - d["rss_before_mb"],
            n["startup_rss_mb"] - n["rss_before_mb"],
            " MB",
            1,
        ),
        row("peak memory of the run (RSS)", d["peak_rss_mb"], n["peak_rss_mb"], " MB"),
        f"{'due at the same instant: sent or ran':40}{dispatched:>14}{naive_ran:>18}",
        "",
        "dispatcher, one week of prompts:",
        f"  materialise {d['materialised']:,.0f} prompts (bulk INSERTs by pages of matches): "
        f"{d['materialise_s']:.2f} s ({d['materialised'] / d['materialise_s']:,.0f}/s), "
        f"peak {d['materialise_peak_rss_mb']:,.0f} MB RSS",
        f"  claim {d['claimed']:,.0f} prompts in batches of {CLAIM_BATCH:,}: {d['claim_s']:.2f} s "
        f"({d['claimed'] / d['claim_s']:,.0f}/s)",
        f"  one tick end to end (materialise + claim + send + record): {d['tick_sent']:,.0f} sent "
        f"in {d['tick_s']:.1f} s = {per_second:,.0f} prompts/s",
        f"  (the rate limiter holds production to 30 messages/s: {participants:,} check-ins "
        f"take {participants / 30 / 60:,.0f} min of sending, spread over the week's slots)",
        "",
        f"job per person, {b['due']:,.0f} one-off jobs due at the same instant: "
        f"{b['ran']:,.0f} ran, {b['due'] - b['ran']:,.0f} were dropped as misfires "
        f"(registering them took {b['register_s']:.1f} s)",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument(
        "--simultaneous",
        type=int,
        default=30_000,
        help="one-off jobs due at the same instant in the naive design (at most participants)",
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.child:
        print(json.dumps(asyncio.run(CHILDREN[args.child](args))))
        return
    if args.participants < 2:
        parser.error("--participants must be at least 2")
    simultaneous = min(args.simultaneous, args.participants)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        seeded, dispatcher, naive, burst = (
            run_child(name, url, args.participants, simultaneous)
            for name in ("seed", "dispatcher", "naive", "burst")
        )
    print(report(args.participants, seeded["seed_s"], dispatcher, naive, burst))


if __name__ == "__main__":
    main()
