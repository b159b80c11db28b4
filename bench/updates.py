"""Benchmark: what a participant waits for, beside python-telegram-bot's own floor.

    python -m bench.updates [--users 100] [--url postgresql://…/an_empty_database]

Seeds a program (a fresh SQLite file unless --url names an empty database) with matched
pairs whose weekly check-in was delivered, then plays updates through the real
`Application` (built by bot/app.py, persistence and all) from Bot API JSON to the last
answer, against an in-process fake Bot API that answers at once:

- a check-in tap (three per mentee: each answers the question the check-in is at),
  /help and /start for someone known, interleaved with their floors, measured in the same
  run: a bare ConversationHandler step that answers the callback and edits the message
  around one SQLModel commit (the tap's floor), and a bare command that runs one SELECT and
  replies (/help's and /start's floor);
- a tap with the production rate limiter (bot.app.rate_limiter) beside the same tap
  without it, one tap at a time with idle pauses between them, each going first for half
  the people;
- a tap while the real dispatcher's tick has 30 check-ins to send. These taps, like the
  idle ones they are compared with, answer a check-in's second or third question (the
  first answer also reads the partner's name for the header; it is given unmeasured);
- the resident memory of a fresh process once the application is built and initialised
  on an empty database (what start-up imports).

p50 and p99 are over every measured update; the ratio is Tandem's p50 over the floor's.
The garbage collector is settled once the applications are initialised, as bot.runner
does at start-up; the floors share the process, and so the collector's settings.
The machine may be shared: the ratios are what to compare. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time as clock
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
)
from telegram.warnings import PTBUserWarning

from bench.instant_api import BOT_USER, InstantBotApi
from bot.app import build_application
from bot.collector import settle_after_startup
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.dispatch_job import JOB_NAME
from conversations.checkin import render_prompt
from conversations.kit.sending import send_html
from storage.db import Database, async_database_url
from storage.migrate import upgrade
from storage.models import (
    Answer,
    AuditEvent,
    Person,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from tests.builders import MONDAY_NINE_IN_TORONTO, PERIOD, add_match, onboarded

BOT_TOKEN = "123456789:" + "U" * 35
NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # Monday 9:00 in Toronto: check-ins due
FIRST_ID = 5_000_000
IN_FLIGHT = 30  # check-ins the dispatcher is sending while someone taps
IDLE = 0.1  # seconds between taps when the rate limiter is measured idle
Payload = dict[str, Any]


# --- the fake Bot API -------------------------------------------------------------------


class ChatBotApi(InstantBotApi):
    """Answers every Bot API call at once and keeps each chat's latest keyboard, so a tap
    can press a button the bot really sent."""

    def __init__(self) -> None:
        self.ids = count(1)
        self.sent = 0
        self.keyboards: dict[int, Payload] = {}  # chat id -> the latest message with buttons
        self.sending = asyncio.Event()  # set by every sendMessage

    def answer(self, name: str, params: Payload) -> Any:
        if name not in ("sendMessage", "editMessageText"):
            return True
        chat_id = int(params.get("chat_id", 0))
        message_id = params.get("message_id") or next(self.ids)
        if name == "sendMessage":
            self.sent += 1
            self.sending.set()
        result = message(chat_id, int(message_id), str(params.get("text", "")))
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup and "inline_keyboard" in markup:
            self.keyboards[chat_id] = {**result, "reply_markup": markup}
        return result


def message(chat_id: int, message_id: int, text: str) -> Payload:
    return {
        "message_id": message_id,
        "date": int(NOW.timestamp()),
        "chat": {"id": chat_id, "type": "private", "first_name": "P"},
        "from": BOT_USER,
        "text": text,
    }


def sender(telegram_id: int) -> Payload:
    return {"id": telegram_id, "is_bot": False, "first_name": "P", "language_code": "en"}


class Player:
    """Turns what a participant does into the Bot API update Telegram would send."""

    def __init__(self, api: ChatBotApi) -> None:
        self.api = api
        self.update_ids = count(1)
        self.message_ids = count(10_000_000)

    def command(self, telegram_id: int, text: str) -> Payload:
        body = message(telegram_id, next(self.message_ids), text)
        body["from"] = sender(telegram_id)
        if text.startswith("/"):
            length = len(text.split()[0])
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": next(self.update_ids), "message": body}

    def tap(self, telegram_id: int, button: int = 0) -> Payload:
        """Press button `button` (in reading order) of the chat's latest keyboard."""
        shown = self.api.keyboards[telegram_id]
        buttons = [key for row in shown["reply_markup"]["inline_keyboard"] for key in row]
        return {
            "update_id": next(self.update_ids),
            "callback_query": {
                "id": str(next(self.update_ids)),
                "from": sender(telegram_id),
                "chat_instance": str(telegram_id),
                "message": shown,
                "data": buttons[button]["callback_data"],
            },
        }


async def play(application: Application[Any, Any, Any, Any, Any, Any], payload: Payload) -> float:
    """Milliseconds from the update's JSON to the last of its answers."""
    start = clock.perf_counter()
    await application.process_update(Update.de_json(payload, application.bot))
    return (clock.perf_counter() - start) * 1000


# --- python-telegram-bot's floor ---------------------------------------------------------


def floor_application(
    api: ChatBotApi, database: Database
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The least an update can cost here: PTB's ConversationHandler step that answers the
    callback and edits the message around one SQLModel commit, and a command that reads
    one row and replies."""

    async def step(update: Update, _ctx: Any) -> int:
        query = update.callback_query
        assert query is not None and query.from_user is not None
        async with database.session() as session:
            session.add(
                AuditEvent(
                    actor_label="bench", action="floor", subject=str(query.from_user.id), at=NOW
                )
            )
        await query.answer()
        await query.edit_message_text("Answered", parse_mode=ParseMode.HTML)
        return 0

    async def command(update: Update, _ctx: Any) -> None:
        assert update.message is not None and update.effective_user is not None
        async with database.session() as session:
            statement = select(Person).where(Person.telegram_id == update.effective_user.id)
            person = (await session.exec(statement)).first()
        name = person.name if person else ""
        await update.message.reply_text(f"Hello {name}", parse_mode=ParseMode.HTML)

    application = (
        ApplicationBuilder()
        .token(BOT_TOKEN)
        .request(api)
        .get_updates_request(api)
        .context_types(ContextTypes())
        .build()
    )
    tap = CallbackQueryHandler(step)
    with warnings.catch_warnings():  # per_message=False, as Tandem's dialogues are built
        warnings.simplefilter("ignore", PTBUserWarning)
        application.add_handler(ConversationHandler([tap], {0: [tap]}, [], per_message=False))
    application.add_handler(CommandHandler(["help", "start"], command))
    return application


# --- seeding ------------------------------------------------------------------------------


async def seed(database: Database, pairs: int) -> list[int]:
    """`pairs` matched pairs, both partners' check-ins delivered this week; returns the
    mentees' Telegram ids (the mentors' are theirs plus `pairs`)."""
    mentees = [FIRST_ID + index for index in range(pairs)]
    async with database.session() as session:
        program = Program(
            name="Bench",
            created_at=NOW - timedelta(days=30),
            settings={"reflection_every_weeks": 0},  # the dispatcher sends check-ins only
            **MONDAY_NINE_IN_TORONTO,
        )
        session.add(program)
        await session.flush()
        joined = NOW - timedelta(days=30)
        for telegram_id in mentees:
            mentee = await onboarded(
                session, joined, program_id=program.id or 0, role=Role.MENTEE,
                telegram_id=telegram_id, name=f"Mentee {telegram_id}", **MONDAY_NINE_IN_TORONTO,
            )  # fmt: skip
            mentor = await onboarded(
                session, joined, program_id=program.id or 0, role=Role.MENTOR,
                telegram_id=telegram_id + pairs, name=f"Mentor {telegram_id}",
                **MONDAY_NINE_IN_TORONTO,
            )  # fmt: skip
            match = await add_match(session, program.id or 0, mentor, mentee, joined)
            for person, instrument in ((mentee, "mentee_weekly"), (mentor, "mentor_weekly")):
                session.add(
                    Prompt(
                        person_id=person.id or 0, match_id=match.id or 0, kind=PromptKind.CHECKIN,
                        period=PERIOD, instrument=instrument, due_at=NOW,
                        closes_at=NOW + timedelta(days=7), status=PromptStatus.SENT, sent_at=NOW,
                    )
                )  # fmt: skip
    return mentees


async def deliver(
    application: Application[Any, Any, Any, Any, Any, Any], database: Database, telegram_id: int
) -> None:
    """The check-in's first message, rendered and sent as the dispatcher does."""
    async with database.session() as session:
        person = (await session.exec(select(Person).where(Person.telegram_id == telegram_id))).one()
        prompt = (await session.exec(select(Prompt).where(Prompt.person_id == person.id))).one()
        rendered = await render_prompt(session, prompt, person)
        message_id = await send_html(
            application.bot, telegram_id, rendered.text, rendered.markup, preview=True
        )
        prompt.telegram_message_id = message_id
        session.add(prompt)


# --- measuring ----------------------------------------------------------------------------


class Figures:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, milliseconds: float) -> None:
        self.samples.setdefault(name, []).append(milliseconds)

    def p50(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def p99(self, name: str) -> float:
        values = sorted(self.samples[name])
        return values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


def now() -> datetime:
    return NOW


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, telegram_bot_token=BOT_TOKEN, database_url=url)  # type: ignore[call-arg]


async def measure(url: str, users: int, limited_users: int, in_flight_reps: int) -> Figures:
    database = Database(url)
    await upgrade(database)
    mentees = await seed(database, users + limited_users + in_flight_reps + IN_FLIGHT)
    busy = mentees[-IN_FLIGHT:]  # what the dispatcher sends: their check-ins are made again
    api = ChatBotApi()
    player = Player(api)
    settings = settings_for(url)
    apps = {
        "tandem": build_application(settings, database, request=api, clock=now, rate_limited=False),
        "limited": build_application(settings, database, request=api, clock=now),
        "floor": floor_application(api, database),
    }
    for application in apps.values():
        await application.initialize()
    settle_after_startup()  # as bot.runner does once started; the floor shares the process
    tandem, limited, floor = apps["tandem"], apps["limited"], apps["floor"]
    figures = Figures()
    try:
        for telegram_id in mentees:
            await deliver(tandem, database, telegram_id)
        plain, rated, racing = (
            mentees[:users],
            mentees[users : users + limited_users],
            mentees[users + limited_users : -IN_FLIGHT],
        )
        for telegram_id in (*plain, *rated, *racing):  # first contact: consent is checked once
            await play(tandem, player.command(telegram_id, "/help"))
            await play(limited, player.command(telegram_id, "/help"))
        for telegram_id in plain:
            figures.add("help", await play(tandem, player.command(telegram_id, "/help")))
            figures.add("help floor", await play(floor, player.command(telegram_id, "/help")))
            figures.add("start", await play(tandem, player.command(telegram_id, "/start")))
            figures.add("start floor", await play(floor, player.command(telegram_id, "/start")))
        for _question in range(3):
            for telegram_id in plain:
                figures.add("tap", await play(tandem, player.tap(telegram_id)))
                figures.add("tap floor", await play(floor, player.tap(telegram_id)))
        await _check_answered(database, plain, 3)
        # The first answer of a check-in also reads the partner's name for its header: it
        # is given unmeasured, so that the taps compared below all answer a later question.
        for telegram_id in (*rated, *racing):
            await play(tandem, player.tap(telegram_id))
        lanes = (("tap limited", limited), ("tap unlimited", tandem))
        for index, telegram_id in enumerate(rated):  # with and without the limiter, idle
            for name, application in lanes if index % 2 else reversed(lanes):  # between
                await asyncio.sleep(IDLE)
                figures.add(name, await play(application, player.tap(telegram_id)))
        dispatcher: Dispatcher = limited.job_queue.get_jobs_by_name(JOB_NAME)[0].data
        dispatcher.budget = None
        for telegram_id in racing:
            await _forget_prompts(database, busy)
            await dispatcher.materialise(NOW, force=True)  # their check-ins are due again
            api.sending.clear()
            sent_before = api.sent
            tick = asyncio.create_task(dispatcher.tick())
            sending = asyncio.create_task(api.sending.wait())
            await asyncio.wait((tick, sending), return_when=asyncio.FIRST_COMPLETED)
            sending.cancel()  # the tick's first check-in is on its way
            figures.add("tap in flight", await play(limited, player.tap(telegram_id)))
            await tick
            figures.add("tick sends", api.sent - sent_before - 1)  # less the tap's question
    finally:
        for application in apps.values():
            await application.shutdown()
        await database.dispose()
    return figures


async def _check_answered(database: Database, telegram_ids: Sequence[int], each: int) -> None:
    """Every measured tap stored an answer (a stale button would be measured otherwise)."""
    async with database.session() as session:
        people = select(Person.id).where(col(Person.telegram_id).in_(telegram_ids))
        prompts = select(Prompt.id).where(col(Prompt.person_id).in_(people))
        statement = select(sa.func.count()).where(col(Answer.prompt_id).in_(prompts))
        stored = (await session.exec(statement)).one()
    if stored != each * len(telegram_ids):
        raise RuntimeError(f"{stored} answers stored for {each * len(telegram_ids)} taps")


async def _forget_prompts(database: Database, telegram_ids: Sequence[int]) -> None:
    """Delete these people's check-ins, so the dispatcher's next tick makes and sends them."""
    async with database.session() as session:
        people = select(Person.id).where(col(Person.telegram_id).in_(telegram_ids))
        await session.exec(sa.delete(Prompt).where(col(Prompt.person_id).in_(people)))  # type: ignore[call-overload]


async def _started_rss(url: str) -> float:
    """MiB resident once the application is built and initialised (this process only
    imported what the bench itself needs first)."""
    database = Database(url)
    await upgrade(database)
    application = build_application(settings_for(url), database, request=ChatBotApi())
    await application.initialize()
    resident = rss_mib()
    await application.shutdown()
    await database.dispose()
    return resident


def rss_mib() -> float:
    """This process's resident memory now (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def started_rss() -> float:
    """`_started_rss` in a fresh process, on an empty SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        url = async_database_url(f"sqlite:///{Path(folder) / 'empty.db'}")
        child = [sys.executable, "-m", "bench.updates", "--rss-of", url]
        ran = subprocess.run(child, capture_output=True, text=True, check=True)
    return float(ran.stdout)


def report(label: str, figures: Figures) -> str:
    lines = [
        f"updates through the real Application, {label}",
        f"{'':<34}{'p50 ms':>9}{'p99 ms':>9}{'floor p50':>11}{'ratio':>8}",
    ]

    def row(title: str, name: str, floor: str | None) -> None:
        base = figures.p50(floor) if floor else None
        ratio = f"{figures.p50(name) / base:.1f}×" if base else ""
        floor_text = f"{base:.2f}" if base else ""
        lines.append(
            f"{title:<34}{figures.p50(name):>9.2f}{figures.p99(name):>9.2f}{floor_text:>11}{ratio:>8}"
        )

    row(f"check-in tap (n={len(figures.samples['tap'])})", "tap", "tap floor")
    row("/help, someone known", "help", "help floor")
    row("/start, someone known", "start", "start floor")
    row("PTB floor: tap step + one commit", "tap floor", None)
    row("PTB floor: command + one SELECT", "help floor", None)
    row("tap without the limiter, idle", "tap unlimited", None)
    row("tap with the production limiter", "tap limited", "tap unlimited")
    sends = round(figures.p50("tick sends"))
    row(f"tap while a tick sends {sends} check-ins", "tap in flight", "tap unlimited")
    return "\n".join(lines)


async def run(url: str | None, users: int, limited_users: int, in_flight_reps: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        target = async_database_url(url or f"sqlite:///{Path(folder) / 'bench.db'}")
        label = "PostgreSQL" if target.startswith("postgresql") else "SQLite"
        figures = await measure(target, users, limited_users, in_flight_reps)
    return report(label, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="mentees tapping (3 taps each)")
    parser.add_argument("--limited", type=int, default=20, help="taps with and without the limiter")
    parser.add_argument("--in-flight", type=int, default=40, help="taps behind a dispatcher tick")
    parser.add_argument("--url", help="an empty database to seed (default: a SQLite file)")
    parser.add_argument("--rss-of", help=argparse.SUPPRESS)  # the memory child's database
    args = parser.parse_args()
    if args.rss_of:
        print(asyncio.run(_started_rss(args.rss_of)))
        return
    print(asyncio.run(run(args.url, args.users, args.limited, args.in_flight)))
    print(f"RSS after start-up, empty database: {started_rss():.0f} MiB")


if __name__ == "__main__":
    main()
