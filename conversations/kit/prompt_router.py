"""The dispatcher's prompt renderer: each prompt's first message and reminder rendered by
the dialogue its kind belongs to (bot/app.py names them), so every kind the dispatcher
materialises has a renderer, and a dialogue never imports another to share the job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.kit.reply import OutgoingMessage
from storage.models import Person, Prompt, PromptKind


class KindRenderer(Protocol):
    """What a dialogue module offers for the prompts it owns."""

    async def render_prompt(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> OutgoingMessage: ...

    async def render_reminder(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> OutgoingMessage: ...


class PromptRouter:
    """Routes by `Prompt.kind`; every `PromptKind` must have a renderer."""

    def __init__(self, routes: Mapping[str, KindRenderer]) -> None:
        missing = [kind for kind in PromptKind if kind not in routes]
        if missing:
            raise ValueError(f"no renderer for prompt kinds {missing}")
        self.routes = dict(routes)

    async def render_prompt(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> OutgoingMessage:
        return await self.routes[prompt.kind].render_prompt(session, prompt, person)

    async def render_reminder(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> OutgoingMessage:
        return await self.routes[prompt.kind].render_reminder(session, prompt, person)
