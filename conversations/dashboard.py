"""/dashboard: a program's figures at a glance, for its coordinators only — active matches,
this week's check-in response rate against last week's, meetings and hours this month,
open flags by severity, people waiting for a match (`storage.summary` says how each is
counted), and once a match has closed, its outcomes (`storage.outcomes`).

```mermaid
stateDiagram-v2
    [*] --> Figures: /dashboard (one program)
    [*] --> List: /dashboard (several programs), or dash:page:0:<page>
    List --> Figures: dash:prog:<program id>
    Figures --> List: back to the list
    Figures --> [*]
```

No conversation state: each screen is one step, everything it needs is in the buttons.

A coordinator of one program gets its figures at once. A coordinator of several gets a
line per program and a button to open each, paged; a program's figures then have a
button back to the list. Buttons follow `conversations.kit.program_picker`
(`dash:prog:<program id>` opens a program, `dash:page:0:<page>` the list) and are never
trusted: each press checks again that the person pressing coordinates that program.
Viewing figures changes nothing and shows no one's personal data, so it is not an audit
event.

The phrases here (a rate, hours, the flags by severity) are the weekly digest's too
(`conversations.digest`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.kit.actor import current_actor
from conversations.kit.buttons import CHOICES_PER_PAGE, Button, page_buttons, page_of
from conversations.kit.charts import percent
from conversations.kit.context import TandemContext
from conversations.kit.joining import reprompt
from conversations.kit.outcome_text import with_outcomes
from conversations.kit.program_picker import PAGE, PICK, data, parse, program_for, refuse, show
from conversations.kit.text import NAME_CLIP, answered, clip, flags_line, hours
from conversations.kit.unusable import describe_unusable
from locales.translator import Translator
from storage.models import MatchStatus, Program, Role
from storage.outcomes import program_outcomes
from storage.summary import Dashboard, dashboard

PREFIX = "dash"


# --- phrases the digest shares ------------------------------------------------------------


# --- one program ----------------------------------------------------------------------------


def _matches_line(tr: Translator, matches: dict[str, int]) -> str:
    active = matches.get(MatchStatus.ACTIVE, 0)
    parts = [tr.ngettext("{n} active", "{n} active", active)]
    if paused := matches.get(MatchStatus.PAUSED, 0):
        parts.append(tr.ngettext("{n} paused", "{n} paused", paused))
    if closing := matches.get(MatchStatus.CLOSING, 0):
        parts.append(tr.ngettext("{n} closing", "{n} closing", closing))
    return tr.gettext("Matches: {counts}.", counts=", ".join(parts))


def _waiting_line(tr: Translator, waiting: dict[str, int]) -> str:
    mentees, mentors = waiting.get(Role.MENTEE, 0), waiting.get(Role.MENTOR, 0)
    if not mentees and not mentors:
        return tr.gettext("Nobody is waiting for a match.")
    parts = []
    if mentees:
        parts.append(tr.ngettext("{n} mentee", "{n} mentees", mentees))
    if mentors:
        parts.append(tr.ngettext("{n} mentor", "{n} mentors", mentors))
    return tr.gettext("Waiting for a match: {people}.", people=", ".join(parts))


def program_text(tr: Translator, board: Dashboard) -> str:
    """A program's figures (Telegram HTML)."""
    return "\n".join(
        [
            tr.gettext(
                "📊 <b>{program}</b> · {date}",
                program=board.program.name,
                date=tr.date(board.today, "full"),
            ),
            "",
            _matches_line(tr, board.matches),
            _waiting_line(tr, board.waiting),
            tr.gettext(
                "Check-ins answered this week: {this}; last week: {last}.",
                this=answered(tr, board.this_week),
                last=answered(tr, board.last_week),
            ),
            tr.ngettext(
                "This month: {n} meeting logged, {hours} h together (logged, or estimated by "
                "the mentor).",
                "This month: {n} meetings logged, {hours} h together (logged, or estimated by "
                "the mentor).",
                board.month_meetings,
                hours=hours(tr, board.month_minutes),
            ),
            flags_line(tr, board.flags),
        ]
    )


def _program_line(tr: Translator, board: Dashboard) -> str:
    """One program in the list: its name, active matches, this week's rate, open flags."""
    active = board.matches.get(MatchStatus.ACTIVE, 0)
    rate = board.this_week.value
    return tr.gettext(
        "• <b>{program}</b>: {matches} · {rate} · {flags}",
        program=clip(board.program.name, NAME_CLIP),
        matches=tr.ngettext("{n} active match", "{n} active matches", active),
        rate=(
            tr.gettext("no check-in this week")
            if rate is None
            else tr.gettext("{rate} answered this week", rate=percent(tr, rate))
        ),
        flags=tr.ngettext("{n} open flag", "{n} open flags", board.flags.total),
    )


# --- outcomes -------------------------------------------------------------------------------


async def _with_outcomes(ctx: TandemContext, board: Dashboard) -> str:
    """A program's figures, then its outcomes once a match has closed (`storage.outcomes`)."""
    async with ctx.db.session() as session:
        outcomes = await program_outcomes(session, board.program)
    return with_outcomes(ctx.tr, program_text(ctx.tr, board), outcomes)


# --- the screens ------------------------------------------------------------------------------


async def _programs(update: Update, ctx: TandemContext) -> list[Program]:
    async with ctx.db.session() as session:
        actor = await current_actor(session, update, ctx)
        return [
            program
            for program_id in sorted(actor.coordinates)
            if (program := await session.get(Program, program_id)) is not None
        ]


async def _boards(ctx: TandemContext, programs: Sequence[Program]) -> list[Dashboard]:
    now = ctx.now()
    async with ctx.db.session() as session:
        return [await dashboard(session, program, now) for program in programs]


async def _list(update: Update, ctx: TandemContext, page: int) -> None:
    """One program's figures, or, for a coordinator of several, a line and a button each."""
    tr = ctx.tr
    programs = await _programs(update, ctx)
    if not programs:
        await refuse(update, tr.gettext("This command is for program coordinators."))
        await reprompt(update, ctx)
        return
    if len(programs) == 1:
        (board,) = await _boards(ctx, programs)
        await show(update, await _with_outcomes(ctx, board), [])
        return
    shown, page, pages = page_of(programs, page, CHOICES_PER_PAGE)
    lines = [tr.gettext("📊 <b>Your programs</b>"), ""]
    lines += [_program_line(tr, board) for board in await _boards(ctx, shown)]
    rows: list[list[Button]] = [
        [(clip(program.name, NAME_CLIP), data(PREFIX, PICK, program.id))] for program in shown
    ]
    rows.append(page_buttons(tr, page, pages, partial(data, PREFIX, PAGE, 0)))
    await show(update, "\n".join(lines), rows)


async def _one(update: Update, ctx: TandemContext, program_id: int) -> None:
    tr = ctx.tr
    async with ctx.db.session() as session:
        actor, program = await program_for(session, update, ctx, program_id)
        board = None if program is None else await dashboard(session, program, ctx.now())
    if board is None:
        await refuse(update, tr.gettext("Only this program's coordinators can do that."))
        return
    several = len(actor.coordinates) > 1
    rows = [[(tr.gettext("‹ All programs"), data(PREFIX, PAGE, 0, 0))]] if several else []
    await show(update, await _with_outcomes(ctx, board), rows)


async def dashboard_command(update: Update, ctx: TandemContext) -> None:
    await _list(update, ctx, 0)


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    press = parse(query.data)
    if press is not None and press.action == PICK and press.number is None:
        await _one(update, ctx, press.program_id)
    elif press is not None and press.action == PAGE and press.number is not None:
        await _list(update, ctx, press.number)
    else:
        await query.answer(describe_unusable(ctx.tr, update, expects_text=False))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take /dashboard."""
    return [
        CommandHandler("dashboard", dashboard_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]
