"""Raising alerts: a flag reaches every coordinator of its program at once, each in their
language, and each copy is recorded (`AlertCopy`) so that it can be brought up to date
when one of them acts on the flag. Check-ins and reflections (once answered), meeting
logs, end requests and the dispatcher (`sweep`, `unreachable_alerts`: bot/app.py hands this
module to it as its alert hook) all raise alerts through here; the buttons on an alert are
conversations/alerts.py's."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from conversations.kit.alert_text import alert_buttons, alert_text, flag_goals
from conversations.kit.buttons import keyboard
from conversations.kit.context import TandemContext
from locales.translator import translator
from storage.clock import utcnow
from storage.db import Database
from storage.flag_sweep import (
    end_snoozes,
    evaluate_matches,
    new_unreachable_flags,
    open_match_pages,
    sweep_due,
)
from storage.flags import SEVERITY_ORDER
from storage.models import (
    AlertCopy,
    Flag,
    FlagStatus,
    Match,
    Membership,
    Person,
    PersonStatus,
    Program,
    Role,
)

# The name these messages have always been logged under, before the alerts were split.
log = logging.getLogger("conversations.alerts")

UNREACHABLE = (PersonStatus.UNREACHABLE, PersonStatus.CLOSED, PersonStatus.ERASED)


async def coordinators(session: AsyncSession, program_id: int) -> Sequence[Person]:
    """Who coordinates the program: finished joining, and still reachable."""
    statement = (
        select(Person)
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .where(
            Membership.program_id == program_id,
            Membership.role == Role.COORDINATOR,
            col(Membership.completed_at).is_not(None),
            col(Person.status).not_in(UNREACHABLE),
        )
        .order_by(col(Person.id))
    )
    return (await session.exec(statement)).unique().all()


FlagParts = tuple[Match, Program, Person | None, Person | None]


async def flag_parts(session: AsyncSession, flag: Flag) -> FlagParts | None:
    match = await session.get(Match, flag.match_id)
    program = None if match is None else await session.get(Program, match.program_id)
    if match is None or program is None:
        return None
    return (
        match,
        program,
        await session.get(Person, match.mentor_id),
        await session.get(Person, match.mentee_id),
    )


@dataclass(frozen=True)
class Letter:
    """One coordinator's alert: sent, or an edit of the copy they already have."""

    flag_id: int
    person_id: int
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup
    message_id: int | None = None


async def letter_for(session: AsyncSession, flag: Flag, reader: Person, parts: FlagParts) -> Letter:
    """The flag's alert as it is now, in the reader's language."""
    _, program, mentor, mentee = parts
    tr = translator(reader.locale)
    handler = await person_by_id(session, flag.handled_by)
    return Letter(
        flag.id or 0,
        reader.id or 0,
        reader.chat_id or reader.telegram_id,
        alert_text(tr, flag, program, mentor, mentee, handler, await flag_goals(session, [flag])),
        keyboard(alert_buttons(tr, flag)),
    )


async def notify(
    bot: Bot, database: Database, flag_ids: Sequence[int], *, now: datetime | None = None
) -> int:
    """Send each flag to every coordinator of its program and record each copy delivered.
    Returns the messages sent. Reads in one transaction, sends with none open."""
    if not flag_ids:
        return 0
    letters: list[Letter] = []
    async with database.session() as session:
        flags = await session.exec(  # a flag resolved meanwhile needs nobody's attention
            select(Flag).where(col(Flag.id).in_(flag_ids), Flag.status != FlagStatus.RESOLVED)
        )
        ordered = sorted(flags.all(), key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.id))
        for flag in ordered:
            parts = await flag_parts(session, flag)
            if parts is None:
                continue
            for person in await coordinators(session, parts[1].id or 0):
                letters.append(await letter_for(session, flag, person, parts))
    copies: list[AlertCopy] = []
    for letter in letters:
        try:
            message = await bot.send_message(
                letter.chat_id, letter.text, parse_mode=ParseMode.HTML, reply_markup=letter.markup
            )
        except TelegramError as error:
            log.warning("alert not delivered to a coordinator: %s", type(error).__name__)
            continue
        copies.append(
            AlertCopy(
                flag_id=letter.flag_id,
                person_id=letter.person_id,
                chat_id=letter.chat_id,
                message_id=message.message_id,
                sent_at=now or utcnow(),
            )
        )
    if copies:
        async with database.session() as session:
            session.add_all(copies)
    if letters:
        log.info("alerts: %d flag(s), %d message(s) sent", len(flag_ids), len(copies))
    return len(copies)


async def refresh_copies(
    bot: Bot, database: Database, flag_id: int, *, edited: tuple[int, int] | None = None
) -> int:
    """Bring every coordinator's copy of the flag's alert up to date, each in its reader's
    language, but the message `edited` (chat id, message id) that is already, and only
    for those who still coordinate the program. Call once the change has committed. A
    copy that cannot be edited any more (deleted, too old) is skipped. Returns the copies
    edited."""
    async with database.session() as session:
        flag = await session.get(Flag, flag_id)
        parts = None if flag is None else await flag_parts(session, flag)
        if flag is None or parts is None:
            return 0
        # Who left the program (or Tandem) since reads no more of it.
        readers = {person.id: person for person in await coordinators(session, parts[1].id or 0)}
        rows = await session.exec(
            select(AlertCopy)
            .where(AlertCopy.flag_id == flag_id, col(AlertCopy.person_id).in_(list(readers)))
            .order_by(col(AlertCopy.id))
        )
        letters = [
            replace(
                await letter_for(session, flag, readers[copy.person_id], parts),
                chat_id=copy.chat_id,
                message_id=copy.message_id,
            )
            for copy in rows.all()
            if (copy.chat_id, copy.message_id) != edited
        ]
    edits = 0
    for letter in letters:
        try:
            await bot.edit_message_text(
                letter.text,
                chat_id=letter.chat_id,
                message_id=letter.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=letter.markup,
            )
        except TelegramError as error:
            if "not modified" not in str(error).lower():
                log.info("could not update a copy of an alert: %s", type(error).__name__)
            continue
        edits += 1
    return edits


async def evaluate_and_notify(
    bot: Bot, database: Database, match_ids: Sequence[int], now: datetime
) -> list[int]:
    """Evaluate the matches in a transaction of their own; alert once it has committed.
    Never raises: an answer or a tick must not fail because of a rule."""
    try:
        async with database.session() as session:
            created = await evaluate_matches(session, match_ids, now)
        await notify(bot, database, created, now=now)
    except Exception:
        log.exception("could not evaluate the flag rules for %d match(es)", len(match_ids))
        return []
    return created


async def after_answer(ctx: TandemContext, match_id: int) -> None:
    """A check-in or reflection was completed (or changed): evaluate its match."""
    await evaluate_and_notify(ctx.bot, ctx.db, [match_id], ctx.now())


async def sweep(bot: Bot, database: Database, now: datetime) -> int:
    """Every dispatcher tick: flags whose snooze is over are open and sent again. Once
    every 24 hours, the daily sweep: every open match, a page per transaction. Returns the
    flags raised or opened again."""
    woken = await snoozes_over(bot, database, now)
    async with database.session() as session:
        if not await sweep_due(session, now):
            return woken
        pages = await open_match_pages(session)
    raised = 0
    for page in pages:
        raised += len(await evaluate_and_notify(bot, database, page, now))
    return woken + raised


async def snoozes_over(bot: Bot, database: Database, now: datetime) -> int:
    """Open again the flags whose snooze is over, and send their alerts again (saying the
    snooze ended). Never raises. Returns how many."""
    try:
        async with database.session() as session:
            woken = await end_snoozes(session, now)
        await notify(bot, database, woken, now=now)
    except Exception:
        log.exception("could not open the flags whose snooze is over")
        return 0
    return len(woken)


async def unreachable_alerts(
    bot: Bot, database: Database, person_ids: Sequence[int], now: datetime
) -> int:
    """Alert the coordinators about the "unreachable" flags just raised for these people."""
    try:
        async with database.session() as session:
            ids = [
                i
                for person in person_ids
                for i in await new_unreachable_flags(session, person, now)
            ]
        return await notify(bot, database, ids, now=now)
    except Exception:
        log.exception("could not send the unreachable alerts")
        return 0


async def person_by_id(session: AsyncSession, person_id: int | None) -> Person | None:
    return None if person_id is None else await session.get(Person, person_id)
