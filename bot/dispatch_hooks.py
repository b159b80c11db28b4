"""What bot/app.py hands the dispatcher (`bot.dispatch`): the renderers that word its
messages and the hooks it calls for coordinators' alerts, digests and certificates. Each
is implemented above the bot layer's view of them (conversations), so the dispatcher
depends on these shapes only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot

from conversations.kit.buttons import Markup
from storage.db import Database
from storage.models import BroadcastDelivery, Person, Prompt


class Rendered(Protocol):
    """A message ready to send (conversations.kit.reply.OutgoingMessage)."""

    @property
    def text(self) -> str: ...

    @property
    def markup(self) -> Markup | None: ...


class PromptRenderer(Protocol):
    """Turns a prompt into the participant's message; conversations.kit.prompt_router
    implements it, each kind rendered by its dialogue. A renderer that also has
    ``render_prompts(session, [(prompt, person), …])`` (a message or an exception for
    each, in order) words a whole batch at once; that one is used when present."""

    async def render_prompt(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> Rendered: ...

    async def render_reminder(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> Rendered: ...


class AlertHook(Protocol):
    """Tells coordinators about flags: the daily sweep and people who became unreachable.
    conversations.kit.alerting implements it; bot/app.py hands it to the dispatcher."""

    async def sweep(self, bot: Bot, database: Database, now: datetime) -> int: ...

    async def unreachable_alerts(
        self, bot: Bot, database: Database, person_ids: Sequence[int], now: datetime
    ) -> int: ...


class BroadcastRenderer(Protocol):
    """Words a coordinator's broadcast for one recipient; conversations.broadcast."""

    async def render_delivery(
        self, session: AsyncSession, delivery: BroadcastDelivery, person: Person
    ) -> Rendered | None: ...


class DigestHook(Protocol):
    """Sends the coordinators' weekly digests that fell due; conversations.digest."""

    async def send_due(self, bot: Bot, database: Database, now: datetime) -> int: ...


class ClosureHook(Protocol):
    """What follows a match's closing: conversations.kit.lifecycle sends the certificates
    of those who completed the program that were not sent yet."""

    async def send_certificates(self, bot: Bot, database: Database, now: datetime) -> int: ...
