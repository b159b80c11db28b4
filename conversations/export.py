"""/export: a program's data as an Excel workbook or a zip of CSV files, for the program's
coordinators only.

```mermaid
stateDiagram-v2
    [*] --> Choice: /export (several programs), exp:page
    [*] --> Format: /export (one program)
    Choice --> Format: exp:prog:<program id>
    Format --> Sent: exp:xlsx or exp:csv (the file, and an audit event)
    Sent --> [*]
```

Buttons carry `exp:<action>:<program id>` (`prog` picks a program, `xlsx` and `csv` send
the file). Like the coordinator commands, the data is never trusted: each press checks
again that the person pressing coordinates that program. The file is built and the export
recorded as an audit event in one transaction, then sent.
"""

from __future__ import annotations

import asyncio
import contextlib

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.instruments import load_all
from conversations.kit.buttons import Button
from conversations.kit.context import TandemContext
from conversations.kit.program_picker import (
    PAGE,
    PICK,
    choose,
    data,
    parse,
    program_for,
    refuse,
    show,
)
from conversations.kit.unusable import describe_unusable
from locales.translator import N_, Translator, translator
from storage.export_answers import Codebook
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
GUIDE_NOTES = {
    "xlsx": N_("The first sheet describes every sheet and column."),
    "csv": N_("columns.csv describes every file and column."),
}


def export_codebook() -> Codebook:
    """What an export labels answers with: the instrument files and the catalogs
    (`tandem export` uses it too)."""
    return Codebook(instruments=load_all(), translator=translator)


def _formats(tr: Translator, program: Program) -> tuple[str, list[list[Button]]]:
    text = tr.gettext(
        "<b>{program}</b>: in which format do you want your program's data? Each table "
        "(participants, matches, check-in answers, meeting logs, reflections, goals, flags, "
        "audit events) is a sheet of the workbook, or a file in the zip, and each "
        "questionnaire gets one more, with one row per check-in and one column per "
        "question.",
        program=program.name,
    )
    rows = [[(tr.gettext(FORMAT_LABELS[kind]), data(PREFIX, kind, program.id)) for kind in FORMATS]]
    return text, rows


async def _choices(update: Update, ctx: TandemContext, page: int) -> None:
    """The formats for a coordinator's only program, or a choice of program first."""

    async def formats(program: Program) -> None:
        await show(update, *_formats(ctx.tr, program))

    question = ctx.tr.gettext("Which program's data do you want?")
    await choose(update, ctx, prefix=PREFIX, page=page, question=question, one=formats)


async def export_command(update: Update, ctx: TandemContext) -> None:
    await _choices(update, ctx, 0)


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    tr = ctx.tr
    press = parse(query.data)
    if press is not None and press.action == PAGE and press.number is not None:
        await _choices(update, ctx, press.number)
        return
    if press is None or press.number is not None or press.action not in (PICK, *FORMATS):
        await query.answer(describe_unusable(tr, update, expects_text=False))
        return
    action, program_id = press.action, press.program_id
    now = ctx.now()
    async with ctx.db.session() as session:
        actor, program = await program_for(session, update, ctx, program_id)
        if program is None:
            await refuse(update, tr.gettext("Only this program's coordinators can do that."))
            return
        if action == PICK:
            await show(update, *_formats(tr, program))
            return
        tables = await export_tables(session, program_id, export_codebook())
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
        zone_name = zone.key if zone else "UTC"
    await query.answer(tr.gettext("Preparing your file…"))
    caption = tr.gettext(
        "<b>{program}</b>: your program's data on {date}. Times are in the program's time "
        "zone ({zone}), with UTC beside them. {guide}",
        program=name,
        date=tr.date(today),
        zone=zone_name,
        guide=tr.gettext(GUIDE_NOTES[action]),
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
