"""The program picker of the coordinator commands about one program (/export, /report,
/dashboard, and /endmatch's coordinator answer): the coordinator's only program at once,
or a paged choice of their programs first.

```mermaid
stateDiagram-v2
    [*] --> Refused: not a coordinator (onboarding's question is asked again)
    [*] --> Program: coordinates one program
    [*] --> Choice: coordinates several
    Choice --> Choice: <prefix>:page:0:<page>
    Choice --> Program: <prefix>:prog:<program id>
    Program --> [*]
    Refused --> [*]
```

It keeps no conversation state: every step is in the buttons' data.

Buttons carry ``<prefix>:<action>:<program id>[:<number>]``: ``prog`` picks a program,
``page`` pages the choice, and each command adds its own actions. The data is never
trusted: `program_for` checks again, on every press, that the person pressing
coordinates that program (an admin who did not join it as coordinator does not).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from conversations.kit.actor import Actor, Task, current_actor
from conversations.kit.buttons import (
    CHOICES_PER_PAGE,
    Button,
    keyboard,
    page_buttons,
    page_of,
    parse_number,
)
from conversations.kit.context import TandemContext
from conversations.kit.joining import reprompt
from conversations.kit.reply import say
from conversations.kit.text import NAME_CLIP, clip
from storage.models import Program

PICK, PAGE = "prog", "page"


def data(prefix: str, action: str, program_id: int | None, *args: object) -> str:
    return ":".join([prefix, action, str(program_id or 0), *(str(arg) for arg in args)])


@dataclass(frozen=True)
class Press:
    """A button's data, its numbers checked (a forged or garbled press parses to None)."""

    action: str
    program_id: int
    number: int | None = None


def parse(raw: str | None) -> Press | None:
    parts = (raw or "").split(":")
    if len(parts) not in (3, 4):
        return None
    program_id = parse_number(parts[2])
    number = parse_number(parts[3]) if len(parts) == 4 else None
    if program_id is None or (len(parts) == 4 and number is None):
        return None
    return Press(parts[1], program_id, number)


def coordinates(actor: Actor, program_id: int) -> bool:
    """A coordinator of this program (admins are not, unless they joined it as one)."""
    return actor.may(Task.PEOPLE, program_id)


async def program_for(
    session: AsyncSession, update: Update, ctx: TandemContext, program_id: int
) -> tuple[Actor, Program | None]:
    """Who is asking, and the program if they coordinate it."""
    actor = await current_actor(session, update, ctx)
    program = await session.get(Program, program_id) if coordinates(actor, program_id) else None
    return actor, program


async def show(update: Update, text: str, rows: list[list[Button]]) -> None:
    """In place of the message whose button was pressed, or as a new message."""
    rows = [row for row in rows if row]
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.answer()
        try:
            await query.edit_message_text(
                text, parse_mode=ParseMode.HTML, reply_markup=keyboard(rows) if rows else None
            )
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():  # a double tap: it shows this already
                return
    await say(update, text, keyboard(rows) if rows else None)


async def refuse(update: Update, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    else:
        await say(update, text)


async def choose(
    update: Update,
    ctx: TandemContext,
    *,
    prefix: str,
    page: int,
    question: str,
    one: Callable[[Program], Awaitable[None]],
) -> None:
    """`one(program)` for a coordinator's only program; otherwise `question` with a page
    of their programs as buttons. Anyone else is told the command is for coordinators."""
    tr = ctx.tr
    async with ctx.db.session() as session:
        actor = await current_actor(session, update, ctx)
        programs = [
            program
            for program_id in sorted(actor.coordinates)
            if (program := await session.get(Program, program_id)) is not None
        ]
    if not programs:
        await refuse(update, tr.gettext("This command is for program coordinators."))
        await reprompt(update, ctx)
        return
    if len(programs) == 1:
        await one(programs[0])
        return
    shown, page, pages = page_of(programs, page, CHOICES_PER_PAGE)
    rows = [[(clip(program.name, NAME_CLIP), data(prefix, PICK, program.id))] for program in shown]
    rows.append(page_buttons(tr, page, pages, partial(data, prefix, PAGE, 0)))
    await show(update, question, rows)
