"""Benchmark: the dispatcher (scheduling as data) against one JobQueue job per participant.

    python -m bench.dispatch [--participants 100000] [--simultaneous 30000]
                             [--database-url postgresql://…] [--dispatcher-only]
                             [--limited 600]

Seeds a database (a fresh SQLite file in a temporary directory, or the PostgreSQL
database given, whose tables are dropped and created again) with N participants (N/2
matches, slots spread over six Canadian zones, every weekday and half-hour from 07:00 to
20:30), then measures each design in its own subprocess, so neither pollutes the other's
memory:

- dispatcher: start-up (build_application + initialize + registering the one repeating
  job + starting the JobQueue + settling the garbage collector, as bot.runner does); the
  floor, a plain bulk INSERT of one row per
  participant into the prompt table; materialising one week's prompts and claiming them;
  then one `Dispatcher.tick` that sends a whole week's prompts end to end with the real
  renderer (the check-in dialogue's, as bot/app.py hands it over), and for comparison
  the same tick with a stub renderer that reads nothing;
- naive (skipped with --dispatcher-only): start-up with one `run_daily` job per
  participant; and, in a fresh process, how many of M one-off jobs due at the same
  instant actually run;
- with --limited M: M prompts due at once, sent through the production rate limiter,
  how fast they go and the most sent in any one second.

The Bot API is an in-process fake that answers at once and, but for --limited, the rate
limiter is off, so the figures are Tandem's and PTB's own cost, not Telegram's. Prints
figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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

from bench.instant_api import InstantBotApi
from bot.app import PROMPTS, build_application
from bot.collector import settle_after_startup
from bot.config import Settings
from bot.dispatch import Dispatcher
from conversations import broadcast
from storage.db import Database, async_database_url
from storage.materialise import materialise, note_materialised
from storage.models import Goal, Match, MeetingLog, Membership, Person, Program, Prompt, Role
from storage.participants import scheduled_participants
from storage.prompts import claim_due

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


class CountingBotApi(InstantBotApi):
    """Answers every Bot API call at once: sendMessage with a message (noting when, in
    `sent_at`)."""

    def __init__(self) -> None:
        self.sent = 0
        self.sent_at: list[float] = []

    def answer(self, name: str, params: dict[str, Any]) -> Any:
        if name != "sendMessage":
            return True
        self.sent += 1
        self.sent_at.append(clock.monotonic())
        return {
            "message_id": self.sent,
            "date": int(NOW.timestamp()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params.get("text", ""),
        }


@dataclass(frozen=True)
class Outgoing:
    text: str
    markup: InlineKeyboardMarkup | None


class StubRenderer:
    """For comparison only: a check-in message with one button that reads nothing (the
    real renderer, bot.app.PROMPTS, is what the tick is measured with)."""

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
        await connection.run_sync(SQLModel.metadata.drop_all)
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
        # What the real renderer reads: two open goals per mentee, a meeting logged in
        # the week by one match in four.
        goals = [
            {"membership_id": index + 1, "text": f"Goal {n}", "position": n, "created_at": joined}
            for index in range(0, participants, 2)
            for n in (1, 2)
        ]
        await session.exec(sa.insert(Goal), params=goals)
        logs = [
            {
                "match_id": match,
                "author_id": 2 * match,
                "met_on": (NOW + timedelta(days=2)).date(),
                "minutes": 45,
                "mode": "video",
                "topics": [],
                "created_at": NOW + timedelta(days=2),
            }
            for match in range(1, participants // 2 + 1, 4)
        ]
        await session.exec(sa.insert(MeetingLog), params=logs)
    if not database.is_sqlite:  # the statistics autovacuum would have gathered by now
        async with database.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("ANALYZE")
    await database.dispose()


# --- the designs, each run in its own process ----------------------------------------------


def floor_rows(participants: int) -> list[dict[str, Any]]:
    """One prompt row per participant, as materialising makes them, for the floor: a
    plain bulk INSERT with nothing to plan, check or return."""
    return [
        {
            "person_id": index + 1,
            "match_id": index // 2 + 1,
            "kind": "checkin",
            "period": "2026-W48",
            "instrument": "mentee_weekly",
            "due_at": NOW + timedelta(hours=1),
            "closes_at": NOW + WEEK,
            "status": "pending",
            "attempts": 0,
        }
        for index in range(participants - participants % 2)
    ]


async def fresh_week(database: Database) -> None:
    """No prompts and no materialisation watermark: the next tick starts the week."""
    async with database.session() as session:
        await session.exec(sa.delete(Prompt))
        await session.exec(sa.text("DELETE FROM stored_state"))


async def timed_tick(
    application: Any, database: Database, renderer: Any, figures: dict[str, float], name: str
) -> None:
    """One tick at the week's end over a fresh week: materialise, claim, word, send and
    record every prompt."""
    await fresh_week(database)
    now = NOW + WEEK - timedelta(seconds=1)
    dispatcher = Dispatcher(
        application.bot, database, renderer, lambda: now, budget=None, broadcasts=broadcast
    )
    cpu = clock.process_time()
    with timed(figures, f"{name}_s"):
        report = await dispatcher.tick()
    # This process's CPU (the SQLite driver's thread included, PostgreSQL's server not):
    # steadier than the wall clock on a shared machine.
    figures[f"{name}_cpu_s"] = clock.process_time() - cpu
    figures[f"{name}_created"], figures[f"{name}_sent"] = report.created, report.sent
    figures[f"{name}_failed"] = report.failed


async def measure_dispatcher(url: str, ticks: bool) -> dict[str, float]:
    figures: dict[str, float] = {"rss_before_mb": rss_mb()}
    database = Database(url)
    api = CountingBotApi()
    now = NOW
    with timed(figures, "startup_s"):
        application = build_application(
            settings_for(url), database, request=api, clock=lambda: now, rate_limited=False
        )
        await application.initialize()
        await application.job_queue.start()
        settle_after_startup()  # as bot.runner does once started
    figures["startup_rss_mb"] = rss_mb()
    figures["jobs"] = len(application.job_queue.jobs())
    await application.job_queue.stop(wait=False)

    rows = floor_rows(await participants_in(database))
    with timed(figures, "floor_s"):
        async with database.session() as session:
            await session.exec(sa.insert(Prompt), params=rows)
    figures["floor_rows"] = len(rows)
    del rows
    await fresh_week(database)

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

    if ticks:
        await timed_tick(application, database, PROMPTS, figures, "tick")
        await timed_tick(application, database, StubRenderer(), figures, "stub_tick")
    figures["peak_rss_mb"] = peak_rss_mb()
    await application.shutdown()
    await database.dispose()
    return figures


async def participants_in(database: Database) -> int:
    async with database.session() as session:
        return int((await session.exec(sa.select(sa.func.count()).select_from(Person))).one()[0])


async def measure_limited(url: str, due: int) -> dict[str, float]:
    """`due` prompts due at once, sent by one tick through the production rate limiter:
    messages a second from the first send to the last, and the most in any second."""
    figures: dict[str, float] = {}
    database = Database(url)
    api = CountingBotApi()
    application = build_application(settings_for(url), database, request=api, clock=lambda: NOW)
    await application.initialize()
    settle_after_startup()  # as bot.runner does once started
    await fresh_week(database)
    now = NOW + timedelta(hours=2)
    async with database.session() as session:
        await session.exec(sa.insert(Prompt), params=floor_rows(due))
        await note_materialised(session, now, now + WEEK)  # only these prompts are due
    dispatcher = Dispatcher(application.bot, database, PROMPTS, lambda: now, budget=None)
    report = await dispatcher.tick()
    sent = api.sent_at
    figures["sent"], figures["failed"] = report.sent, report.failed
    figures["span_s"] = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    figures["per_second"] = (len(sent) - 1) / figures["span_s"] if figures["span_s"] else 0.0
    figures["max_in_a_second"] = max_in_window(sent, 1.0)
    figures["longest_gap_s"] = max((b - a for a, b in itertools.pairwise(sent)), default=0)
    await application.shutdown()
    await database.dispose()
    return figures


def max_in_window(times: list[float], window: float) -> int:
    """The most instants of `times` (sorted) in any half-open interval of `window`."""
    most, start = 0, 0
    for end, instant in enumerate(times):
        while instant - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


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
    api = CountingBotApi()
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
    api = CountingBotApi()
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
    "dispatcher": lambda args: measure_dispatcher(args.url, not args.skip_ticks),
    "naive": lambda args: measure_naive_startup(args.url),
    "burst": lambda args: measure_naive_burst(args.url, args.simultaneous),
    "limited": lambda args: measure_limited(args.url, args.limited),
}


def run_child(name: str, url: str, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.dispatch", "--child", name, "--url", url]
    command += ["--participants", str(args.participants), "--simultaneous", str(args.simultaneous)]
    command += ["--limited", str(args.limited)] + (["--skip-ticks"] if args.skip_ticks else [])
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


def naive_report(participants: int, d: dict[str, float], n: dict[str, float],
                 b: dict[str, float]) -> list[str]:  # fmt: skip
    dispatched = f"{d['tick_sent']:,.0f}/{participants:,}"
    naive_ran = f"{b['ran']:,.0f}/{b['due']:,.0f}"
    return [
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
    ]


def dispatcher_report(participants: int, d: dict[str, float]) -> list[str]:
    floor = d["floor_s"]
    week = d["materialise_s"] + d["claim_s"]
    lines = [
        f"dispatcher: start-up {d['startup_s']:.2f} s, {d['startup_rss_mb']:,.0f} MB RSS after "
        f"start-up, peak {d['peak_rss_mb']:,.0f} MB",
        f"floor: a plain bulk INSERT of {d['floor_rows']:,.0f} prompt rows: {floor:.2f} s",
        f"  materialise {d['materialised']:,.0f} prompts (bulk INSERTs by pages of matches): "
        f"{d['materialise_s']:.2f} s ({d['materialise_s'] / floor:,.1f}× the floor), "
        f"peak {d['materialise_peak_rss_mb']:,.0f} MB RSS",
        f"  claim {d['claimed']:,.0f} prompts in batches of {CLAIM_BATCH:,}: {d['claim_s']:.2f} s "
        f"({d['claim_s'] / floor:,.1f}× the floor)",
        f"  materialise + claim: {week:.2f} s = {week / floor:,.1f}× the floor",
    ]
    if "tick_s" not in d:
        return lines
    real, stub = (d[f"{name}_sent"] / d[f"{name}_s"] for name in ("tick", "stub_tick"))
    return [
        *lines,
        f"one tick end to end (materialise + claim + word + send + record), {participants:,} due:",
        f"  real renderer (the check-in dialogue's): {d['tick_sent']:,.0f} sent in "
        f"{d['tick_s']:.1f} s = {real:,.0f} prompts/s ({d['tick_failed']:,.0f} failed); "
        f"CPU {d['tick_cpu_s']:.1f} s = {d['tick_sent'] / d['tick_cpu_s']:,.0f} prompts/CPU-s",
        f"  stub renderer, for comparison:           {d['stub_tick_sent']:,.0f} sent in "
        f"{d['stub_tick_s']:.1f} s = {stub:,.0f} prompts/s (real/stub {real / stub:.2f}); "
        f"CPU {d['stub_tick_cpu_s']:.1f} s = "
        f"{d['stub_tick_sent'] / d['stub_tick_cpu_s']:,.0f} prompts/CPU-s",
        f"  (the rate limiter holds production to 30 messages/s: {participants:,} check-ins "
        f"take {participants / 30 / 60:,.0f} min of sending, spread over the week's slots)",
    ]


def limited_report(due: int, lim: dict[str, float]) -> list[str]:
    return [
        "",
        f"through the production rate limiter, {due:,} prompts due at once: "
        f"{lim['sent']:,.0f} sent at {lim['per_second']:.1f} messages/s "
        f"({lim['per_second'] / 30:.2f}× Telegram's 30/s), at most {lim['max_in_a_second']:.0f} "
        f"in any second, longest gap between sends {lim['longest_gap_s'] * 1000:.0f} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument(
        "--simultaneous",
        type=int,
        default=30_000,
        help="one-off jobs due at the same instant in the naive design (at most participants)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database to use (its tables are dropped); a temporary SQLite "
        "file by default",
    )
    parser.add_argument(
        "--dispatcher-only", action="store_true", help="skip the job-per-person design"
    )
    parser.add_argument(
        "--limited",
        type=int,
        default=0,
        help="also send this many prompts through the production rate limiter",
    )
    parser.add_argument(
        "--skip-ticks",
        action="store_true",
        help="skip the end-to-end ticks",
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
    args.simultaneous = min(args.simultaneous, args.participants)
    args.limited = min(args.limited, args.participants - args.participants % 2)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        url = (
            async_database_url(args.database_url)
            if args.database_url
            else f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        )
        seeded = run_child("seed", url, args)
        dispatcher = run_child("dispatcher", url, args)
        limited = run_child("limited", url, args) if args.limited else None
        naive = None
        if not args.dispatcher_only:
            naive = (run_child("naive", url, args), run_child("burst", url, args))
    kind = "PostgreSQL" if args.database_url else "SQLite"
    lines = [
        f"Tandem dispatch benchmark: {args.participants:,} participants, {kind}, instant fake "
        f"Bot API, no rate limiter but where said (seeding took {seeded['seed_s']:.1f} s)",
        "",
    ]
    if naive is not None:
        lines += naive_report(args.participants, dispatcher, *naive)
    lines += dispatcher_report(args.participants, dispatcher)
    if limited is not None:
        lines += limited_report(args.limited, limited)
    if naive is not None:
        burst = naive[1]
        lines += [
            "",
            f"job per person, {burst['due']:,.0f} one-off jobs due at the same instant: "
            f"{burst['ran']:,.0f} ran, {burst['due'] - burst['ran']:,.0f} were dropped as "
            f"misfires (registering them took {burst['register_s']:.1f} s)",
        ]
    print("\n".join(line for line in lines if line is not None))


if __name__ == "__main__":
    main()
