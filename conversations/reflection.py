"""Reflection prompts: /reflect (one now), /journal (one's own answers), and typed answers
to a reflection that is open.

The dispatcher sends reflections like check-ins (Prompt rows of kind "reflection", see
`storage.schedule.plan_reflections`), and they are asked and answered through the prompt
service (conversations/kit/prompt.py) the check-ins use: the same first message, buttons,
typed answers stored as they come, summary and edits; the check-in dialogue takes their
taps. This module adds what is particular to them. A journal only ever shows the person's
own answers: a match partner never reads the other's reflections (coordinators do, for
program evaluation, as the consent wording says).

Callback data: ``journal:<page>``.

```mermaid
stateDiagram-v2
    [*] --> Asking: the dispatcher sends one / /reflect
    Asking --> Asking: a typed answer (next question)
    Asking --> Answered: the last question answered (summary)
    Answered --> [*]
    [*] --> Journal: /journal
    Journal --> Journal: ◀ / ▶ (journal:<page>)
    Journal --> [*]
```
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import engine
from conversations.instruments import Instrument, InstrumentError, load_instrument
from conversations.kit.buttons import Button, keyboard, parse_number
from conversations.kit.context import TandemContext, known_person
from conversations.kit.prompt import (
    render_prompt,
    take_typed,
)
from conversations.kit.reply import Asked, OutgoingMessage, Reply, deliver, say
from conversations.kit.text import telegram_length
from locales.translator import Translator, escape
from storage.answers import active_matches, role_in, stored_answers
from storage.models import (
    Match,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
)
from storage.programs import zone_of
from storage.reflections import Entry, open_reflection_of, reflection_answers
from storage.schedule import (
    WEEK,
    period_key,
    reflection_instrument,
    weeks_since,
)

JOURNAL = "journal"
PAGE_LIMIT = 3800  # characters of HTML per journal message, under Telegram's 4096
MAX_ON_DEMAND = 5  # reflections asked for with /reflect in one week, at most


# --- /reflect ---------------------------------------------------------------------------------


async def reflect_command(update: Update, ctx: TandemContext) -> None:
    """/reflect: the open reflection again, or a new one now."""
    assert update.effective_user is not None
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        if person is None or person.id is None or person.status == PersonStatus.ONBOARDING:
            reply = Reply(notice=_not_taking_part(ctx.tr))
        else:
            reply = await _reflect_now(session, ctx, person)
    await deliver(update, ctx, reply)


def _not_taking_part(tr: Translator) -> str:
    return tr.gettext(
        "Reflections start once you have joined a program and been matched. Send /start to "
        "continue joining, or open the invitation link your coordinator sent you."
    )


async def _reflect_now(session: AsyncSession, ctx: TandemContext, person: Person) -> Reply:
    assert person.id is not None
    now = ctx.now()
    prompt = await open_reflection_of(session, person.id, now)
    if prompt is None:
        matches = await active_matches(session, person.id)
        if not matches:
            return Reply(
                notice=ctx.tr.gettext(
                    "You don't have a match yet, so there's nothing to reflect on for now."
                )
            )
        prompt = await _on_demand(session, person, matches[0], now)
    if prompt is None:
        return Reply(
            notice=ctx.tr.gettext(
                "You've written several reflections this week already. Send /journal to read them."
            )
        )
    return await _send(session, person, prompt, now)


async def _on_demand(
    session: AsyncSession, person: Person, match: Match, now: datetime
) -> Prompt | None:
    """This week's (the person's local ISO week) scheduled reflection when the
    dispatcher has not sent it yet — answered ahead of time, it is not sent again — else a
    new one (period keys "2026-W47", "2026-W47-2", … so each stays unique); None once
    the week has had `MAX_ON_DEMAND`."""
    assert person.id is not None and match.id is not None
    program = await session.get(Program, match.program_id)
    week = period_key(now.astimezone(zone_of(person, program)).date())
    periods = [
        week,
        *(f"{week}-{n}" for n in range(2, MAX_ON_DEMAND + 1)),
    ]
    existing = {
        prompt.period: prompt
        for prompt in (
            await session.exec(
                select(Prompt).where(
                    Prompt.person_id == person.id,
                    Prompt.match_id == match.id,
                    Prompt.kind == PromptKind.REFLECTION,
                    col(Prompt.period).in_(periods),
                )
            )
        ).all()
    }
    pending = existing.get(week)
    if pending is not None and pending.status == PromptStatus.PENDING:
        return pending
    free = next((period for period in periods if period not in existing), None)
    if free is None:
        return None
    weeks = program.weeks if program else 12
    instrument = reflection_instrument(
        role_in(match, person.id), weeks_since(match.started_at, now), weeks
    )
    prompt = Prompt(
        person_id=person.id,
        match_id=match.id,
        kind=PromptKind.REFLECTION,
        period=free,
        instrument=instrument,
        due_at=now,
        closes_at=now + WEEK,
    )
    session.add(prompt)
    await session.flush()
    return prompt


async def _send(session: AsyncSession, person: Person, prompt: Prompt, now: datetime) -> Reply:
    """The reflection's first message (the question it is waiting for), marked sent."""
    if prompt.status != PromptStatus.SENT:
        prompt.status, prompt.sent_at = PromptStatus.SENT, prompt.sent_at or now
        session.add(prompt)
    assert prompt.id is not None
    message = await render_prompt(session, prompt, person)
    instrument = _instrument(prompt.instrument)
    answers = await stored_answers(session, prompt.id)
    question = engine.next_question(instrument, answers) if instrument else None
    return Reply(
        messages=[message],
        asked=Asked(prompt.id, question.key) if question else None,
        record_first_message_of=prompt.id,
    )


def _instrument(key: str) -> Instrument | None:
    try:
        return load_instrument(key)
    except InstrumentError:
        return None


# --- typed answers ------------------------------------------------------------------------


async def take_text(update: Update, ctx: TandemContext) -> bool:
    """A message while a reflection waits for a typed answer: stored, then the next
    question or the summary. False when no reflection is waiting for it."""
    return await take_typed(update, ctx, open_reflection_of)


# --- /journal ---------------------------------------------------------------------------------


def _entry_text(tr: Translator, entry: Entry, person: Person) -> str:
    day = tr.date(entry.answered_at.astimezone(zone_of(person, None)).date(), "long")
    instrument = _instrument(entry.instrument)
    question = instrument.question(entry.question) if instrument else None
    heading = f"<b>{escape(day)}</b>"
    if question is not None:
        heading += f" · <i>{engine.question_text(tr, question)}</i>"
    budget = PAGE_LIMIT - telegram_length(heading) - 200
    return f"{heading}\n{_clipped(entry.value, budget)}"


def _clipped(value: str, budget: int) -> str:
    """`value` escaped for HTML, cut (with …) so that it takes at most `budget`
    characters as Telegram counts them."""
    shown = escape(value)
    if telegram_length(shown) <= budget:
        return shown
    used = cut = 0
    for char in value:
        used += telegram_length(escape(char))
        if used > budget - 1:
            break
        cut += 1
    return escape(value[:cut] + "…")


def journal_pages(tr: Translator, entries: Sequence[Entry], person: Person) -> list[str]:
    """The entries packed into messages of at most `PAGE_LIMIT` characters each."""
    pages: list[list[str]] = [[]]
    used = 0
    for entry in entries:
        text = _entry_text(tr, entry, person)
        if pages[-1] and used + telegram_length(text) + 2 > PAGE_LIMIT:
            pages.append([])
            used = 0
        pages[-1].append(text)
        used += telegram_length(text) + 2
    return ["\n\n".join(page) for page in pages]


def _journal_message(tr: Translator, pages: list[str], page: int) -> OutgoingMessage:
    if not pages or not pages[0]:
        empty = tr.gettext(
            "Your journal is empty for now. Send /reflect to write your first reflection."
        )
        return OutgoingMessage(empty, None)
    page = min(max(page, 0), len(pages) - 1)
    title = tr.gettext("Your journal")
    if len(pages) > 1:
        title = tr.gettext("Your journal · page {page} of {pages}", page=page + 1, pages=len(pages))
    footer = tr.gettext("Only you and your program's coordinators can read these.")
    text = f"<b>{title}</b>\n\n{pages[page]}\n\n<i>{footer}</i>"
    buttons: list[Button] = []
    if page > 0:
        buttons.append((tr.gettext("‹ Newer"), f"{JOURNAL}:{page - 1}"))
    if page < len(pages) - 1:
        buttons.append((tr.gettext("Older ›"), f"{JOURNAL}:{page + 1}"))
    return OutgoingMessage(text, keyboard([buttons]) if buttons else None)


async def _journal(update: Update, ctx: TandemContext, page: int) -> OutgoingMessage:
    assert update.effective_user is not None
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        if person is None or person.id is None:
            return OutgoingMessage(_not_taking_part(ctx.tr), None)
        entries = await reflection_answers(session, person.id)
    return _journal_message(ctx.tr, journal_pages(ctx.tr, entries, person), page)


async def journal_command(update: Update, ctx: TandemContext) -> None:
    """/journal: the person's own reflections, newest first, paged."""
    message = await _journal(update, ctx, 0)
    await say(update, message.text, message.markup)


async def on_journal_page(update: Update, ctx: TandemContext) -> None:
    """Newer / Older: another page of the presser's own journal (the data holds only a
    page number, so there is nothing of anyone else's to forge)."""
    query = update.callback_query
    assert query is not None
    argument = (query.data or "").removeprefix(f"{JOURNAL}:")
    message = await _journal(update, ctx, parse_number(argument) or 0)
    await query.answer()
    await query.edit_message_text(
        message.text,
        parse_mode=ParseMode.HTML,
        reply_markup=message.markup,
        disable_web_page_preview=True,
    )


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding: its catch-all would take these otherwise. Typed
    answers come through onboarding's catch-all, which calls `take_text`."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("reflect", reflect_command, private),
        CommandHandler("journal", journal_command, private),
        CallbackQueryHandler(on_journal_page, pattern=rf"^{JOURNAL}:"),
    ]
