"""/broadcast: a coordinator's message to the mentors and mentees of one of their
programs (everyone, or one role), previewed and confirmed, then sent by the dispatcher.

```mermaid
stateDiagram-v2
    [*] --> Waiting: /broadcast [text] (the program choice, then the audience)
    Waiting --> Waiting: bc:prog (choose the program)
    Waiting --> Writing: bc:to (an audience, no text yet), or bc:edit
    Writing --> Waiting: the text (the preview)
    Waiting --> [*]: bc:send (the deliveries are written), bc:no, /cancel
    Writing --> [*]: /cancel, or onboarding takes the text
```

Steps: the program (when they coordinate several), the audience (with how many each
would reach and how the program's last broadcast went), the text, a preview showing
exactly what arrives, then Send. `/broadcast <text>` gives the text at once.

Buttons carry `bc:<action>:<program id>:<token>[:<argument>]`. The token names the
coordinator's draft (program, audience, text), kept in their user_data; a new preview
gets a new token, and Send, Cancel or the last step end the draft. So a second tap on
Send, or any button of an older screen, finds no matching draft and is refused as stale.
As in every coordinator command, each press also checks again that the person pressing
coordinates the program in the data.

Send writes the broadcast, one pending delivery per recipient and the audit event in one
transaction (`storage.broadcasts`). The dispatcher (`bot/dispatch.py`) sends the
deliveries through the rate limiter, with its retries, and marks those who blocked the bot
unreachable; each recipient reads a first line naming the program in their own language,
then the coordinator's text exactly as typed (escaped: it is never read as formatting).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

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

from conversations.kit.actor import Refused, Task, current_actor, programs_for
from conversations.kit.buttons import CHOICES_PER_PAGE, Button, page_buttons, page_of, parse_number
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext
from conversations.kit.joining import hand_over, reprompt
from conversations.kit.reply import OutgoingMessage, say
from conversations.kit.screens import WAITING, Screen, Turn, not_a_tap, show
from conversations.kit.screens import cancel as stopped
from conversations.kit.text import GROUP_HEADINGS, NAME_CLIP, clip, local_day_text, telegram_length
from conversations.kit.unusable import describe_unusable, explain_unusable, too_long
from locales.translator import (
    N_,
    SUPPORTED_LANGUAGES,
    Html,
    Translator,
    escape,
    normalise_language,
    translator,
)
from storage.broadcasts import (
    RECEIVING,
    Audience,
    Tally,
    audiences,
    create_broadcast,
    last_broadcast,
)
from storage.models import Broadcast, BroadcastDelivery, Person, Program, Role

NAME = "broadcast"
PREFIX = "bc"
WRITING = "writing"  # the text of the message is expected
DRAFT = "broadcast_draft"  # user_data: {"token", "program", "audience", "text"}
cancellable(DRAFT)
# Characters of the coordinator's text, as Telegram counts them (`telegram_length`):
# Telegram takes 4,096 per message, and the preview adds the header and about 400
# characters around it.
TEXT_LIMIT = 3500
AUDIENCES: dict[str, str | None] = {"all": None, "mentor": Role.MENTOR, "mentee": Role.MENTEE}
AUDIENCE_KEYS = {role: key for key, role in AUDIENCES.items()}
AUDIENCE_LABELS = {
    None: N_("Everyone"),
    Role.MENTOR: GROUP_HEADINGS[Role.MENTOR],
    Role.MENTEE: GROUP_HEADINGS[Role.MENTEE],
}
LANGUAGE_COUNTS = {"en": N_("{n} in English"), "fr": N_("{n} in French")}

Step = tuple[Screen, str | int]  # what to show, and the conversation's next state


# --- what participants receive ------------------------------------------------------------


def message_text(tr: Translator, program: str, text: str) -> str:
    """The message as a participant reads it: a first line naming the program, in their
    language, then the coordinator's text as typed."""
    header = tr.gettext("📣 <b>Message from your coordinator</b> · {program}", program=program)
    return f"{header}\n\n{escape(text)}"


async def render_delivery(
    session: AsyncSession, delivery: BroadcastDelivery, person: Person
) -> OutgoingMessage | None:
    """The dispatcher's renderer for broadcasts. None (the delivery fails, unsent) when
    the person stopped taking part since the broadcast was written."""
    if person.status not in RECEIVING:
        return None
    broadcast = await session.get(Broadcast, delivery.broadcast_id)
    program = None if broadcast is None else await session.get(Program, broadcast.program_id)
    if broadcast is None or program is None:
        return None
    tr = translator(person.locale)
    return OutgoingMessage(message_text(tr, program.name, broadcast.text), None)


# --- the draft and the buttons ------------------------------------------------------------


def _draft(ctx: TandemContext) -> dict[str, Any] | None:
    assert ctx.user_data is not None
    draft = ctx.user_data.get(DRAFT)
    return draft if isinstance(draft, dict) else None


def _start_draft(ctx: TandemContext, text: str | None) -> None:
    assert ctx.user_data is not None
    ctx.user_data[DRAFT] = {"token": secrets.token_urlsafe(6), "text": text}


def _drop_draft(ctx: TandemContext) -> None:
    if ctx.user_data is not None:
        ctx.user_data.pop(DRAFT, None)


def _data(action: str, program_id: int | None, token: str, *args: object) -> str:
    return ":".join([PREFIX, action, str(program_id or 0), token, *(str(arg) for arg in args)])


@dataclass(frozen=True)
class Press:
    """A button's data, parsed but not yet trusted."""

    action: str
    program_id: int
    token: str
    argument: str


def _parse(raw: str | None) -> Press | None:
    parts = (raw or "").split(":")
    if len(parts) not in (4, 5) or parts[0] != PREFIX:
        return None
    program_id = parse_number(parts[2])
    if program_id is None:
        return None
    return Press(parts[1], program_id, parts[3], parts[4] if len(parts) == 5 else "")


def _audience_label(tr: Translator, role: str | None) -> str:
    return tr.gettext(AUDIENCE_LABELS[role])


# --- the screens ----------------------------------------------------------------------------


async def _open(session: AsyncSession, update: Update, ctx: TandemContext, page: int) -> Step:
    """The audience for a coordinator's only program, or a choice of program first."""
    actor = await current_actor(session, update, ctx)
    programs = await programs_for(session, actor, Task.PEOPLE)  # their own programs only
    if not programs:
        raise Refused(ctx.tr.gettext("This command is for program coordinators."))
    draft = _draft(ctx)
    assert draft is not None
    token = draft["token"]
    if len(programs) == 1:
        return await _audiences(Turn(session, update, ctx, actor, programs[0]))
    shown, page, pages = page_of(programs, page, CHOICES_PER_PAGE)
    rows = [
        [(clip(program.name, NAME_CLIP), _data("prog", program.id, token))] for program in shown
    ]
    rows.append(page_buttons(ctx.tr, page, pages, partial(_data, "page", 0, token)))
    return Screen(ctx.tr.gettext("Which program is your message for?"), rows), WAITING


def _tally_line(tr: Translator, tally: Tally, zone: str | None) -> str:
    parts = [
        tr.ngettext(
            "sent to {sent} of {n} person",
            "sent to {sent} of {n} people",
            tally.total,
            sent=tally.sent,
        )
    ]
    if tally.failed:
        parts.append(tr.ngettext("{n} not delivered", "{n} not delivered", tally.failed))
    if tally.waiting:
        parts.append(tr.ngettext("{n} still to send", "{n} still to send", tally.waiting))
    if tally.interrupted:
        parts.append(
            tr.ngettext(
                "{n} interrupted (it may have arrived)",
                "{n} interrupted (they may have arrived)",
                tally.interrupted,
            )
        )
    return tr.gettext(
        "<b>Last message</b> ({date}, {audience}): {outcome}.",
        date=local_day_text(tr, tally.broadcast.created_at, zone),
        audience=_audience_label(tr, tally.broadcast.role),
        outcome=Html(", ".join(parts)),
    )


def _left_out(tr: Translator, audience: Audience) -> str | None:
    count = len(audience.unreachable)
    if not count:
        return None
    return tr.ngettext(
        "{n} person who blocked Tandem is left out.",
        "{n} people who blocked Tandem are left out.",
        count,
    )


async def _audiences(turn: Turn) -> Step:
    tr, program_id = turn.tr, turn.program_id
    draft = _draft(turn.ctx)
    assert draft is not None
    found = await audiences(turn.session, program_id, author_id=turn.actor.person_id)
    lines = [
        tr.gettext("<b>{program}</b>: who should receive your message?", program=turn.program.name),
        tr.gettext(
            "Mentors and mentees who have finished joining the program. You'll see a "
            "preview before anything is sent."
        ),
    ]
    left_out = _left_out(tr, found[None])
    if left_out:
        lines.append(left_out)
    tally = await last_broadcast(turn.session, program_id, turn.ctx.now())
    if tally is not None:
        zone = (turn.actor.person and turn.actor.person.timezone) or turn.program.timezone
        lines += ["", _tally_line(tr, tally, zone)]
    rows = [
        [
            (
                f"{_audience_label(tr, role)} ({tr.number(len(found[role].recipients))})",
                _data("to", program_id, draft["token"], AUDIENCE_KEYS[role]),
            )
        ]
        for role in AUDIENCES.values()
    ]
    rows.append([(tr.gettext("Cancel"), _data("no", program_id, draft["token"]))])
    return Screen("\n".join(lines), rows), WAITING


async def _audience(turn: Turn, draft: dict[str, Any]) -> Audience:
    """Who the draft's audience is in the turn's program, as of now."""
    found = await audiences(turn.session, turn.program_id, author_id=turn.actor.person_id)
    return found[AUDIENCES[draft["audience"]]]


async def _writing(turn: Turn, draft: dict[str, Any], audience: Audience) -> Step:
    """Ask for the text of the message to `audience`."""
    tr = turn.tr
    lines = [
        tr.gettext(
            "<b>{program}</b> · {audience} ({people})",
            program=turn.program.name,
            audience=_audience_label(tr, audience.role),
            people=tr.ngettext("{n} person", "{n} people", len(audience.recipients)),
        ),
        tr.gettext(
            "Send the message text now, up to {limit} characters. You'll see a preview "
            "before anything is sent. Send /cancel to stop.",
            limit=tr.number(TEXT_LIMIT),
        ),
    ]
    rows = [[(tr.gettext("Cancel"), _data("no", turn.program_id, draft["token"]))]]
    return Screen("\n\n".join(lines), rows), WRITING


async def _preview(turn: Turn, draft: dict[str, Any], audience: Audience) -> Step:
    """Exactly what `audience` will receive, how many and in which languages; a new
    token, so the buttons of any earlier preview no longer work."""
    tr = turn.tr
    count = len(audience.recipients)
    if not count:
        return Screen(_nobody(tr)), ConversationHandler.END
    draft["token"] = token = secrets.token_urlsafe(6)
    by_language = Counter(normalise_language(code) for code in audience.recipients.values())
    languages = ", ".join(
        tr.gettext(LANGUAGE_COUNTS[language], n=by_language[language])
        for language in SUPPORTED_LANGUAGES
        if by_language[language]
    )
    lines = [
        tr.gettext("<b>Preview</b>: this is what they will receive."),
        f"<blockquote>{message_text(tr, turn.program.name, draft['text'])}</blockquote>",
        tr.ngettext(
            "{n} person will receive it: {languages}.",
            "{n} people will receive it: {languages}.",
            count,
            languages=Html(languages),
        ),
        tr.gettext("Each of them reads the first line in their own language."),
    ]
    left_out = _left_out(tr, audience)
    if left_out:
        lines.append(left_out)
    program_id = turn.program_id
    rows: list[list[Button]] = [
        [
            (
                tr.ngettext("Send to {n} person", "Send to {n} people", count),
                _data("send", program_id, token),
            )
        ],
        [
            (tr.gettext("Edit text"), _data("edit", program_id, token)),
            (tr.gettext("Cancel"), _data("no", program_id, token)),
        ],
    ]
    return Screen("\n\n".join(lines), rows), WAITING


def _nobody(tr: Translator) -> str:
    return tr.gettext(
        "Nobody in this audience can receive a message right now, so nothing was sent."
    )


# --- the buttons ----------------------------------------------------------------------------


async def choose_program(turn: Turn, draft: dict[str, Any]) -> Step:
    return await _audiences(turn)


async def choose_audience(turn: Turn, draft: dict[str, Any]) -> Step:
    if turn.args[0] not in AUDIENCES:
        raise turn.stale()
    draft.update(program=turn.program_id, audience=turn.args[0])
    audience = await _audience(turn, draft)
    if not audience.recipients:
        screen, state = await _audiences(turn)
        screen.notice = turn.tr.gettext("Nobody in this audience can receive a message right now.")
        return screen, state
    if draft.get("text"):  # given with the command
        return await _preview(turn, draft, audience)
    return await _writing(turn, draft, audience)


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
    return await _writing(turn, draft, await _audience(turn, draft))


async def send(turn: Turn, draft: dict[str, Any]) -> Step:
    if not _ready(turn, draft):
        raise turn.stale()
    _drop_draft(turn.ctx)  # a second tap on Send finds no draft
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
        return Screen(_nobody(turn.tr)), ConversationHandler.END
    tr, (_, count) = turn.tr, created
    sending = tr.ngettext(
        "📤 Sending to {n} person… Send /broadcast later to see how it went.",
        "📤 Sending to {n} people… Send /broadcast later to see how it went.",
        count,
    )
    text = message_text(tr, turn.program.name, draft["text"])
    return Screen(f"<blockquote>{text}</blockquote>\n\n{sending}"), ConversationHandler.END


async def cancel_draft(turn: Turn, draft: dict[str, Any]) -> Step:
    _drop_draft(turn.ctx)
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
        draft = _draft(ctx)
        if page is None or draft is None or draft.get("token") != press.token:
            raise stale
        return await _open(session, update, ctx, page)
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
    draft = _draft(ctx)
    if draft is None or draft.get("token") != press.token:
        raise stale
    turn = Turn(session, update, ctx, actor, program, (press.argument,))
    return await ACTIONS[press.action](turn, draft)


async def on_button(update: Update, ctx: TandemContext) -> str | int | None:
    query = update.callback_query
    assert query is not None
    press = _parse(query.data)
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


# --- the command and typed input ------------------------------------------------------------


async def broadcast_command(update: Update, ctx: TandemContext) -> str | int | None:
    """/broadcast, or /broadcast followed by the text."""
    message = update.effective_message
    assert message is not None
    words = (message.text or "").split(None, 1)
    text = words[1].strip() if len(words) > 1 else None
    if text is not None and telegram_length(text) > TEXT_LIMIT:
        await say(update, too_long(ctx.tr, TEXT_LIMIT))
        return None
    _start_draft(ctx, text)
    try:
        async with ctx.db.session() as session:
            screen, state = await _open(session, update, ctx, 0)
    except Refused as refusal:
        _drop_draft(ctx)
        await say(update, str(refusal))
        await reprompt(update, ctx)
        return ConversationHandler.END
    await show(update, ctx, screen)
    return state


async def on_message(update: Update, ctx: TandemContext) -> str | int | None:
    """A message while the text is expected: the text (a preview follows), or a clear
    answer for anything else. Unless the coordinator has since started joining another
    program or role: then it answers onboarding's question, and this dialogue ends."""
    if await hand_over(update, ctx):
        return ConversationHandler.END
    message, draft = update.effective_message, _draft(ctx)
    if message is None or message.text is None or not message.text.strip():
        await explain_unusable(update, ctx, expects_text=True)
        return None
    text = message.text.strip()
    if telegram_length(text) > TEXT_LIMIT:
        await say(update, too_long(ctx.tr, TEXT_LIMIT))
        return None
    if draft is None or draft.get("audience") not in AUDIENCES:
        await say(update, ctx.tr.gettext("Send /broadcast to write to your program again."))
        return ConversationHandler.END
    try:
        async with ctx.db.session() as session:
            actor = await current_actor(session, update, ctx)
            program_id = draft.get("program")
            program = (
                await session.get(Program, program_id) if program_id in actor.coordinates else None
            )
            if program is None:
                raise Refused(ctx.tr.gettext("Only this program's coordinators can do that."))
            draft["text"] = text
            turn = Turn(session, update, ctx, actor, program)
            screen, state = await _preview(turn, draft, await _audience(turn, draft))
    except Refused as refusal:
        _drop_draft(ctx)
        await say(update, str(refusal))
        return ConversationHandler.END
    await show(update, ctx, screen)
    return state


async def cancel(update: Update, ctx: TandemContext) -> int:
    _drop_draft(ctx)
    return await stopped(update, ctx)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding (whose catch-all would take /broadcast) and before the
    other coordinator commands (whose wait for a tap would take the text)."""
    private = filters.ChatType.PRIVATE
    buttons = CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:")
    return [
        ConversationHandler(
            entry_points=[CommandHandler("broadcast", broadcast_command, private), buttons],
            states={
                WAITING: [
                    buttons,
                    MessageHandler(private & ~filters.COMMAND, not_a_tap),
                ],
                WRITING: [buttons, MessageHandler(private & ~filters.COMMAND, on_message)],
            },
            fallbacks=[CommandHandler("cancel", cancel, private)],
            name=NAME,
            persistent=True,
            allow_reentry=True,
        )
    ]
