"""A coordinator ends a match, or keeps it going: from the alert about an end request
(/endmatch) or from the match's timeline (/match <id>). Ending goes through the service every
way a match ends shares (conversations/kit/ending.py: both people get their closure survey,
the open end request is resolved with an audit event, every alert copy says how the match
ended); keeping it is `keep_match`. The participants are told, each in their language:
both when the match ends, the ones who asked when it goes on. Every other coordinator's
copy of the alert is edited to show who decided what.

```mermaid
stateDiagram-v2
    [*] --> Alert: an end request's alert
    Alert --> Reasons: End the match (the reason choice, on that copy)
    Reasons --> Alert: ‹ Back
    Reasons --> Ended: a reason
    Alert --> Kept: Keep it going
    [*] --> Choosing: End this match (a timeline; a new message)
    Choosing --> Confirming: a reason
    Confirming --> Ended: Yes, end the match
    Choosing --> [*]: Cancel
    Confirming --> [*]: Cancel
    Ended --> [*]
    Kept --> [*]
```

Callback data is conversations/kit/buttons.py's ``mx:<action>:<id>[:<reason>]``: on an
alert the flag's id (`END`, `KEEP`, `END_REASON`, `END_BACK`), on a timeline the match's
(`TIMELINE_*`). It is never trusted: every press checks again that the presser finished
joining the match's program as a coordinator, and that nothing was decided meanwhile (a
late or repeated tap, another coordinator's decision, the planned end) — then it says
what was decided, and by whom, and changes nothing. The match, then its end request,
are locked in that order, so two coordinators' taps happen one after the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler

from conversations.kit.actor import current_actor
from conversations.kit.alert_text import alert_buttons, alert_text
from conversations.kit.alerting import UNREACHABLE, person_by_id, refresh_copies
from conversations.kit.buttons import (
    END,
    END_BACK,
    END_REASON,
    KEEP,
    MATCH_END_PREFIX,
    TIMELINE_CANCEL,
    TIMELINE_CONFIRM,
    TIMELINE_END,
    TIMELINE_REASON,
    Button,
    keyboard,
    match_end,
    parse_number,
)
from conversations.kit.closure_text import (
    decision_line,
    reason_label,
    reason_rows,
    told_ended,
    told_kept,
)
from conversations.kit.context import TandemContext
from conversations.kit.ending import announce_end
from conversations.kit.reply import say
from conversations.kit.screens import edit_in_place
from conversations.kit.text import person_name
from locales.translator import Translator, translator
from storage.closure import (
    EARLY_REASONS,
    OPEN,
    Actor,
    ClosureReason,
    Ended,
    decision_of,
    end_match,
    ending_event,
    keep_match,
)
from storage.flags import Rule
from storage.models import Flag, FlagStatus, Match, Person, Program

log = logging.getLogger(__name__)

ON_ALERT = (END, KEEP, END_REASON, END_BACK)
ON_TIMELINE = (TIMELINE_END, TIMELINE_REASON, TIMELINE_CONFIRM, TIMELINE_CANCEL)
WITH_REASON = (END_REASON, TIMELINE_REASON, TIMELINE_CONFIRM)
CODES = {str(reason): reason for reason in EARLY_REASONS}


class Refused(Exception):
    """A press that changes nothing; the message says why."""


@dataclass
class Outcome:
    """What a press shows the presser (an answer, this message's new text and buttons) and
    what it causes once committed (other copies refreshed, participants told)."""

    notice: str | None = None
    text: str | None = None
    rows: list[list[Button]] = field(default_factory=list)
    new_message: bool = False
    flag_id: int | None = None  # an end request kept going: its copies to refresh
    ended: Ended | None = None  # the match ended: `announce_end` refreshes the copies
    letters: list[tuple[int, str]] = field(default_factory=list)  # (chat id, text)


def _parse(data: str | None) -> tuple[str, int, ClosureReason | None] | None:
    parts = (data or "").split(":")
    if len(parts) not in (3, 4) or parts[0] != MATCH_END_PREFIX:
        return None
    action, number = parts[1], parse_number(parts[2])
    if action not in (*ON_ALERT, *ON_TIMELINE) or number is None:
        return None
    if (action in WITH_REASON) != (len(parts) == 4):
        return None
    reason = CODES.get(parts[3]) if len(parts) == 4 else None
    if action in WITH_REASON and reason is None:
        return None
    return action, number, reason


# --- checks ---------------------------------------------------------------------------------


async def _coordinator(
    session: AsyncSession, update: Update, ctx: TandemContext, match: Match
) -> Person:
    actor = await current_actor(session, update, ctx)
    if actor.person is None or match.program_id not in actor.coordinates:
        raise Refused(ctx.tr.gettext("Only this program's coordinators can do that."))
    return actor.person


async def _locked_match(session: AsyncSession, match_id: int) -> Match | None:
    statement = (
        select(Match)
        .where(col(Match.id) == match_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).first()


async def _already_ended(session: AsyncSession, tr: Translator, match: Match) -> str:
    """Who ended the match, and why, as the answer to a late tap."""
    event = await ending_event(session, match)
    by = None if event is None else await person_by_id(session, event.actor_id)
    reason = match.closure_reason
    if by is None:
        return tr.gettext(
            "This match has already ended ({reason}).", reason=reason_label(tr, reason)
        )
    return tr.gettext(
        "{name} has already ended this match ({reason}).",
        name=person_name(tr, by),
        reason=reason_label(tr, reason),
    )


async def _letters(
    session: AsyncSession, match: Match, ended: bool, flag: Flag | None
) -> list[tuple[int, str]]:
    """Each participant to tell, in their language: both when the match ended, the ones
    who asked to end it when it goes on (their partner never knew of the request)."""
    mentor = await session.get(Person, match.mentor_id)
    mentee = await session.get(Person, match.mentee_id)
    asked = {
        item.get("person_id")
        for item in ((flag.evidence or {}).get("requests", []) if flag else [])
        if isinstance(item, dict)
    }
    letters = []
    for person, partner in ((mentee, mentor), (mentor, mentee)):
        if person is None or person.chat_id is None or person.status in UNREACHABLE:
            continue
        if not ended and person.id not in asked:
            continue
        tr = translator(person.locale)
        name = person_name(tr, partner)
        letters.append((person.chat_id, told_ended(tr, name) if ended else told_kept(tr, name)))
    return letters


# --- on an end request's alert ----------------------------------------------------------


async def _on_alert(
    session: AsyncSession,
    update: Update,
    ctx: TandemContext,
    action: str,
    flag_id: int,
    reason: ClosureReason | None,
) -> Outcome:
    tr, stale = ctx.tr, Refused(ctx.tr.gettext("That button no longer works."))
    found = await session.get(Flag, flag_id)
    match = None if found is None else await _locked_match(session, found.match_id)
    if match is None:
        raise stale
    person = await _coordinator(session, update, ctx, match)
    flag = await session.get(Flag, flag_id, with_for_update=True, populate_existing=True)
    if flag is None or flag.rule != Rule.END_REQUEST:
        raise stale
    program = await session.get(Program, match.program_id)
    mentor = await session.get(Person, match.mentor_id)
    mentee = await session.get(Person, match.mentee_id)
    assert program is not None

    def shown(handler: Person | None) -> tuple[str, list[list[Button]]]:
        return alert_text(tr, flag, program, mentor, mentee, handler), alert_buttons(tr, flag)

    if flag.status == FlagStatus.RESOLVED:
        handler = await person_by_id(session, flag.handled_by)
        decided = decision_of(flag)
        notice = (
            tr.gettext("This flag is already resolved.")
            if decided is None
            else tr.gettext(
                "This has already been decided. {decision}",
                decision=decision_line(tr, *decided, handler),
            )
        )
        return Outcome(notice, *shown(handler))
    if action == END:
        text, _ = shown(await person_by_id(session, flag.handled_by))
        rows = reason_rows(tr, lambda code: match_end(END_REASON, flag_id, code))
        rows.append([(tr.gettext("‹ Back"), match_end(END_BACK, flag_id))])
        prompt = tr.gettext("Why is the match ending? Choose the reason.")
        return Outcome(prompt, text + "\n\n" + prompt, rows)
    if action == END_BACK:
        return Outcome(None, *shown(await person_by_id(session, flag.handled_by)))
    actor = Actor(person.id, "coordinator")
    letters = await _letters(session, match, action != KEEP, flag)
    if action == KEEP:
        await keep_match(session, match, actor, ctx.now())
        notice = tr.gettext("The match goes on.")
        return Outcome(notice, *shown(person), flag_id=flag_id, letters=letters)
    assert reason is not None
    if match.status not in OPEN:  # ended without its request resolved (older data)
        raise Refused(await _already_ended(session, tr, match))
    ended = await end_match(session, match, reason, actor, ctx.now())
    notice = tr.gettext("The match is ending: both people get their closure survey.")
    return Outcome(notice, *shown(person), ended=ended, letters=letters)


# --- on a timeline ------------------------------------------------------------------------


async def _on_timeline(
    session: AsyncSession,
    update: Update,
    ctx: TandemContext,
    action: str,
    match_id: int,
    reason: ClosureReason | None,
) -> Outcome:
    tr = ctx.tr
    match = await _locked_match(session, match_id)
    if match is None:
        raise Refused(tr.gettext("That button no longer works."))
    person = await _coordinator(session, update, ctx, match)
    if action == TIMELINE_CANCEL:
        return Outcome(None, tr.gettext("Okay, nothing changed: the match goes on."))
    if match.status not in OPEN:
        text = await _already_ended(session, tr, match)
        return Outcome(text, text)
    mentor = await session.get(Person, match.mentor_id)
    mentee = await session.get(Person, match.mentee_id)
    pair = tr.gettext(
        "{mentor} ↔ {mentee} (match {id})",
        mentor=person_name(tr, mentor),
        mentee=person_name(tr, mentee),
        id=match.id,
    )
    cancel = [(tr.gettext("Cancel"), match_end(TIMELINE_CANCEL, match_id))]
    if action == TIMELINE_END:
        text = tr.gettext(
            "<b>End this match?</b> {pair}\n\nWhy is it ending? Choose the reason.", pair=pair
        )
        rows = reason_rows(tr, lambda code: match_end(TIMELINE_REASON, match_id, code))
        return Outcome(None, text, [*rows, cancel], new_message=True)
    assert reason is not None
    if action == TIMELINE_REASON:
        text = tr.gettext(
            "<b>End this match now?</b> {pair}\nReason: {reason}\n\nBoth people will be told, "
            "and each will get the end-of-mentorship survey. This cannot be undone.",
            pair=pair,
            reason=reason_label(tr, reason),
        )
        confirm = [
            (tr.gettext("🏁 Yes, end the match"), match_end(TIMELINE_CONFIRM, match_id, reason))
        ]
        return Outcome(None, text, [confirm, cancel])
    ended = await end_match(session, match, reason, Actor(person.id, "coordinator"), ctx.now())
    flag = (
        None if ended.resolved_flag_id is None else await session.get(Flag, ended.resolved_flag_id)
    )
    text = tr.gettext(
        "🏁 You ended this match: {pair}\nReason: {reason}\n\nBoth people have been told; "
        "each will get the end-of-mentorship survey.",
        pair=pair,
        reason=reason_label(tr, reason),
    )
    letters = await _letters(session, match, True, flag)
    return Outcome(None, text, ended=ended, letters=letters)


# --- the press ----------------------------------------------------------------------------


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    parsed = _parse(query.data)
    if parsed is None:
        await query.answer(ctx.tr.gettext("That button no longer works."))
        return
    action, number, reason = parsed
    decide = _on_alert if action in ON_ALERT else _on_timeline
    try:
        async with ctx.db.session() as session:
            outcome = await decide(session, update, ctx, action, number, reason)
    except Refused as refusal:
        await query.answer(str(refusal))
        return
    await _show(update, query, outcome)
    pressed = query.message
    edited = (pressed.chat.id, pressed.message_id) if pressed is not None else None
    if action in ON_TIMELINE:
        edited = None  # the alert's copies are other messages
    if outcome.ended is not None:
        await announce_end(ctx.bot, ctx.db, [outcome.ended], edited=edited)
    if outcome.flag_id is not None:
        await refresh_copies(ctx.bot, ctx.db, outcome.flag_id, edited=edited)
    for chat_id, text in outcome.letters:
        try:
            await ctx.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.info("could not tell a participant about their match: %s", type(error).__name__)


async def _show(update: Update, query: CallbackQuery, outcome: Outcome) -> None:
    markup = keyboard(outcome.rows) if outcome.rows else None
    if outcome.text is None:
        await query.answer(outcome.notice)
    elif outcome.new_message:
        await query.answer(outcome.notice)
        await say(update, outcome.text, markup)
    elif not await edit_in_place(query, outcome.text, markup, outcome.notice):
        await say(update, outcome.text, markup)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take these taps."""
    return [CallbackQueryHandler(on_button, pattern=rf"^{MATCH_END_PREFIX}:")]
