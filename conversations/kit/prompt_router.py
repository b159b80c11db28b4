"""The dispatcher's prompt renderer: each prompt's first message and reminder rendered by
the dialogue its kind belongs to (bot/app.py names them), so every kind the dispatcher
materialises has a renderer, and a dialogue never imports another to share the job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    async def render_prompts(
        self, session: AsyncSession, items: Sequence[tuple[Prompt, Person]]
    ) -> list[OutgoingMessage | Exception]:
        """A batch of first messages, in the order of `items`: the prompts of each dialogue
        together through its ``render_prompts`` when it has one (what they read is
        fetched once for the batch), else one by one. A prompt that cannot be worded gives
        its exception in its place."""
        rendered: list[OutgoingMessage | Exception | None] = [None] * len(items)
        groups: dict[int, list[int]] = {}
        for index, (prompt, _) in enumerate(items):
            groups.setdefault(id(self.routes[prompt.kind]), []).append(index)
        for indexes in groups.values():
            route = self.routes[items[indexes[0]][0].kind]
            batch = getattr(route, "render_prompts", None)
            group = [items[index] for index in indexes]
            if batch is not None:
                results = await batch(session, group)
            else:
                results = [await _one(route, session, prompt, person) for prompt, person in group]
            for index, result in zip(indexes, results, strict=True):
                rendered[index] = result
        return [item for item in rendered if item is not None]

    async def render_reminder(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> OutgoingMessage:
        return await self.routes[prompt.kind].render_reminder(session, prompt, person)


async def _one(
    route: KindRenderer, session: AsyncSession, prompt: Prompt, person: Person
) -> OutgoingMessage | Exception:
    try:
        return await route.render_prompt(session, prompt, person)
    except Exception as error:  # fails alone, as in a batch
        return error
