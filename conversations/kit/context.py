"""The callback context every Tandem handler receives: PTB's, plus the services, the
person who sent the update and their language, each read once per update.

PTB builds one context per update and hands it to every handler group in turn, so what
the first group (bot/app.py's `arrive`) reads is there for the others: `remember_visitor`
keeps the sender's `Person` on the context, and `known_person` gives it to each later
session without a statement. The row is read at the update's start, as the handlers read
it before; a handler that changes it changes the copy every later session gets.

Settings reach dialogues here, as `ctx.services.settings`: bot/app.py puts its validated
`bot.config.Settings` in `bot_data`, and dialogues see only the `DialogueSettings` they read,
so nothing under conversations/ imports bot/. So do the hand-overs between dialogues
(`Joining`, `TextTaker`): bot/app.py names the dialogues that provide them, and
conversations/kit/joining.py is how the others call them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from locales.translator import Translator, normalise_language, translator
from storage.clock import Clock
from storage.db import Database
from storage.models import Person
from storage.people import person_by_telegram_id

SERVICES = "services"
LANGUAGE = "language"  # user_data key: the language chosen before a Person exists
# user_data key: the person this Telegram user was when last seen. Finding nobody (or
# someone else) under their Telegram id later means they were erased meanwhile, so what
# the bot holds for them is dropped (bot/forget.py).
PERSON_ID = "person_id"


class DialogueSettings(Protocol):
    """The settings dialogues read (bot.config.Settings provides them)."""

    @property
    def default_locale(self) -> str: ...

    @property
    def default_timezone(self) -> str: ...

    @property
    def admin_telegram_ids(self) -> frozenset[int]: ...


class Joining(Protocol):
    """Onboarding, as the other dialogues need it (conversations.onboarding provides it)."""

    async def locate(
        self, session: AsyncSession, update: Update, ctx: TandemContext
    ) -> object | None:
        """Where this user is in joining a program; None when they are not joining."""
        ...

    async def reprompt(self, update: Update, ctx: TandemContext) -> None:
        """Ask the current joining question again, if there is one."""
        ...

    async def on_input(self, update: Update, ctx: TandemContext) -> str | int:
        """Answer the joining question with this message or tap."""
        ...


class TextTaker(Protocol):
    """A dialogue that may be waiting for a typed answer outside its own conversation."""

    async def take_text(self, update: Update, ctx: TandemContext) -> bool:
        """Use the message and say True, or leave it and say False."""
        ...


@dataclass(frozen=True)
class Services:
    settings: DialogueSettings
    database: Database
    clock: Clock
    joining: Joining
    text_takers: tuple[TextTaker, ...]  # offered a stray message, in this order


class TandemContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], dict[str, Any]]):
    """`ctx.tr` is the participant's translator; `ctx.db`, `ctx.now()` the services."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self.tr: Translator = translator(self.services.settings.default_locale)
        self.visitor: Person | None = None  # the sender, once read (see `remember_visitor`)
        self.visited = False  # whether the sender was looked up for this update

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES]  # type: ignore[no-any-return]

    @property
    def db(self) -> Database:
        return self.services.database

    def now(self) -> datetime:
        return self.services.clock()


def remember_visitor(ctx: TandemContext, person: Person | None) -> None:
    """The update's sender as read by the first handler group (None: not known yet)."""
    ctx.visitor, ctx.visited = person, True


async def known_person(
    session: AsyncSession, ctx: TandemContext, telegram_id: int
) -> Person | None:
    """The person with this Telegram id, in `session`. The update's sender comes from the
    context without a statement (merged into the session as the row read when the update
    arrived, with whatever this update changed since); anyone else, a sender not known
    then (they may have joined since) or a copy a failed transaction left unusable is read.
    """
    cached = ctx.visitor
    state = sa.inspect(cached) if cached is not None else None
    sender = state is not None and state.dict.get("telegram_id") == telegram_id
    if state is not None and sender and not state.unloaded:  # a rollback unloads it
        if state.session is session:
            return cached
        if not state.modified:
            person = await session.merge(cached, load=False)
            ctx.visitor = person
            return person
    found = await person_by_telegram_id(session, telegram_id)
    if sender and found is not None:
        ctx.visitor = found
    return found


async def resolve_language(update: object, ctx: TandemContext) -> None:
    """Runs before the dialogues (and in the groups that answer earlier, and in the error
    handler): the participant's stored language (as read when the update arrived), else
    the one chosen during onboarding, else Telegram's suggestion (also when the database
    cannot be read), else the default."""
    if not isinstance(update, Update) or update.effective_user is None:
        return
    user = update.effective_user
    if ctx.visited:
        person = ctx.visitor
    else:
        try:
            async with ctx.db.session() as session:
                person = await person_by_telegram_id(session, user.id)
        except SQLAlchemyError:
            # The database is out: answer in Telegram's language all the same (the failure
            # itself is reported once, by the handler that needed the database).
            person = None
    default = ctx.services.settings.default_locale
    if person is not None:
        if ctx.user_data is not None and ctx.user_data.get(PERSON_ID) != person.id:
            ctx.user_data[PERSON_ID] = person.id
        language = person.locale
    elif ctx.user_data and LANGUAGE in ctx.user_data:
        language = ctx.user_data[LANGUAGE]
    else:
        language = normalise_language(user.language_code, default)
    ctx.tr = translator(language)
