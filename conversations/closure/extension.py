"""A coordinator's one-tap decision on an extension both participants asked for
(`ext:<y|n>:<extension request id>`, sent by conversations/kit/lifecycle.py; the request's
id, not the match's, so that a button left from an earlier round of the same match cannot
decide a later one): approved, the planned end moves; declined, the match ends as planned.
Each press checks again that the presser coordinates the match's program; both
participants are told, each in their language, and every other coordinator's copy of the
request is edited to show who decided what. A late tap on a copy (already decided, this
round or an earlier one) says what was decided about that request, and by whom."""

from __future__ import annotations

import logging
from datetime import date

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from conversations.kit.buttons import parse_number, split_callback
from conversations.kit.context import TandemContext, known_person
from conversations.kit.lifecycle import (
    APPROVE,
    DECLINE,
    decided_request,
    extension_outcome,
    extension_request,
    refresh_extension_copies,
)
from locales.translator import Html, Translator, translator
from storage.closure import (
    Actor,
    ClosureError,
    ClosureProblem,
    decide_extension,
)
from storage.models import ExtensionStatus, Match, MatchExtension, Person, Program
from storage.people import coordinated_programs

log = logging.getLogger(__name__)

DECIDED = (ExtensionStatus.APPROVED, ExtensionStatus.REFUSED)


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
    extension_id = parse_number(number)
    if action not in (APPROVE, DECLINE) or extension_id is None:
        await query.answer(tr.gettext("That button no longer works."))
        return
    approve = action == APPROVE
    async with ctx.db.session() as session:
        presser = await known_person(session, ctx, update.effective_user.id)
        asked = await session.get(MatchExtension, extension_id)
        match = None if asked is None else await session.get(Match, asked.match_id)
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
            extension = await decide_extension(
                session, match, actor, approve, ctx.now(), extension_id=extension_id
            )
        except ClosureError as error:
            problem = error.problem
            extension = None
        program = await session.get(Program, match.program_id)
        mentor = await session.get(Person, match.mentor_id)
        mentee = await session.get(Person, match.mentee_id)
        planned_end = match.planned_end
    assert program is not None and mentor is not None and mentee is not None
    if extension is None or planned_end is None:
        await _refuse(update, ctx, extension_id, problem)
        return
    await query.answer()
    approved = extension.status == ExtensionStatus.APPROVED
    request = extension_request(tr, program, mentor, mentee, extension)
    text = request + "\n\n" + extension_outcome(tr, extension, presser)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML)
    except TelegramError as error:
        log.info("could not update an extension request: %s", type(error).__name__)
    pressed = query.message
    edited = (pressed.chat.id, pressed.message_id) if pressed is not None else None
    await refresh_extension_copies(ctx.bot, ctx.db, extension.id or 0, edited)
    for person in (mentee, mentor):
        if person.chat_id is None:
            continue
        told = _told(translator(person.locale), approved, planned_end)
        try:
            await ctx.bot.send_message(person.chat_id, told, parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.info("could not tell a participant about an extension: %s", type(error).__name__)


async def _refuse(
    update: Update, ctx: TandemContext, extension_id: int, problem: ClosureProblem | None
) -> None:
    """A late tap: say what was decided about this request, and by whom, and show it on
    this copy too; a request of an earlier round never decided says so."""
    query = update.callback_query
    assert query is not None
    tr, text = ctx.tr, None
    async with ctx.db.session() as session:
        decided = await session.get(MatchExtension, extension_id)
        if decided is not None and decided.status not in DECIDED:
            decided = None
        if decided is not None:
            text = await decided_request(session, tr, decided)
            by = (
                None
                if decided.decided_by is None
                else await session.get(Person, decided.decided_by)
            )
            notice = tr.gettext(
                "This extension has already been decided. {decision}",
                decision=extension_outcome(tr, decided, by),
            )
        elif problem == ClosureProblem.EARLIER_ROUND:
            notice = tr.gettext(
                "This button belongs to an earlier extension request, so it no longer works."
            )
        elif problem == ClosureProblem.NOT_AGREED:
            notice = tr.gettext("This extension has already been decided.")
        else:
            notice = tr.gettext("This match is no longer running.")
    await query.answer(notice)
    try:
        if text is None:
            await query.edit_message_reply_markup(None)
        else:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML)
    except TelegramError as error:
        if "not modified" not in str(error).lower():
            log.info("could not update an extension request: %s", type(error).__name__)
