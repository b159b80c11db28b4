"""Erasing a person and telling those left behind: the partner of each match the erasure
closed, and the coordinators of the person's programs, each in their own language and
never with a reason. Shared by /deleteme, the consent re-ask, /people and the command line.

Once the erasure has committed, `refresh_named_copies` edits the messages already in
coordinators' chats that named the person and whose copies the bot stored (chat id and
message id): the alerts of flags on their matches or handled by them (`AlertCopy`) and the
extension requests of their matches or decided by them (`ExtensionCopy`), re-rendered so
that they say "Erased participant". Other messages that named them (departure notices,
digests, screens a coordinator asked for, pairing confirmations) were never stored with
their ids and stay as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from conversations.kit.alerting import coordinators, refresh_copies
from conversations.kit.buttons import keyboard
from conversations.kit.erasure import erasure_keeps
from conversations.kit.lifecycle import refresh_extension_copies
from locales.translator import Translator, translator
from storage.closure import Actor
from storage.db import Database
from storage.erasure import Erased, erase_person
from storage.models import (
    AlertCopy,
    ExtensionCopy,
    Flag,
    Match,
    MatchExtension,
    Person,
    PersonStatus,
    Program,
    Role,
)

log = logging.getLogger(__name__)

ERASE_PREFIX = "del"  # the buttons of the erase question (answered by conversations.deleteme)
ERASE_YES, ERASE_NO = f"{ERASE_PREFIX}:yes", f"{ERASE_PREFIX}:no"


def erasure_terms(tr: Translator, *, own: bool) -> list[str]:
    """Exactly what `erase` removes and what it keeps, and what follows: told to the
    person themself (`own`: /deleteme, a declined consent wording) or to a coordinator
    erasing someone at their request (/people). One statement of the terms for both."""
    if not own:
        return [
            tr.gettext(
                "<b>Erased:</b> their name, username and Telegram account, their profile, "
                "everything they typed (check-in notes, meeting notes, goals, reflections, "
                "reasons they gave) and the messages still waiting to be sent to them."
            ),
            tr.gettext(
                "<b>Kept, without their name:</b> dates, counts and the answers they tapped "
                "or rated, which the program needs for its evaluation."
            ),
            tr.gettext(
                "Their matches end; their partner and the program's other coordinators are "
                "told that they left, without any reason. This cannot be undone."
            ),
        ]
    return [
        tr.gettext(
            "<b>Erased:</b> your name, username and Telegram account, your profile, "
            "everything you typed (check-in notes, meeting notes, goals, reflections, "
            "reasons you gave) and the messages still waiting to be sent to you."
        ),
        tr.gettext(
            "<b>Kept, without your name:</b> dates, counts and the answers you tapped "
            "or rated, which your program needs for its evaluation."
        ),
        tr.gettext(
            "Your matches end; your partner and your coordinator are told that you "
            "left, without any reason. This cannot be undone. To see your data "
            "first, send /mydata."
        ),
    ]


def erase_question(tr: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """What erasure removes and keeps, and the two buttons to confirm or not: asked by
    /deleteme and when someone declines a new consent wording."""
    text = "\n".join([tr.gettext("<b>Erase your data?</b>"), "", *erasure_terms(tr, own=True)])
    buttons = [
        [(tr.gettext("Yes, erase my data"), ERASE_YES)],
        [(tr.gettext("No, keep my data"), ERASE_NO)],
    ]
    return text, keyboard(buttons)


@dataclass(frozen=True)
class Notice:
    """One message to one chat, already in the reader's language."""

    chat_id: int
    text: str


async def erase(
    session: AsyncSession, person: Person, actor: Actor, reason: str, now: datetime
) -> tuple[Erased, list[Notice]]:
    """Erase `person` and word the notices for their partners and coordinators (to send
    once the transaction has committed)."""
    erased = await erase_person(session, person, actor, reason, now, keeps=erasure_keeps())
    notices: list[Notice] = []
    for ended in erased.ended:
        partner = await session.get(Person, ended.partner_id)
        if partner is None or partner.chat_id is None or partner.status == PersonStatus.ERASED:
            continue
        tr = translator(partner.locale)
        if ended.partner_role == Role.MENTOR:
            text = tr.gettext(
                "Your mentee has left the program, so your match has ended. Thank you for "
                "the time you gave them."
            )
        else:
            text = tr.gettext(
                "Your mentor has left the program, so your match has ended. Thank you for "
                "the time you gave each other. Your coordinator can tell you what comes next."
            )
        notices.append(Notice(partner.chat_id, text))
    for program_id in erased.program_ids:
        program = await session.get(Program, program_id)
        if program is None:
            continue
        closed = [ended.match_id for ended in erased.ended if ended.program_id == program_id]
        for coordinator in await coordinators(session, program_id):
            if coordinator.chat_id is None or coordinator.id == person.id:
                continue
            tr = translator(coordinator.locale)
            text = tr.gettext(
                "A participant has left <b>{program}</b> and their data was erased.",
                program=program.name,
            )
            if closed:
                text += "\n" + tr.ngettext(
                    "Match {matches} is closed.",
                    "Matches {matches} are closed.",
                    len(closed),
                    matches=", ".join(f"#{match_id}" for match_id in closed),
                )
            notices.append(Notice(coordinator.chat_id, text))
    return erased, notices


async def send_notices(bot: Bot, notices: list[Notice]) -> int:
    """Send the notices; returns how many could not be delivered (logged by kind only)."""
    failed = 0
    for notice in notices:
        try:
            await bot.send_message(notice.chat_id, notice.text, parse_mode=ParseMode.HTML)
        except TelegramError as error:
            failed += 1
            log.warning("a departure notice was not delivered: %s", type(error).__name__)
    return failed


async def refresh_named_copies(bot: Bot, database: Database, person_id: int) -> int:
    """Edit the stored copies of the alerts and extension requests that named the erased
    person (see the module docstring); call once the erasure has committed. A copy that
    cannot be edited (deleted, too old) is skipped and logged by error class only. Returns
    the copies edited."""
    theirs = select(Match.id).where(
        sa.or_(col(Match.mentor_id) == person_id, col(Match.mentee_id) == person_id)
    )
    async with database.session() as session:
        flags = await session.exec(
            select(Flag.id)
            .join(AlertCopy, col(AlertCopy.flag_id) == col(Flag.id))
            .where(sa.or_(col(Flag.match_id).in_(theirs), col(Flag.handled_by) == person_id))
            .distinct()
        )
        flag_ids = sorted(flags.all())
        extensions = await session.exec(
            select(MatchExtension.id)
            .join(ExtensionCopy, col(ExtensionCopy.extension_id) == col(MatchExtension.id))
            .where(
                sa.or_(
                    col(MatchExtension.match_id).in_(theirs),
                    col(MatchExtension.decided_by) == person_id,
                )
            )
            .distinct()
        )
        extension_ids = sorted(extensions.all())
    edited = 0
    for flag_id in flag_ids:
        edited += await refresh_copies(bot, database, flag_id or 0)
    for extension_id in extension_ids:
        edited += await refresh_extension_copies(bot, database, extension_id or 0)
    return edited
