"""/export: a program's data as an Excel workbook or a zip of CSV files, for the program's
coordinators only.

Buttons carry `exp:<action>:<program id>` (`prog` picks a program, `xlsx` and `csv` send
the file). Like the coordinator commands, the data is never trusted: each press checks
again that the person pressing coordinates that program. The file is built and the export
recorded as an audit event in one transaction, then sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import N_, Translator
from conversations import onboarding
from conversations.common import Button, describe_unusable, keyboard, say
from conversations.context import TandemContext
from conversations.coordinator import (
    CHOICES_PER_PAGE,
    NAME_CLIP,
    Actor,
    Task,
    _actor,
    _clip,
    _nav,
    _number,
    _page,
)
from storage.exports import (
    FORMATS,
    export_bytes,
    export_tables,
    file_name,
    record_export,
)
from storage.models import Program
from storage.programs import zone_or_none

PREFIX = "exp"
FORMAT_LABELS = {"xlsx": N_("Excel (.xlsx)"), "csv": N_("CSV (.zip)")}


def _data(action: str, program_id: int | None, *args: object) -> str:
    return ":".join([PREFIX, action, str(program_id or 0), *(str(arg) for arg in args)])


def _coordinated(actor: Actor, program_id: int) -> bool:
    return actor.may(Task.PEOPLE, program_id)  # a coordinator of this program, admins not


def _formats(tr: Translator, program: Program) -> tuple[str, list[list[Button]]]:
    text = tr.gettext(
        "<b>{program}</b>: in which format do you want your program's data? Each table "
        "(participants, matches, check-in answers, meeting logs, reflections, goals, flags, "
        "audit events) is a sheet of the workbook, or a file in the zip.",
        program=program.name,
    )
    rows = [[(tr.gettext(FORMAT_LABELS[kind]), _data(kind, program.id)) for kind in FORMATS]]
    return text, rows


async def _choices(update: Update, ctx: TandemContext, page: int) -> None:
    """The formats for a coordinator's only program, or a choice of program first."""
    tr = ctx.tr
    async with ctx.db.session() as session:
        actor = await _actor(session, update, ctx)
        programs = [
            program
            for program_id in sorted(actor.coordinates)
            if (program := await session.get(Program, program_id)) is not None
        ]
    if not programs:
        await _refuse(update, tr.gettext("This command is for program coordinators."))
        await onboarding.reprompt(update, ctx)
        return
    if len(programs) == 1:
        text, rows = _formats(tr, programs[0])
    else:
        shown, page, pages = _page(programs, page, CHOICES_PER_PAGE)
        rows = [[(_clip(program.name, NAME_CLIP), _data("prog", program.id))] for program in shown]
        rows.append(_nav(tr, page, pages, partial(_data, "page", 0)))
        text = tr.gettext("Which program's data do you want?")
    await _show(update, text, [row for row in rows if row])


async def _show(update: Update, text: str, rows: list[list[Button]]) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.answer()
        try:
            await query.edit_message_text(
                text, parse_mode=ParseMode.HTML, reply_markup=keyboard(rows) if rows else None
            )
            return
        except BadRequest:
            pass
    await say(update, text, keyboard(rows) if rows else None)


async def _refuse(update: Update, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    else:
        await say(update, text)


async def export_command(update: Update, ctx: TandemContext) -> None:
    await _choices(update, ctx, 0)


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    tr = ctx.tr
    parts = (query.data or "").split(":")
    program_id = _number(parts[2]) if len(parts) >= 3 else None
    action = parts[1] if len(parts) >= 3 else ""
    if program_id is None or action not in ("page", "prog", *FORMATS):
        await query.answer(describe_unusable(tr, update, expects_text=False))
        return
    if action == "page":
        page = _number(parts[3]) if len(parts) > 3 else None
        if page is None:
            await query.answer(describe_unusable(tr, update, expects_text=False))
            return
        await _choices(update, ctx, page)
        return
    now = ctx.now()
    async with ctx.db.session() as session:
        actor = await _actor(session, update, ctx)
        program = (
            await session.get(Program, program_id) if _coordinated(actor, program_id) else None
        )
        if program is None:
            await query.answer(tr.gettext("Only this program's coordinators can do that."))
            return
        if action == "prog":
            text, rows = _formats(tr, program)
            await _show(update, text, rows)
            return
        tables = await export_tables(session, program_id)
        content = await asyncio.to_thread(export_bytes, tables, action)
        record_export(
            session,
            program_id,
            tables,
            export_format=action,
            actor_id=actor.person_id,
            actor_label=actor.label(program_id),
            now=now,
        )
        zone = zone_or_none(program.timezone)
        today = now.astimezone(zone).date() if zone else now.date()
        name = program.name
    await query.answer(tr.gettext("Preparing your file…"))
    caption = tr.gettext(
        "<b>{program}</b>: your program's data on {date}. Times are in UTC; the README "
        "describes every column.",
        program=name,
        date=tr.date(today),
    )
    await ctx.bot.send_document(
        update.effective_chat.id,
        document=content,
        filename=file_name(name, today, action),
        caption=caption,
        parse_mode=ParseMode.HTML,
    )
    with contextlib.suppress(BadRequest):  # the buttons are used: take them away
        await query.edit_message_reply_markup(None)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take /export."""
    return [
        CommandHandler("export", export_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]
