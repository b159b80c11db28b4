"""The consent re-ask: someone who agreed to an older consent wording is shown the new
one once, at their next interaction, and agrees to it or declines (which leads to the
erase question of /deleteme).

```mermaid
stateDiagram-v2
    [*] --> Current: any update from someone whose consent is the current version
    [*] --> AskedBefore: an older version, and they were already asked (audit event)
    [*] --> Asked: an older version, first time (consent.asked recorded)
    Asked --> Agreed: cst:yes (version and time stored, consent.given recorded)
    Asked --> EraseQuestion: cst:no (the /deleteme question, its buttons)
    Current --> [*]
    AskedBefore --> [*]
    Agreed --> [*]
    EraseQuestion --> [*]: del:yes erases, del:no keeps (conversations.deleteme)
```

The check runs before every dialogue (`CONSENT_GROUP`) and lets the update go on to the
dialogue it was meant for, so nothing the person sent is lost. Once a person is known to
be current or asked, `user_data` remembers it, so later updates cost no query. Whether
someone was asked is stored as an audit event, the truth that survives a lost cache.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select
from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.kit.buttons import keyboard
from conversations.kit.consent import CONSENT_VERSION, consent_text
from conversations.kit.context import TandemContext, known_person
from conversations.kit.departure import erase_question
from locales.translator import translator
from storage.models import AuditEvent, Person

log = logging.getLogger(__name__)

CONSENT_GROUP = -5  # after edits (-10); before the typed readers (-4…-2) and dialogues (0)
PREFIX = "cst"
YES, NO = f"{PREFIX}:yes", f"{PREFIX}:no"
SEEN = "consent_seen"  # user_data key: the consent version this person is settled with
ASKED = "consent.asked"


async def check(update: object, ctx: TandemContext) -> None:
    """Ask the new consent once, to someone who agreed to an older one."""
    if not isinstance(update, Update) or update.effective_user is None:
        return
    if update.message is None and update.callback_query is None:
        return  # not something the person did in the chat (a block, an edit…)
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or ctx.user_data is None:
        return
    if ctx.user_data.get(SEEN) == CONSENT_VERSION:
        return
    try:
        person = await _due(ctx, update.effective_user.id)
    except SQLAlchemyError:
        return  # the database is out: the handler that answers reports it; ask next time
    ctx.user_data[SEEN] = CONSENT_VERSION
    if person is None:
        return
    tr = translator(person.locale)
    text = tr.gettext("<b>Our consent wording has changed.</b> Please read it again.")
    buttons = [[(tr.gettext("Yes, I agree"), YES)], [(tr.gettext("No, erase my data"), NO)]]
    try:
        await chat.send_message(
            f"{text}\n\n{consent_text(tr)}",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons),
        )
    except TelegramError as error:  # recorded as asked: the dialogue's reply decides the rest
        log.warning("the consent re-ask was not delivered: %s", type(error).__name__)


async def _due(ctx: TandemContext, telegram_id: int) -> Person | None:
    """The person, when they are to be asked now (recording that they were); else None.
    Raises SQLAlchemyError when the database cannot be read, without marking anything."""
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, telegram_id)
        if person is None or person.consent_version == CONSENT_VERSION:
            return None  # current, or a stranger (onboarding asks the current wording)
        subject = f"person:{person.id}"
        earlier = await session.exec(
            select(AuditEvent.detail).where(
                AuditEvent.action == ASKED, AuditEvent.subject == subject
            )
        )
        if any(detail.get("version") == CONSENT_VERSION for detail in earlier.all()):
            return None
        session.add(
            AuditEvent(
                actor_id=person.id,
                actor_label="tandem",
                action=ASKED,
                subject=subject,
                detail={"version": CONSENT_VERSION, "agreed": person.consent_version},
                at=ctx.now(),
            )
        )
        return person


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr = ctx.tr
    if query.data == NO:
        await query.answer()
        text, markup = erase_question(tr)
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        return
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        if person is not None and person.consent_version != CONSENT_VERSION:
            now = ctx.now()
            person.consent_version, person.consent_at = CONSENT_VERSION, now
            session.add(person)
            session.add(
                AuditEvent(
                    actor_id=person.id,
                    actor_label="participant",
                    action="consent.given",
                    subject=f"person:{person.id}",
                    detail={"version": CONSENT_VERSION},
                    at=now,
                )
            )
    await query.answer()
    if person is None:
        await query.edit_message_text(
            tr.gettext("That button belongs to an earlier question, so it no longer works.")
        )
        return
    await query.edit_message_text(tr.gettext("Thank you: your consent is up to date."))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:(yes|no)$")]
