"""A coordinator's one-tap decision on an extension both participants asked for
(`ext:<a|d>:<match id>`, sent by conversations/kit/lifecycle.py): approved, the planned
end moves; declined, the match ends as planned. Each press checks again that the presser
coordinates the match's program; both participants are told, each in their language."""

from __future__ import annotations

import logging
from datetime import date

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from conversations.kit.buttons import parse_number, split_callback
from conversations.kit.context import TandemContext
from conversations.kit.lifecycle import APPROVE, DECLINE, extension_request
from conversations.kit.text import person_name
from locales.translator import Html, Translator, translator
from storage.closure import Actor, ClosureError, ClosureProblem, decide_extension
from storage.models import ExtensionStatus, Match, Person, Program
from storage.people import coordinated_programs, person_by_telegram_id

log = logging.getLogger(__name__)


def _outcome(tr: Translator, approved: bool, by: Person, planned_end: date) -> str:
    day = Html(tr.date(planned_end))
    if approved:
        return tr.gettext(
            "✅ Approved by {name}: the mentorship now ends on {date}.",
            name=person_name(tr, by),
            date=day,
        )
    return tr.gettext(
        "✖️ Declined by {name}: the mentorship ends on {date} as planned.",
        name=person_name(tr, by),
        date=day,
    )


def _told(tr: Translator, approved: bool, planned_end: date) -> str:
    day = Html(tr.date(planned_end))
    if approved:
        return tr.gettext(
            "Good news: your coordinator approved the extension. Your mentorship now ends "
            "on {date}.",
            date=day,
        )
    return tr.gettext(
        "Your coordinator decided not to extend your mentorship. It ends on {date} as planned.",
        date=day,
    )


async def on_decision(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr = ctx.tr
    _, action, number = split_callback(query.data)
    match_id = parse_number(number)
    if action not in (APPROVE, DECLINE) or match_id is None:
        await query.answer(tr.gettext("That button no longer works."))
        return
    approve = action == APPROVE
    async with ctx.db.session() as session:
        presser = await person_by_telegram_id(session, update.effective_user.id)
        match = await session.get(Match, match_id)
        programs = (
            {program.id for program in await coordinated_programs(session, presser.id)}
            if presser and presser.id
            else set()
        )
        if presser is None or match is None or match.program_id not in programs:
            await query.answer(tr.gettext("Only this program's coordinators can do that."))
            return
        actor = Actor(presser.id, "coordinator")
        problem: ClosureProblem | None = None
        try:
            extension = await decide_extension(session, match, actor, approve, ctx.now())
        except ClosureError as error:
            problem = error.problem
            extension = None
        program = await session.get(Program, match.program_id)
        mentor = await session.get(Person, match.mentor_id)
        mentee = await session.get(Person, match.mentee_id)
        planned_end = match.planned_end
    assert program is not None and mentor is not None and mentee is not None
    if extension is None or planned_end is None:
        if problem == ClosureProblem.NOT_AGREED:
            await query.answer(tr.gettext("This extension has already been decided."))
        else:
            await query.answer(tr.gettext("This match is no longer running."))
        await _drop_buttons(update)
        return
    await query.answer()
    approved = extension.status == ExtensionStatus.APPROVED
    request = extension_request(tr, program, mentor, mentee, extension)
    text = request + "\n\n" + _outcome(tr, approved, presser, planned_end)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML)
    except TelegramError as error:
        log.info("could not update an extension request: %s", type(error).__name__)
    for person in (mentee, mentor):
        if person.chat_id is None:
            continue
        told = _told(translator(person.locale), approved, planned_end)
        try:
            await ctx.bot.send_message(person.chat_id, told, parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.info("could not tell a participant about an extension: %s", type(error).__name__)


async def _drop_buttons(update: Update) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError as error:
        log.info("could not drop an extension request's buttons: %s", type(error).__name__)
