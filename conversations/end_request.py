"""/endmatch: a mentor or mentee asks their coordinator to end their match early.

The bot explains what happens and asks to confirm (after asking which match, for someone
in several), then asks for a short reason, typed or skipped. The request is then recorded
(`storage.end_requests.request_end`: an audit event and a "high" flag) and the program's
coordinators are alerted at once. Nothing about the match changes: the coordinators talk
it over with the person and decide. A person whose request is still open is told it is
already with the coordinators.

Callback data is ``end:<action>:<match id>`` and is never trusted: every press checks
again that the person pressing is that match's mentor or mentee and that the match is
still active or paused. The reason is the next message (within the hour, and unless a
check-in question was asked since, a check-in or reflection was sent or reminded since,
or another dialogue's button was tapped), read by a
handler in a group before every dialogue; /cancel then sends nothing, any other command
drops the question.

```mermaid
stateDiagram-v2
    [*] --> WhichMatch: /endmatch (several matches)
    [*] --> Confirming: /endmatch (one match)
    WhichMatch --> Confirming: a match tapped
    Confirming --> [*]: Keep the match
    Confirming --> Reason: Yes, ask to end it
    Reason --> Requested: a typed reason / Skip
    Reason --> [*]: /cancel, another command or dialogue
    Requested --> [*]: recorded, the coordinators alerted
```
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from conversations.kit.alerting import notify, refresh_copies
from conversations.kit.buttons import BUTTON_CLIP, Button, keyboard, parse_number
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext, known_person, resolve_language
from conversations.kit.program_picker import show
from conversations.kit.prompt import participant_or
from conversations.kit.reply import ASKED, Reply, say
from conversations.kit.text import clip, partner_name
from conversations.kit.unusable import describe_unusable, forget_on_other_buttons, too_long
from locales.translator import Translator
from storage.end_requests import Requested, open_end_request, request_end, requested_by
from storage.meetings import open_matches
from storage.models import Match, MatchStatus, Person, Prompt, PromptStatus

PREFIX = "end"
PICK, YES, NO, SKIP = "pick", "yes", "no", "skip"
ENDABLE = (MatchStatus.ACTIVE, MatchStatus.PAUSED)
WAITING = "end_request_reason"  # user_data: {"match": id, "at": timestamp, "message": id}
cancellable(WAITING)
REASON_WINDOW = timedelta(hours=1)
REASON_LENGTH = 500
REASON_GROUP = -4  # after edits (-10); before alert notes (-3), resolve_language (-1), dialogues


def _data(action: str, match_id: int | None) -> str:
    return f"{PREFIX}:{action}:{match_id or 0}"


def _parse(data: str | None) -> tuple[str, int] | None:
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in (PICK, YES, NO, SKIP):
        return None
    match_id = parse_number(parts[2])
    return None if match_id is None else (parts[1], match_id)


# --- words --------------------------------------------------------------------------------


def _not_joined(tr: Translator) -> str:
    return tr.gettext(
        "Only mentors and mentees can ask to end a match. Send /start to continue joining, "
        "or open the invitation link your coordinator sent you."
    )


def _no_match(tr: Translator) -> str:
    return tr.gettext(
        "You don't have a match to end right now. If something is on your mind, your "
        "coordinator is there to help."
    )


def _already(tr: Translator) -> str:
    return tr.gettext(
        "You've already asked to end this match: your coordinator has your request and "
        "will be in touch with you soon."
    )


def _stale(tr: Translator) -> str:
    return tr.gettext("That button no longer works.")


# --- who is asking, about which match -----------------------------------------------------


async def _endable(session: AsyncSession, person_id: int) -> list[Match]:
    return [m for m in await open_matches(session, person_id) if m.status in ENDABLE]


async def _checked(
    session: AsyncSession, ctx: TandemContext, telegram_id: int, match_id: int, tr: Translator
) -> tuple[Person, Match] | str:
    """The person pressing and the match, or why they cannot ask about it."""
    person = await known_person(session, ctx, telegram_id)
    match = await session.get(Match, match_id)
    if person is None or match is None or person.id not in (match.mentor_id, match.mentee_id):
        return _stale(tr)
    if match.status not in ENDABLE:
        return tr.gettext("This match is no longer active, so there is nothing to ask.")
    return person, match


async def _first_step(
    session: AsyncSession, tr: Translator, person: Person
) -> tuple[str, list[list[Button]]]:
    """The confirmation for the person's only match, or a choice of match first."""
    matches = await _endable(session, person.id or 0)
    if not matches:
        return _no_match(tr), []
    if len(matches) == 1:
        return await _confirmation(session, tr, person, matches[0])
    rows = [
        [
            (
                clip(await partner_name(session, tr, match, person.id or 0), BUTTON_CLIP),
                _data(PICK, match.id),
            )
        ]
        for match in matches
    ]
    return tr.gettext("Which match do you want to ask about?"), rows


async def _confirmation(
    session: AsyncSession, tr: Translator, person: Person, match: Match
) -> tuple[str, list[list[Button]]]:
    if requested_by(await open_end_request(session, match.id or 0), person.id or 0):
        return _already(tr), []
    name = await partner_name(session, tr, match, person.id or 0)
    text = tr.gettext(
        "<b>Ask to end your match with {name} early?</b>\n\nSometimes a match doesn't work "
        "out, and that's okay. If you confirm, I'll let your coordinator know; they will get "
        "in touch with you to talk it over and decide together what comes next. Until then "
        "nothing changes, and I won't tell {name} myself.",
        name=name,
    )
    rows = [
        [(tr.gettext("Yes, ask the coordinator"), _data(YES, match.id))],
        [(tr.gettext("No, keep going"), _data(NO, match.id))],
    ]
    return text, rows


def _reason_question(tr: Translator, match: Match) -> tuple[str, list[list[Button]]]:
    text = tr.gettext(
        "Would you like to tell your coordinator why, in a few words? Only your program's "
        "coordinators will read it. Type it below, or tap Skip."
    )
    return text, [[(tr.gettext("Skip"), _data(SKIP, match.id))]]


# --- recording the request ----------------------------------------------------------------


async def _record(
    ctx: TandemContext, telegram_id: int, match_id: int, reason: str | None
) -> tuple[str, bool]:
    """Record the request and alert the coordinators once it has committed. Returns what
    to tell the participant, and False when they cannot ask about this match."""
    tr = ctx.tr
    async with ctx.db.session() as session:
        checked = await _checked(session, ctx, telegram_id, match_id, tr)
        if isinstance(checked, str):
            return checked, False
        person, match = checked
        outcome, flag_id = await request_end(session, match, person.id or 0, reason, ctx.now())
    if outcome == Requested.ALREADY:
        return _already(tr), True
    if outcome == Requested.ADDED:  # the partner's request was open: it now lists both
        await refresh_copies(ctx.bot, ctx.db, flag_id)
    await notify(ctx.bot, ctx.db, [flag_id], now=ctx.now())
    thanks = tr.gettext(
        "Thank you for telling me. Your coordinator has your request and will be in touch "
        "with you soon to talk it over. Until then nothing changes: your match, check-ins "
        "and meetings go on as before."
    )
    return thanks, True


# --- handlers -----------------------------------------------------------------------------


async def endmatch_command(update: Update, ctx: TandemContext) -> None:
    if ctx.user_data is not None:
        ctx.user_data.pop(WAITING, None)
    async with ctx.db.session() as session:
        person = await participant_or(session, ctx, update, _not_joined(ctx.tr))
        if isinstance(person, Reply):
            text, rows = person.notice or "", []
        else:
            text, rows = await _first_step(session, ctx.tr, person)
    await say(update, text, keyboard(rows) if rows else None)


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr, parsed = ctx.tr, _parse(query.data)
    if parsed is None:
        await query.answer(_stale(tr))
        return
    action, match_id = parsed
    text, rows, usable = await _press(update.effective_user.id, ctx, action, match_id)
    if not usable:
        await query.answer(text)
        return
    asked = action == YES and bool(rows)
    _wait(ctx, match_id, query.message.message_id if query.message else None, asked=asked)
    await show(update, text, rows)


async def _press(
    telegram_id: int, ctx: TandemContext, action: str, match_id: int
) -> tuple[str, list[list[Button]], bool]:
    """What the press shows, or (when the last item is False) why it cannot be used."""
    if action == SKIP:
        text, usable = await _record(ctx, telegram_id, match_id, None)
        return text, [], usable
    async with ctx.db.session() as session:
        checked = await _checked(session, ctx, telegram_id, match_id, ctx.tr)
        if isinstance(checked, str):
            return checked, [], False
        text, rows = await _step(session, ctx.tr, action, *checked)
    return text, rows, True


async def _step(
    session: AsyncSession, tr: Translator, action: str, person: Person, match: Match
) -> tuple[str, list[list[Button]]]:
    if action == PICK:
        return await _confirmation(session, tr, person, match)
    if action == NO:
        text = tr.gettext(
            "Okay, your match goes on. If something is on your mind, you can ask your "
            "coordinator to get in touch in your weekly check-in."
        )
        return text, []
    if requested_by(await open_end_request(session, match.id or 0), person.id or 0):
        return _already(tr), []
    return _reason_question(tr, match)


def _wait(ctx: TandemContext, match_id: int, message_id: int | None, *, asked: bool) -> None:
    """Wait for a typed reason after the question was asked; stop waiting otherwise."""
    if ctx.user_data is None:
        return
    ctx.user_data.pop(WAITING, None)
    if asked:
        ctx.user_data[WAITING] = {
            "match": match_id,
            "at": ctx.now().timestamp(),
            "message": message_id,
        }


def _still_waiting(ctx: TandemContext, waiting: dict[str, Any]) -> bool:
    """Within the hour, and no check-in question was asked since (that one gets it)."""
    asked_at = float(waiting.get("at", 0))
    if ctx.now().timestamp() - asked_at > REASON_WINDOW.total_seconds():
        return False
    checkin_asked = (ctx.user_data or {}).get(ASKED)
    return not (isinstance(checkin_asked, dict) and float(checkin_asked.get("at", 0)) > asked_at)


async def _prompted_since(ctx: TandemContext, telegram_id: int, asked_at: float) -> bool:
    """Whether a check-in or reflection reached the person (sent, or reminded) after the
    reason question: the dispatcher sends those without an update, and the message then
    answers that one."""
    since = datetime.fromtimestamp(asked_at, UTC)
    statement = (
        select(Prompt.id)
        .join(Person, col(Person.id) == col(Prompt.person_id))
        .where(
            Person.telegram_id == telegram_id,
            Prompt.status == PromptStatus.SENT,
            sa.or_(col(Prompt.sent_at) > since, col(Prompt.reminded_at) > since),
        )
        .limit(1)
    )
    async with ctx.db.session() as session:
        return (await session.exec(statement)).first() is not None


def _command(text: str) -> str:
    return text.split(maxsplit=1)[0].partition("@")[0]


async def take_reason(update: Update, ctx: TandemContext) -> None:
    """The message after the reason question. Anything else passes on to the others."""
    data, message, user = ctx.user_data, update.effective_message, update.effective_user
    waiting = (data or {}).get(WAITING)
    if data is None or not isinstance(waiting, dict) or message is None or user is None:
        return
    if (
        not _still_waiting(ctx, waiting)
        or (message.text or "").startswith("/")
        or await _prompted_since(ctx, user.id, float(waiting.get("at", 0)))
    ):
        data.pop(WAITING)
        if message.text is None or _command(message.text) != "/cancel":
            return
        await resolve_language(update, ctx)
        await say(update, ctx.tr.gettext("Okay, I didn't send anything: your match goes on."))
        raise ApplicationHandlerStop
    await resolve_language(update, ctx)
    tr, text = ctx.tr, (message.text or "").strip()
    if not text:
        await say(update, describe_unusable(tr, update, expects_text=True))
    elif len(text) > REASON_LENGTH:
        await say(update, too_long(tr, REASON_LENGTH))
    else:
        data.pop(WAITING)
        if isinstance(waiting.get("message"), int):
            with contextlib.suppress(TelegramError):  # the Skip button is used up
                await ctx.bot.edit_message_reply_markup(
                    chat_id=message.chat_id, message_id=waiting["message"]
                )
        reply, _ = await _record(ctx, user.id, int(waiting.get("match", 0)), text)
        await say(update, reply)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take these; the typed
    reason is `reason_handlers`', in group `REASON_GROUP`."""
    return [
        CommandHandler("endmatch", endmatch_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]


def reason_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """For group `REASON_GROUP`: the typed reason, and forgetting the question when the
    person taps another dialogue's button."""
    return [
        MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, take_reason),
        forget_on_other_buttons(WAITING, PREFIX),
    ]
