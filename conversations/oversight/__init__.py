"""A coordinator's views of their programs' matches: /flags (the open flags, the most
severe first), /matches (every match with its health mark, filterable) and /match <id>
(one match's timeline, newest first).

```mermaid
stateDiagram-v2
    [*] --> Flags: /flags, ov:fl:<page>
    [*] --> Matches: /matches, ov:ms:<filter>:<program>:<page>
    [*] --> Timeline: /match <id>, ov:m:…, ov:mt:<match id>
    Flags --> Alert: ov:f:<flag id> (the alert, with its own buttons)
    Matches --> Timeline: a match
    Timeline --> Matches: back to the list
    Flags --> [*]
    Matches --> [*]
    Timeline --> [*]
```

No conversation state: every view is one step, read again from the database.

Buttons carry what a view needs, never trusted:

- ``ov:fl:<page>`` a page of /flags; ``ov:f:<flag id>`` sends that flag's alert (its
  buttons are conversations/alerts.py's, which check the presser again);
- ``ov:ms:<filter>:<program id, 0 for all>:<page>`` a page of /matches, the filter one of
  `FILTERS`;
- ``ov:m:<match id>:<page>:<filter>:<program id>:<list page>`` a page of a match's
  timeline, with the list its "back" button returns to; ``ov:mt:<match id>`` (an alert's
  Show match, conversations/kit/buttons.py) its first page as a new message.

Every press is checked again against the person pressing: only programs they coordinate
are shown, a program filter must be one of theirs, and a match or flag outside them gets
the same answer as one that does not exist. Views only read: nothing changes, so they are
not audit events (acting on a flag is, in conversations/alerts.py).

What a coordinator reads in a timeline: check-in answers (notes addressed to them
included), meeting logs with their notes, goals achieved, flags with their evidence and
what was done about them. Reflections show only whether they were answered: they are the
participant's own journal, read in exports for program evaluation, not on a phone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.kit.actor import Refused
from conversations.kit.buttons import (
    TIMELINE_NEW,
    keyboard,
    parse_number,
)
from conversations.kit.context import TandemContext
from conversations.kit.joining import reprompt
from conversations.kit.reply import say
from conversations.kit.screens import edit_in_place
from conversations.kit.unusable import describe_unusable
from conversations.oversight.common import (
    ALL,
    FILTER_CODES,
    PREFIX,
    Look,
    View,
    look_of,
    parse_numbers,
)
from conversations.oversight.flags import (
    flag_view,
    flags_view,
)
from conversations.oversight.matches import (
    matches_view,
)
from conversations.oversight.timeline import (
    timeline_view,
)


async def _decide(look: Look, parts: list[str]) -> View | None:
    """The view a button asks for, or None when its data is not one of ours."""
    action, args = parts[1], parts[2:]
    if action == "fl" and len(args) == 1 and (numbers := parse_numbers(args)):
        return await flags_view(look, numbers[0])
    if action == "f" and len(args) == 1 and (numbers := parse_numbers(args)):
        return await flag_view(look, numbers[0])
    if (
        action == "ms"
        and len(args) == 3
        and args[0] in FILTER_CODES
        and (numbers := parse_numbers(args[1:]))
    ):
        return await matches_view(look, args[0], numbers[0], numbers[1])
    if action == TIMELINE_NEW and len(args) == 1 and (numbers := parse_numbers(args)):
        view = await timeline_view(look, numbers[0], 0, (ALL, 0, 0))
        return replace(view, new=True)  # from an alert: the alert stays as it was
    if action == "m" and len(args) == 5 and args[2] in FILTER_CODES:
        numbers = parse_numbers([*args[:2], *args[3:]])
        if numbers:
            match_id, page, program_id, list_page = numbers
            return await timeline_view(look, match_id, page, (args[2], program_id, list_page))
    return None


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    try:
        async with ctx.db.session() as session:
            look = await look_of(session, update, ctx)
            view = await _decide(look, parts) if len(parts) >= 3 else None
    except Refused as refusal:
        await query.answer(str(refusal))
        return
    if view is None:
        await query.answer(describe_unusable(ctx.tr, update, expects_text=False))
        return
    rows = [row for row in view.rows if row]
    markup = keyboard(rows) if rows else None
    if view.new:
        await query.answer()
        await say(update, view.text, markup)
    elif not await edit_in_place(query, view.text, markup, None):  # too old to edit: a new message
        await say(update, view.text, markup)


async def _command(
    update: Update, ctx: TandemContext, decide: Callable[[Look], Awaitable[View]]
) -> None:
    try:
        async with ctx.db.session() as session:
            look = await look_of(session, update, ctx)
            view = await decide(look)
    except Refused as refusal:
        await say(update, str(refusal))
        await reprompt(update, ctx)
        return
    rows = [row for row in view.rows if row]
    await say(update, view.text, keyboard(rows) if rows else None)


async def flags_command(update: Update, ctx: TandemContext) -> None:
    await _command(update, ctx, lambda look: flags_view(look, 0))


async def matches_command(update: Update, ctx: TandemContext) -> None:
    await _command(update, ctx, lambda look: matches_view(look, ALL, 0, 0))


async def match_command(update: Update, ctx: TandemContext) -> None:
    args = ctx.args or []
    match_id = parse_number(args[0].lstrip("#")) if len(args) == 1 else None

    async def decide(look: Look) -> View:
        if match_id is None:
            raise Refused(
                look.tr.gettext(
                    "Send the match number after the command, for example /match 12. "
                    "/matches lists your matches with their numbers."
                )
            )
        return await timeline_view(look, match_id, 0, (ALL, 0, 0))

    await _command(update, ctx, decide)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take these commands."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("flags", flags_command, private),
        CommandHandler("matches", matches_command, private),
        CommandHandler("match", match_command, private),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]
