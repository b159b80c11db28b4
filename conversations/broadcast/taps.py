"""The buttons: each press checked against the draft's token and the program's
coordinators, then choosing, editing, sending or cancelling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler

from conversations.broadcast.common import (
    AUDIENCES,
    Press,
    Step,
    current_draft,
    drop_draft,
    parse_press,
)
from conversations.broadcast.delivery import message_text
from conversations.broadcast.screens import (
    audience_screen,
    draft_audience,
    first_screen,
    nobody_text,
    preview_screen,
    writing_screen,
)
from conversations.kit.actor import Refused, current_actor
from conversations.kit.buttons import parse_number
from conversations.kit.context import TandemContext
from conversations.kit.screens import Screen, Turn, show
from conversations.kit.unusable import describe_unusable
from storage.broadcasts import create_broadcast
from storage.models import Program


async def choose_program(turn: Turn, draft: dict[str, Any]) -> Step:
    return await audience_screen(turn)


async def choose_audience(turn: Turn, draft: dict[str, Any]) -> Step:
    if turn.args[0] not in AUDIENCES:
        raise turn.stale()
    draft.update(program=turn.program_id, audience=turn.args[0])
    audience = await draft_audience(turn, draft)
    if not audience.recipients:
        screen, state = await audience_screen(turn)
        screen.notice = turn.tr.gettext("Nobody in this audience can receive a message right now.")
        return screen, state
    if draft.get("text"):  # given with the command
        return await preview_screen(turn, draft, audience)
    return await writing_screen(turn, draft, audience)


def _ready(turn: Turn, draft: dict[str, Any]) -> bool:
    """The draft is complete and about this press's program."""
    return (
        draft.get("program") == turn.program_id
        and draft.get("audience") in AUDIENCES
        and bool(draft.get("text"))
    )


async def edit_text(turn: Turn, draft: dict[str, Any]) -> Step:
    if not _ready(turn, draft):
        raise turn.stale()
    return await writing_screen(turn, draft, await draft_audience(turn, draft))


async def send(turn: Turn, draft: dict[str, Any]) -> Step:
    if not _ready(turn, draft):
        raise turn.stale()
    drop_draft(turn.ctx)  # a second tap on Send finds no draft
    created = await create_broadcast(
        turn.session,
        program_id=turn.program_id,
        role=AUDIENCES[draft["audience"]],
        text=draft["text"],
        author_id=turn.actor.person_id,
        actor_label=turn.actor.label(turn.program_id),
        now=turn.ctx.now(),
    )
    if created is None:
        return Screen(nobody_text(turn.tr)), ConversationHandler.END
    tr, (_, count) = turn.tr, created
    sending = tr.ngettext(
        "📤 Sending to {n} person… Send /broadcast later to see how it went.",
        "📤 Sending to {n} people… Send /broadcast later to see how it went.",
        count,
    )
    text = message_text(tr, turn.program.name, draft["text"])
    return Screen(f"<blockquote>{text}</blockquote>\n\n{sending}"), ConversationHandler.END


async def cancel_draft(turn: Turn, draft: dict[str, Any]) -> Step:
    drop_draft(turn.ctx)
    return Screen(turn.tr.gettext("Okay, nothing was sent.")), ConversationHandler.END


Action = Callable[[Turn, dict[str, Any]], Awaitable[Step]]
ACTIONS: dict[str, Action] = {
    "prog": choose_program,
    "to": choose_audience,
    "edit": edit_text,
    "send": send,
    "no": cancel_draft,
}


async def _decide_press(
    session: AsyncSession, update: Update, ctx: TandemContext, press: Press
) -> Step:
    stale = Refused(describe_unusable(ctx.tr, update, expects_text=False))
    if press.action == "page":  # bc:page:0:<token>:<page>, a page of the program choice
        page = parse_number(press.argument)
        draft = current_draft(ctx)
        if page is None or draft is None or draft.get("token") != press.token:
            raise stale
        return await first_screen(session, update, ctx, page)
    if press.action not in ACTIONS:
        raise stale
    actor = await current_actor(session, update, ctx)
    program = (
        await session.get(Program, press.program_id)
        if press.program_id in actor.coordinates  # a coordinator of it; admins are not
        else None
    )
    if program is None:
        raise Refused(ctx.tr.gettext("Only this program's coordinators can do that."))
    draft = current_draft(ctx)
    if draft is None or draft.get("token") != press.token:
        raise stale
    turn = Turn(session, update, ctx, actor, program, (press.argument,))
    return await ACTIONS[press.action](turn, draft)


async def on_button(update: Update, ctx: TandemContext) -> str | int | None:
    query = update.callback_query
    assert query is not None
    press = parse_press(query.data)
    try:
        if press is None:
            raise Refused(describe_unusable(ctx.tr, update, expects_text=False))
        async with ctx.db.session() as session:
            screen, state = await _decide_press(session, update, ctx, press)
    except Refused as refusal:
        await query.answer(str(refusal))
        return None
    await show(update, ctx, screen)
    return state
