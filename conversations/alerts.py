"""Alerts: a new flag reaches every coordinator of its program at once, in their language,
with the evidence in words and four buttons — Acknowledge, Snooze 7 days, Resolve (with a
short note, or none) and Show match.

Each coordinator's message is recorded (`AlertCopy`), so when one of them acts on the flag
every other copy is edited, once the change has committed, to show it in its reader's
language. A snooze that is over opens the flag again, and the alert is sent again saying
so; the dispatcher's every tick looks for those (`sweep`), and once a day it applies the
flag rules to every open match. Sending and updating the copies is the raise-alerts
service, conversations/kit/alerting.py; this dialogue is the buttons and the note.

Callback data is ``fl:<action>:<flag id>`` (Show match is conversations/oversight/'s
``ov:mt:<match id>``, which opens the match's timeline) and is never trusted: every
press is checked again against the person pressing it, who must have finished joining
the flag's program as a coordinator (and not have left Tandem). A refused press changes
nothing. Every change to a flag writes an audit event.

A note for Resolve is the coordinator's next text message (within ten minutes); a
handler in a group before every other dialogue takes it, so no dialogue in progress
sees it. A command, or another dialogue's button, ends the wait.

```mermaid
stateDiagram-v2
    [*] --> Open: a flag raised (conversations/kit/alerting.py)
    Open --> Acknowledged: Acknowledge
    Open --> Snoozed: Snooze 7 days
    Snoozed --> Open: the snooze is over (sweep)
    Acknowledged --> Snoozed: Snooze 7 days
    Open --> Noting: Resolve
    Acknowledged --> Noting: Resolve
    Noting --> Resolved: a typed note / No note
    Noting --> Open: a command or another dialogue's button
    Resolved --> [*]
```
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from conversations.kit.alert_text import (
    ACK,
    NO_NOTE,
    PREFIX,
    RESOLVE,
    SNOOZE,
    alert_buttons,
    alert_text,
    flag_goals,
)
from conversations.kit.alerting import UNREACHABLE, flag_parts, person_by_id, refresh_copies
from conversations.kit.buttons import Button, keyboard, parse_number
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext, known_person, resolve_language
from conversations.kit.reply import say
from conversations.kit.unusable import forget_on_other_buttons
from locales.translator import N_, Translator
from storage.models import (
    AuditEvent,
    Flag,
    FlagStatus,
    Match,
    Membership,
    Person,
    Program,
    Role,
)

log = logging.getLogger(__name__)

SNOOZE_FOR = timedelta(days=7)
NOTE_WINDOW = timedelta(minutes=10)
NOTE_LENGTH = 2000
RESOLVING = "alerts_resolving"  # user_data: {"flag": id, "at": timestamp}
cancellable(RESOLVING)
NOTE_GROUP = -3  # before resolve_language (-1) and every dialogue (0)


# --- buttons --------------------------------------------------------------------------------


class Refused(Exception):
    pass


def parse(data: str | None) -> tuple[str, int] | None:
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in (ACK, SNOOZE, RESOLVE, NO_NOTE):
        return None
    flag_id = parse_number(parts[2])
    return None if flag_id is None else (parts[1], flag_id)


async def _checked(
    session: AsyncSession, ctx: TandemContext, telegram_id: int, flag_id: int, tr: Translator
) -> tuple[Person, Flag, Match, Program, Person | None, Person | None]:
    """The presser (a coordinator of the flag's program) and the flag, or Refused."""
    refusal = Refused(tr.gettext("Only this program's coordinators can do that."))
    person = await known_person(session, ctx, telegram_id)
    flag = await session.get(Flag, flag_id, with_for_update=True)
    if person is None or person.status in UNREACHABLE or flag is None:
        raise refusal
    parts = await flag_parts(session, flag)
    if parts is None:
        raise refusal
    match, program, mentor, mentee = parts
    member = await session.exec(
        select(Membership.id).where(
            Membership.person_id == person.id,
            Membership.program_id == program.id,
            Membership.role == Role.COORDINATOR,
            col(Membership.completed_at).is_not(None),
        )
    )
    if member.first() is None:
        raise refusal
    return person, flag, match, program, mentor, mentee


def _audit(
    session: AsyncSession, person: Person, flag: Flag, action: str, now: datetime, **detail: Any
) -> None:
    session.add(
        AuditEvent(
            actor_id=person.id,
            actor_label="coordinator",
            action=f"flag.{action}",
            subject=f"flag:{flag.id}",
            detail={"match_id": flag.match_id, "rule": flag.rule, **detail},
            at=now,
        )
    )


def _handle(flag: Flag, person: Person, status: str, now: datetime) -> None:
    flag.status, flag.handled_by, flag.handled_at = status, person.id, now
    flag.snoozed_until = now + SNOOZE_FOR if status == FlagStatus.SNOOZED else None


# What each button does to a flag: its new status, the audit action, the answer.
CHANGES = {
    ACK: (FlagStatus.ACKNOWLEDGED, "acknowledge", N_("Acknowledged.")),
    SNOOZE: (FlagStatus.SNOOZED, "snooze", N_("Snoozed for 7 days.")),
    NO_NOTE: (FlagStatus.RESOLVED, "resolve", N_("Resolved.")),
}


def _change(session: AsyncSession, person: Person, flag: Flag, action: str, now: datetime) -> None:
    status, audited, _ = CHANGES[action]
    _handle(flag, person, status, now)
    detail: dict[str, Any] = {}
    if action == SNOOZE and flag.snoozed_until is not None:
        detail["until"] = flag.snoozed_until.isoformat()
    if action == NO_NOTE:
        detail["with_note"] = False
    _audit(session, person, flag, audited, now, **detail)


def _ask_note(ctx: TandemContext, flag: Flag, now: datetime) -> tuple[str, InlineKeyboardMarkup]:
    if ctx.user_data is not None:
        ctx.user_data[RESOLVING] = {"flag": flag.id, "at": now.timestamp()}
    tr = ctx.tr
    question = tr.gettext("Send a short note on how this was resolved, or tap “No note”.")
    return question, keyboard([[(tr.gettext("No note"), f"{PREFIX}:{NO_NOTE}:{flag.id}")]])


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr = ctx.tr
    parsed = parse(query.data)
    if parsed is None:
        await query.answer(tr.gettext("That button no longer works."))
        return
    action, flag_id = parsed
    waiting = (ctx.user_data or {}).get(RESOLVING)
    if ctx.user_data is not None and isinstance(waiting, dict) and waiting.get("flag") == flag_id:
        ctx.user_data.pop(RESOLVING)  # No note, or another button: no note is awaited now
    now = ctx.now()
    notice: str | None = None
    extra: tuple[str, InlineKeyboardMarkup | None] | None = None
    changed = False
    try:
        async with ctx.db.session() as session:
            person, flag, _, program, mentor, mentee = await _checked(
                session, ctx, update.effective_user.id, flag_id, tr
            )
            if flag.status == FlagStatus.RESOLVED:
                notice = tr.gettext("This flag is already resolved.")
            elif action == RESOLVE:
                extra = _ask_note(ctx, flag, now)
            else:
                _change(session, person, flag, action, now)
                notice, changed = tr.gettext(CHANGES[action][2]), True
            session.add(flag)
            handler = (
                person
                if flag.handled_by == person.id
                else await person_by_id(session, flag.handled_by)
            )
            goals = await flag_goals(session, [flag])
            text = alert_text(tr, flag, program, mentor, mentee, handler, goals)
            buttons = alert_buttons(tr, flag)
    except Refused as refusal:
        await query.answer(str(refusal))
        return
    await query.answer(notice)
    if action != RESOLVE:
        await _edit(query, text, buttons)
    if changed:
        pressed = query.message
        edited = (pressed.chat.id, pressed.message_id) if pressed is not None else None
        await refresh_copies(ctx.bot, ctx.db, flag_id, edited=edited)
    if extra is not None:
        await say(update, extra[0], extra[1])


async def _edit(query: CallbackQuery, text: str, buttons: list[list[Button]]) -> None:
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=keyboard(buttons)
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            log.info("could not edit an alert: %s", error.message)


async def take_note(update: Update, ctx: TandemContext) -> None:
    """The text after Resolve: the note. Anything else passes on to the other handlers."""
    data = ctx.user_data
    message, user = update.effective_message, update.effective_user
    if not data or RESOLVING not in data or message is None or user is None or message.text is None:
        return
    waiting = data.pop(RESOLVING)
    now = ctx.now()
    if (
        message.text.startswith("/")
        or now.timestamp() - float(waiting.get("at", 0)) > NOTE_WINDOW.total_seconds()
    ):
        return
    await resolve_language(update, ctx)
    tr = ctx.tr
    note = message.text.strip()[:NOTE_LENGTH]
    try:
        async with ctx.db.session() as session:
            person, flag, _, program, mentor, mentee = await _checked(
                session, ctx, user.id, int(waiting.get("flag", 0)), tr
            )
            if flag.status == FlagStatus.RESOLVED:
                raise Refused(tr.gettext("This flag is already resolved."))
            _handle(flag, person, FlagStatus.RESOLVED, now)
            flag.note = note
            session.add(flag)
            _audit(session, person, flag, "resolve", now, with_note=True)
            goals = await flag_goals(session, [flag])
            text = alert_text(tr, flag, program, mentor, mentee, person, goals)
    except Refused as refusal:
        await say(update, str(refusal))
        raise ApplicationHandlerStop from None
    await say(update, text, keyboard(alert_buttons(tr, flag)))
    await refresh_copies(ctx.bot, ctx.db, flag.id or 0)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The buttons, for group 0 before onboarding; the note's are `note_handlers`."""
    return [CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:")]


def note_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """For `NOTE_GROUP`: the note, and the end of the wait for one when a command is sent
    (take_note lets it pass on) or another dialogue's button is pressed."""
    return [
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT, take_note),
        forget_on_other_buttons(RESOLVING, PREFIX),
    ]
