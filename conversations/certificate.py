"""/certificate: a participant gets their certificate of completion again; a coordinator
sends one to a participant of their own program.

```mermaid
stateDiagram-v2
    [*] --> Asked: /certificate
    Asked --> Refused: no completed match, not a coordinator
    Asked --> Sent: one completed match (the participant's own)
    Asked --> Choosing: several own, or a coordinator
    Choosing --> Sent: cert:o (own match)
    Choosing --> Whom: cert:m (a closed match of their program)
    Whom --> Delivered: cert:s (mentor or mentee)
    Refused --> [*]
    Sent --> [*]
    Delivered --> [*]
```

A participant's own certificate is for a match that completed the program
(`storage.certificates.completed`); a coordinator may send one for any closed match of a
program they coordinate, an early end included, and that is recorded as an audit event.
The PDF is in the language of the person it is for. Buttons carry
``cert:<o|m>:<match id>`` or ``cert:s:<match id>:<person id>`` and are never trusted:
every press checks again that the match is the presser's own completed one, or a closed
match of a program they coordinate, and that the person is its mentor or mentee.
"""

from __future__ import annotations

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.kit.buttons import BUTTON_CLIP, Button, keyboard, parse_number
from conversations.kit.context import TandemContext, known_person
from conversations.kit.lifecycle import send_certificate
from conversations.kit.reply import say
from conversations.kit.text import clip, member_name, person_name
from conversations.kit.unusable import describe_unusable
from locales.translator import Html, Translator, translator
from storage.certificates import (
    ClosedMatch,
    certificate_facts,
    closed_matches,
    completed_matches,
    record_sent,
)
from storage.models import Person, PersonStatus, Program
from storage.people import coordinated_programs

PREFIX = "cert"
OWN, MATCH, SEND = "o", "m", "s"


def _data(action: str, *numbers: int | None) -> str:
    return ":".join([PREFIX, action, *(str(number or 0) for number in numbers)])


def _stale(tr: Translator) -> str:
    return tr.gettext("That button belongs to an earlier question, so it no longer works.")


# --- /certificate -----------------------------------------------------------------------------


async def certificate_command(update: Update, ctx: TandemContext) -> None:
    assert update.effective_user is not None
    tr = ctx.tr
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        if person is None or person.id is None:
            await say(update, tr.gettext("Send /start with your invitation link to join first."))
            return
        own = await completed_matches(session, person.id)
        programs = [program.id or 0 for program in await coordinated_programs(session, person.id)]
        closed = await closed_matches(session, programs) if programs else []
        if len(own) == 1 and not programs:
            match, program = own[0]
            facts = await certificate_facts(session, match, program, person, ctx.now())
    if len(own) == 1 and not programs:
        assert update.effective_chat is not None
        await send_certificate(ctx.bot, update.effective_chat.id, tr, facts)
        return
    rows = [[(_own_label(tr, program), _data(OWN, match.id))] for match, program in own]
    rows += [
        [(_match_label(tr, closed_match), _data(MATCH, closed_match.match.id))]
        for closed_match in closed
    ]
    if rows:
        await say(update, tr.gettext("Which certificate do you want?"), keyboard(rows))
    elif programs:
        await say(update, tr.gettext("No match of your programs has closed yet."))
    else:
        await say(
            update,
            tr.gettext(
                "Your certificate of completion comes once your match has completed the "
                "program. Then send /certificate at any time to get it again."
            ),
        )


def _own_label(tr: Translator, program: Program) -> str:
    return tr.gettext("Mine: {program}", program=Html(clip(program.name, BUTTON_CLIP)))


def _match_label(tr: Translator, closed: ClosedMatch) -> str:
    names = (
        clip(person_name(tr, person), BUTTON_CLIP) for person in (closed.mentor, closed.mentee)
    )
    return f"#{closed.match.id} · {' & '.join(names)}"


# --- the buttons ------------------------------------------------------------------------------


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr = ctx.tr
    parts = (query.data or "").split(":")
    numbers = [parse_number(part) for part in parts[2:]]
    action = parts[1] if len(parts) > 1 else ""
    shape = {OWN: 1, MATCH: 1, SEND: 2}.get(action)
    if shape is None or len(numbers) != shape or None in numbers:
        await query.answer(describe_unusable(tr, update, expects_text=False))
        return
    match_id, *rest = (number or 0 for number in numbers)
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        if person is None or person.id is None:
            await query.answer(_stale(tr))
            return
        if action == OWN:
            own = {match.id: found for found in await completed_matches(session, person.id)
                   for match in found[:1]}  # fmt: skip
            facts = None
            if match_id in own:
                facts = await certificate_facts(session, *own[match_id], person, ctx.now())
        else:
            programs = await coordinated_programs(session, person.id)
            ids = [program.id or 0 for program in programs]
            found = await closed_matches(session, ids, match_id=match_id) if ids else []
    if action == OWN:
        if facts is None:
            await query.answer(_stale(tr))
            return
        await query.answer()
        assert update.effective_chat is not None
        await send_certificate(ctx.bot, update.effective_chat.id, tr, facts)
    elif not found:
        await query.answer(tr.gettext("Only this program's coordinators can do that."))
    elif action == MATCH:
        await query.answer()
        await _whom(update, tr, found[0])
    else:
        await _send(update, ctx, found[0], rest[0], person)


async def _whom(update: Update, tr: Translator, closed: ClosedMatch) -> None:
    rows: list[list[Button]] = [
        [(tr.gettext("Mentor: {name}", name=Html(member_name(tr, closed.mentor, BUTTON_CLIP))),
          _data(SEND, closed.match.id, closed.mentor.id))],
        [(tr.gettext("Mentee: {name}", name=Html(member_name(tr, closed.mentee, BUTTON_CLIP))),
          _data(SEND, closed.match.id, closed.mentee.id))],
    ]  # fmt: skip
    text = tr.gettext(
        "<b>{program}</b>, match #{match}: whom should I send a certificate?",
        program=closed.program.name,
        match=closed.match.id,
    )
    await say(update, text, keyboard(rows))


async def _send(
    update: Update, ctx: TandemContext, closed: ClosedMatch, person_id: int, actor: Person
) -> None:
    """Send the participant their certificate, in their language, and tell the
    coordinator how it went."""
    query = update.callback_query
    assert query is not None
    tr = ctx.tr
    recipient = next(
        (person for person in (closed.mentor, closed.mentee) if person.id == person_id), None
    )
    if recipient is None:
        await query.answer(_stale(tr))
        return
    name = person_name(tr, recipient)
    if recipient.chat_id is None or recipient.status == PersonStatus.ERASED:
        await query.answer()
        await say(update, tr.gettext("Tandem can no longer reach {name}.", name=name))
        return
    await query.answer()
    async with ctx.db.session() as session:
        facts = await certificate_facts(session, closed.match, closed.program, recipient, ctx.now())
    try:
        await send_certificate(ctx.bot, recipient.chat_id, translator(recipient.locale), facts)
    except TelegramError:
        await say(update, tr.gettext("I could not deliver it to {name}.", name=name))
        return
    async with ctx.db.session() as session:
        record_sent(session, closed, recipient, actor.id or 0, ctx.now())
    await say(update, tr.gettext("Certificate sent to {name}.", name=name))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take /certificate."""
    return [
        CommandHandler("certificate", certificate_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]
