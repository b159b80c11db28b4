"""The end of a match, as participants and coordinators live it: the closure notice
(the planned end's date, "extend?", a short reflection), the closure survey and the
outcome follow-ups, and the coordinator's decision on an extension both asked for.

The dispatcher sends these prompts with `render_prompt` (the prompt service of
conversations/kit/prompt.py, which words each kind's header) and their one reminder with
`render_reminder`; their buttons are the check-ins' ``ci:`` taps (the same service
stores each answer), and what an answer does to the match is
conversations/kit/lifecycle.py. This package adds the reminder, typed answers to their
open questions, and the ``ext:`` decision (`extension`).

```mermaid
stateDiagram-v2
    [*] --> Notice: notice_weeks before the planned end
    Notice --> Agreed: both tap Yes (extend)
    Notice --> Declined: one taps No
    Agreed --> Extended: a coordinator taps Approve (planned end moves)
    Agreed --> Declined: a coordinator taps Decline
    Extended --> Notice: before the new planned end
    Declined --> Survey: the planned end (closing)
    Notice --> Survey: the planned end, or an early end
    Survey --> Closed: both answered, or the window is over
    Closed --> FollowUp: months later (mentees)
    FollowUp --> [*]
```
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations import engine
from conversations.closure.extension import on_decision
from conversations.kit.buttons import keyboard
from conversations.kit.context import TandemContext
from conversations.kit.lifecycle import EXTENSION_PREFIX
from conversations.kit.prompt import (
    RESUME,
    instrument_of,
    render_prompt,
    render_prompts,
    take_typed,
)
from conversations.kit.reply import OutgoingMessage
from locales.translator import translator
from storage.answers import open_prompt, stored_answers
from storage.models import Person, Prompt, PromptKind

KINDS = (PromptKind.CLOSURE_NOTICE, PromptKind.CLOSURE, PromptKind.FOLLOWUP)

__all__ = ["KINDS", "handlers", "render_prompt", "render_prompts", "render_reminder", "take_text"]


async def render_reminder(session: AsyncSession, prompt: Prompt, person: Person) -> OutgoingMessage:
    """The one reminder: what is waiting, and a button to the next question."""
    tr = translator(person.locale)
    assert prompt.id is not None
    instrument = await instrument_of(session, prompt)
    title = tr.gettext(instrument.title) if instrument else ""
    started = bool(await stored_answers(session, prompt.id))
    lines = [tr.gettext("Just a gentle reminder: “{title}” is still waiting for you.", title=title)]
    if started:
        lines.append(tr.gettext("You're partway through: I'll pick up where you left off."))
    label = tr.gettext("Continue") if started else tr.gettext("Answer now")
    markup = keyboard([[(label, engine.callback(prompt.id, RESUME))]])
    return OutgoingMessage("\n\n".join(lines), markup)


async def take_text(update: Update, ctx: TandemContext) -> bool:
    """A message while a closure notice, survey or follow-up waits for a typed answer
    (and no other prompt asked something since it came). False when none is waiting."""
    return await take_typed(update, ctx, _open)


async def _open(session: AsyncSession, person_id: int, now: datetime) -> Prompt | None:
    return await open_prompt(session, person_id, now, KINDS)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The taps on these prompts are the check-ins' (``ci:``); typed answers come through
    onboarding's catch-all, which calls `take_text`."""
    return [CallbackQueryHandler(on_decision, pattern=rf"^{EXTENSION_PREFIX}:")]
