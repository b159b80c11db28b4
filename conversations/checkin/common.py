"""What the check-in's sub-flows share: this week's check-in for a match, one tap read in
its transaction (`TapContext`), the question a check-in is waiting for, and the refusals
they all give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations import engine
from conversations.instruments import (
    Instrument,
    instrument_key_for,
)
from conversations.kit.context import TandemContext
from conversations.kit.profile import program_slot
from conversations.kit.prompt import (
    contact_from_logs,
    instrument_of,
    participant_or,
    question_message,
)
from conversations.kit.reply import (
    Asked,
    Reply,
)
from locales.translator import Translator
from storage.answers import (
    Tapped,
    open_prompt,
    role_in,
    stored_answers,
)
from storage.db import upsert
from storage.models import (
    Match,
    Person,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
)
from storage.programs import zone_of
from storage.prompt_facts import PromptFacts
from storage.schedule import (
    WEEK,
    Occurrence,
    Slot,
    current_occurrence,
    occurrences,
    reminder_delay,
)


def slot_of(person: Person, program: Program | None) -> Slot:
    """The person's weekly slot, each part falling back to the program's (as the
    dispatcher schedules it)."""
    weekday, moment = program_slot(program)
    return Slot(
        weekday=weekday if person.checkin_weekday is None else person.checkin_weekday,
        at=moment if person.checkin_time is None else person.checkin_time,
        zone=zone_of(person, program),
    )


def this_weeks_occurrence(slot: Slot, now: datetime, starts_at: datetime) -> Occurrence:
    """The check-in /checkin and /skip act on: the one whose period is open now — or,
    when that one began before the match did, the coming one (answered ahead of time,
    the dispatcher then has nothing left to send for it)."""
    current = current_occurrence(slot, now)
    if current.due_at >= starts_at:
        return current
    return occurrences(slot, now, now + WEEK + timedelta(days=1))[0]


async def week_prompt(
    session: AsyncSession, person: Person, match: Match, now: datetime, *, status: str
) -> Prompt:
    """This week's check-in for one match (see `this_weeks_occurrence`), created with
    `status` when the dispatcher has not made it yet — with the period, times and
    instrument the dispatcher would give it. The unique key (person, match, kind, period)
    makes a concurrent creation harmless: whoever comes second finds the first one's row."""
    assert person.id is not None and match.id is not None
    program = await session.get(Program, match.program_id)
    occurrence = this_weeks_occurrence(slot_of(person, program), now, match.started_at)
    delay = reminder_delay((program.settings if program else None) or {})
    role = role_in(match, person.id)
    values = {
        "person_id": person.id,
        "match_id": match.id,
        "kind": PromptKind.CHECKIN,
        "period": occurrence.period,
        "instrument": instrument_key_for(program, role, occurrence.pulse),
        "due_at": occurrence.due_at,
        "closes_at": occurrence.closes_at,
        "status": status,
        "attempts": 0,
        "sent_at": now if status == PromptStatus.SENT else None,
        "remind_at": None if delay is None else max(now, occurrence.due_at) + delay,
    }
    table = Prompt.__table__  # type: ignore[attr-defined]
    statement = upsert(session, table).values(**values).on_conflict_do_nothing()
    await session.exec(statement)
    found = await session.exec(
        select(Prompt)
        .where(
            Prompt.person_id == person.id,
            Prompt.match_id == match.id,
            Prompt.kind == PromptKind.CHECKIN,
            Prompt.period == occurrence.period,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found.one()


@dataclass
class TapContext:
    """One tap on a check-in button, read inside the transaction that handles it."""

    session: AsyncSession
    ctx: TandemContext
    person: Person
    tapped: Tapped  # the prompt, its answers and goals as stored when the tap came
    tap: engine.Tap
    message_id: int | None

    @property
    def prompt(self) -> Prompt:
        return self.tapped.prompt

    @property
    def answers(self) -> dict[str, str]:
        return self.tapped.answers

    async def instrument(self) -> Instrument | None:
        """The prompt's questions (`instrument_of`), with the goals read with the tap."""
        prompt = self.prompt
        facts = PromptFacts(goals={(prompt.person_id, prompt.match_id): self.tapped.goals})
        return await instrument_of(self.session, prompt, facts)

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    @property
    def is_open(self) -> bool:
        return self.prompt.closes_at > self.ctx.now()

    async def stale(self, notice: str) -> Reply:
        """Refuse the tap with `notice` and ask the current question again, if any."""
        reply = await current_question(self.session, self.ctx, self.person)
        reply.notice = notice
        return reply


async def current_question(
    session: AsyncSession, ctx: TandemContext, person: Person, *, before: str | None = None
) -> Reply:
    """The question the person's open check-in is waiting for, asked again (nothing when
    there is none)."""
    assert person.id is not None
    prompt = await open_prompt(session, person.id, ctx.now())
    instrument = await instrument_of(session, prompt) if prompt else None
    if prompt is None or instrument is None or prompt.id is None:
        return Reply()
    answers = await stored_answers(session, prompt.id)
    noted = await contact_from_logs(session, ctx.tr, prompt, person, instrument, answers)
    question = engine.next_question(instrument, answers)
    if question is None:
        return Reply()
    before = "\n\n".join(line for line in (before, noted) if line) or None
    message = question_message(ctx.tr, prompt.id, question, before=before)
    return Reply(messages=[message], asked=Asked(prompt.id, question.key))


def stale_button(tr: Translator) -> str:
    return tr.gettext("That button belongs to an earlier question, so it no longer works.")


def closed_text(tr: Translator) -> str:
    return tr.gettext("This check-in is closed now, so it can no longer be changed.")


def refusal(tr: Translator, prompt: Prompt) -> str:
    if prompt.status == PromptStatus.SKIPPED:
        return tr.gettext(
            "You skipped this check-in. Send /checkin if you'd like to answer it after all."
        )
    return closed_text(tr)


def done_or_closed(tr: Translator, prompt: Prompt) -> str:
    if prompt.status == PromptStatus.ANSWERED:
        return tr.gettext("You've already answered this check-in. Thank you!")
    return refusal(tr, prompt)


async def program_of(session: AsyncSession, prompt: Prompt) -> Program | None:
    match = await session.get(Match, prompt.match_id)
    return await session.get(Program, match.program_id) if match else None


async def participant(session: AsyncSession, update: Update, ctx: TandemContext) -> Person | Reply:
    return await participant_or(
        session,
        ctx,
        update,
        ctx.tr.gettext(
            "Check-ins start once you have joined a program. Send /start to continue "
            "joining, or open the invitation link your coordinator sent you."
        ),
    )


def no_match(tr: Translator) -> str:
    return tr.gettext(
        "You don't have a match yet, so there's no check-in for now. Your coordinator will "
        "let you know when you're paired."
    )
