"""Coordinator commands: /invite, /pair and /people for a program's coordinators, and
/newprogram (plus /invite, and /people with erasing someone, in any program) for Tandem's
admins.

```mermaid
stateDiagram-v2
    [*] --> Choice: /invite, /pair, /people (coordinates several programs)
    [*] --> Waiting: /invite, /pair, /people (one program), or any co:… button
    Choice --> Choice: co:pick:0:<task>:<page>
    Choice --> Waiting: co:inv / co:pair / co:ppl:<program>
    Waiting --> Waiting: a button (invitations, pairing, people), or text explained
    Waiting --> Reason: co:erq (erasing someone: the reason is typed next)
    Reason --> [*]: the reason (the person is erased)
    Waiting --> [*]: a step that waits for nothing, /cancel, or onboarding takes the text
```

Each sub-flow is its own module: invitations (/invite), pairing (/pair), people
(/people) and erasing someone from it (erasing), programs (/newprogram). This one checks
who presses and dispatches.

Buttons carry everything a step needs, as `co:<action>:<program id>[:<argument>…]`, so a
restart or a lost conversation state loses nothing. Callback data is therefore never
trusted: every press is checked again against the person pressing it — the program in
the data must be one they coordinate (any program, for an admin's invitations, /people
and erasing), and the
people named in it must be in that program in the expected role. Each step decides in
one transaction and sends once it has committed. The conversation state only records
that a tap is expected, so that text typed instead gets an explanation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.coordinator.erasing import (
    REASON,
    ask_reason,
    erase_choice,
    erase_terms,
    forget_erasing,
    not_a_reason,
    take_reason,
)
from conversations.coordinator.invitations import invite_menu, make_invites
from conversations.coordinator.pairing import (
    cancel_pair,
    choose_mentee,
    choose_mentor,
    confirm_pair,
    make_pair,
    pair_menu,
)
from conversations.coordinator.people import people_page
from conversations.coordinator.press import PREFIX, Press, data, parse_press
from conversations.coordinator.programs import new_program
from conversations.kit.actor import (
    ADMIN_TASKS,
    Refused,
    Task,
    current_actor,
    not_a_coordinator,
    programs_for,
)
from conversations.kit.buttons import CHOICES_PER_PAGE, page_buttons, page_of, parse_number
from conversations.kit.context import TandemContext
from conversations.kit.joining import reprompt
from conversations.kit.reply import say
from conversations.kit.screens import WAITING, Screen, Turn, cancel, not_a_tap, show
from conversations.kit.text import NAME_CLIP, clip
from conversations.kit.unusable import describe_unusable
from storage.models import Program

NAME = "coordinator"


FIRST_ACTION = {Task.INVITE: "inv", Task.PAIR: "pair", Task.ROSTER: "ppl"}


async def _open(
    session: AsyncSession, update: Update, ctx: TandemContext, task: Task, page: int = 0
) -> Screen:
    """A command's first screen: its program's menu, or a choice of program."""
    actor = await current_actor(session, update, ctx)
    programs = await programs_for(session, actor, task)
    if not programs:
        if actor.admin and task in ADMIN_TASKS:
            return Screen(
                ctx.tr.gettext(
                    "There are no programs yet. Create one with /newprogram followed by its name."
                )
            )
        raise not_a_coordinator(ctx.tr)
    if len(programs) == 1:
        turn = Turn(session, update, ctx, actor, programs[0])
        return await ACTIONS[FIRST_ACTION[task]][1](turn)
    shown, page, pages = page_of(programs, page, CHOICES_PER_PAGE)
    rows = [
        [(clip(program.name, NAME_CLIP), data(FIRST_ACTION[task], program.id))] for program in shown
    ]
    rows.append(page_buttons(ctx.tr, page, pages, lambda number: data("pick", 0, task, number)))
    return Screen(ctx.tr.gettext("Which program?"), rows, waiting=True)


# --- dispatching --------------------------------------------------------------------------

Action = Callable[[Turn], Awaitable[Screen]]
ACTIONS: dict[str, tuple[Task, Action]] = {
    "inv": (Task.INVITE, invite_menu),
    "new": (Task.INVITE, make_invites),
    "pair": (Task.PAIR, pair_menu),
    "mtr": (Task.PAIR, choose_mentor),
    "mte": (Task.PAIR, choose_mentee),
    "ask": (Task.PAIR, confirm_pair),
    "yes": (Task.PAIR, make_pair),
    "no": (Task.PAIR, cancel_pair),
    "ppl": (Task.ROSTER, people_page),
    "erl": (Task.ROSTER, erase_choice),
    "era": (Task.ROSTER, erase_terms),
    "erq": (Task.ROSTER, ask_reason),
}


async def _decide_press(
    session: AsyncSession, update: Update, ctx: TandemContext, press: Press
) -> Screen:
    if press.action == "pick":  # co:pick:0:<task>:<page>, a page of the program choice
        chosen = press.args[0] if press.args else ""
        page = parse_number(press.args[1]) if len(press.args) > 1 else None
        if chosen not in FIRST_ACTION or page is None:
            raise Refused(describe_unusable(ctx.tr, update, expects_text=False))
        return await _open(session, update, ctx, Task(chosen), page)
    if press.action not in ACTIONS:
        raise Refused(describe_unusable(ctx.tr, update, expects_text=False))
    task, act = ACTIONS[press.action]
    actor = await current_actor(session, update, ctx)
    program = (
        await session.get(Program, press.program_id) if actor.may(task, press.program_id) else None
    )
    if program is None:
        raise Refused(ctx.tr.gettext("Only this program's coordinators can do that."))
    return await act(Turn(session, update, ctx, actor, program, press.args))


async def on_button(update: Update, ctx: TandemContext) -> str | int | None:
    query = update.callback_query
    assert query is not None
    press = parse_press(query.data)
    if press is None or press.action != "erq":
        forget_erasing(ctx)  # another button: no reason is awaited any more
    try:
        if press is None:
            raise Refused(describe_unusable(ctx.tr, update, expects_text=False))
        async with ctx.db.session() as session:
            screen = await _decide_press(session, update, ctx, press)
    except Refused as refusal:
        await query.answer(str(refusal))
        return None
    return await show(update, ctx, screen)


async def _command(update: Update, ctx: TandemContext, task: Task) -> str | int | None:
    try:
        async with ctx.db.session() as session:
            screen = await _open(session, update, ctx, task)
    except Refused as refusal:
        await say(update, str(refusal))
        await reprompt(update, ctx)
        return None
    return await show(update, ctx, screen)


async def _cancel(update: Update, ctx: TandemContext) -> int:
    forget_erasing(ctx)
    return await cancel(update, ctx)


async def invite(update: Update, ctx: TandemContext) -> str | int | None:
    return await _command(update, ctx, Task.INVITE)


async def pair(update: Update, ctx: TandemContext) -> str | int | None:
    return await _command(update, ctx, Task.PAIR)


async def people(update: Update, ctx: TandemContext) -> str | int | None:
    return await _command(update, ctx, Task.ROSTER)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take these commands."""
    private = filters.ChatType.PRIVATE
    buttons = CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:")
    return [
        ConversationHandler(
            entry_points=[
                CommandHandler("invite", invite, private),
                CommandHandler("pair", pair, private),
                CommandHandler("people", people, private),
                buttons,
            ],
            states={
                WAITING: [buttons, MessageHandler(private & ~filters.COMMAND, not_a_tap)],
                REASON: [
                    buttons,
                    MessageHandler(private & filters.TEXT & ~filters.COMMAND, take_reason),
                    MessageHandler(private & ~filters.COMMAND, not_a_reason),
                ],
            },
            fallbacks=[CommandHandler("cancel", _cancel, private)],
            name=NAME,
            persistent=True,
            allow_reentry=True,
        ),
        CommandHandler("newprogram", new_program, private),
    ]
