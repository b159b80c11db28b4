"""Builders for the set-up the tests share, written straight to the database as the bot
would have left it: people who finished onboarding, a pair matched a month ago, a
check-in due now (delivered or not), a flag. Tests call them with only what differs.

The session-level builders (`onboarded`, `add_membership`, `add_match`) serve set-ups
that write many rows in one transaction; the others open their own session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any, NamedTuple

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.checkin import render_prompt
from conversations.kit.consent import CONSENT_VERSION
from conversations.kit.sending import send_html
from storage.db import Database
from storage.models import (
    Flag,
    FlagStatus,
    Match,
    Membership,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptStatus,
    Role,
)
from storage.pairing import create_match
from tests.fakebot import SentMessage
from tests.harness import FakeTelegram, FakeUser

ALICE, ROBERT, MALLORY = 101, 202, 666
Clock = Callable[[], datetime]
Render = Callable[[AsyncSession, Prompt, Person], Awaitable[Any]]  # render_prompt and kin
PERIOD = "2026-W47"  # the clock starts on Monday 2026-11-16, 9:00 in Toronto

MONDAY_NINE_IN_TORONTO: dict[str, Any] = {
    "timezone": "America/Toronto",
    "checkin_weekday": 0,
    "checkin_time": time(9),
}


class Pair(NamedTuple):
    """A mentee and a mentor matched together; unpacks as `mentee, mentor, match`."""

    mentee: Person
    mentor: Person
    match: Match


# --- in an open session ----------------------------------------------------------------------


async def add_membership(
    session: AsyncSession,
    now: datetime,
    person_id: int,
    program_id: int,
    role: str,
    *,
    field: str | None = None,
) -> None:
    """A role in a program whose onboarding is complete."""
    session.add(
        Membership(
            person_id=person_id,
            program_id=program_id,
            role=role,
            field=field,
            joined_at=now,
            completed_at=now,
        )
    )


async def onboarded(
    session: AsyncSession,
    now: datetime,
    *,
    program_id: int,
    role: str,
    telegram_id: int,
    name: str,
    field: str | None = None,
    consent_version: str = CONSENT_VERSION,
    **person: Any,
) -> Person:
    """Someone who finished onboarding: consented, active, their membership complete.
    `person` sets any other column (locale, time zone, username…); unset ones keep the
    model's defaults, as they would after an onboarding that skipped them."""
    row = Person(
        telegram_id=telegram_id,
        chat_id=telegram_id,
        name=name,
        status=PersonStatus.ACTIVE,
        consent_at=now,
        consent_version=consent_version,
        created_at=now,
        **person,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    await add_membership(session, now, row.id, program_id, role, field=field)
    return row


async def add_match(
    session: AsyncSession,
    program_id: int,
    mentor: Person,
    mentee: Person,
    started_at: datetime,
    **fields: Any,
) -> Match:
    match = Match(
        program_id=program_id,
        mentor_id=mentor.id or 0,
        mentee_id=mentee.id or 0,
        started_at=started_at,
        **fields,
    )
    session.add(match)
    await session.flush()
    return match


# --- each in its own session -----------------------------------------------------------------


async def add_participant(
    database: Database,
    program: Program,
    clock: Clock,
    *,
    telegram_id: int,
    name: str,
    role: str,
    locale: str = "en",
) -> Person:
    """Someone who finished onboarding: Monday 9:00 in Toronto, like their program."""
    async with database.session() as session:
        return await onboarded(
            session, clock(), program_id=program.id or 0, role=role, telegram_id=telegram_id,
            name=name, locale=locale, **MONDAY_NINE_IN_TORONTO,
        )  # fmt: skip


async def add_pair(
    database: Database, program: Program, clock: Clock, *, mentor_locale: str = "fr"
) -> Pair:
    """Alice Martin (mentee, English) matched a month ago with Robert Tremblay (mentor)."""
    mentee = await add_participant(
        database, program, clock, telegram_id=ALICE, name="Alice Martin", role=Role.MENTEE
    )
    mentor = await add_participant(
        database, program, clock, telegram_id=ROBERT, name="Robert Tremblay", role=Role.MENTOR,
        locale=mentor_locale,
    )  # fmt: skip
    async with database.session() as session:
        match = await add_match(
            session, program.id or 0, mentor, mentee, clock() - timedelta(days=30)
        )
    return Pair(mentee, mentor, match)


async def add_prompt(
    database: Database,
    clock: Clock,
    person: Person,
    match: Match,
    instrument: str,
    *,
    status: str = PromptStatus.SENT,
    period: str = PERIOD,
    due_at: datetime | None = None,
) -> int:
    """A check-in row as the dispatcher makes it (due now, open for a week)."""
    due = due_at or clock()
    async with database.session() as session:
        prompt = Prompt(
            person_id=person.id or 0,
            match_id=match.id or 0,
            kind="checkin",
            period=period,
            instrument=instrument,
            due_at=due,
            closes_at=due + timedelta(days=7),
            status=status,
            sent_at=clock() if status == PromptStatus.SENT else None,
            remind_at=due + timedelta(hours=24),
        )
        session.add(prompt)
        await session.flush()
        assert prompt.id is not None
        return prompt.id


async def deliver_prompt(
    tg: FakeTelegram,
    database: Database,
    prompt_id: int,
    render: Render = render_prompt,
    *,
    record: bool = True,
) -> SentMessage:
    """Send what `render` makes of the prompt as the dispatcher does (the check-in's first
    message unless told), and record the message's id on the prompt when `record`."""
    async with database.session() as session:
        prompt = await session.get(Prompt, prompt_id)
        assert prompt is not None
        person = await session.get(Person, prompt.person_id)
        assert person is not None and person.chat_id is not None
        message = await render(session, prompt, person)
        message_id = await send_html(
            tg.application.bot, person.chat_id, message.text, message.markup, preview=True
        )
        if record:
            prompt.telegram_message_id = message_id
            session.add(prompt)
    return tg.api.message(person.chat_id, message_id)


class Asked(NamedTuple):
    """A check-in that was delivered: its row's id and its first message."""

    prompt_id: int
    first: SentMessage


async def ask(
    tg: FakeTelegram, database: Database, clock: Clock, person: Person, match: Match
) -> Asked:
    """This week's check-in for `person`, due now and delivered as the dispatcher does."""
    instrument = "mentor_weekly" if person.id == match.mentor_id else "mentee_weekly"
    prompt_id = await add_prompt(database, clock, person, match, instrument)
    return Asked(prompt_id, await deliver_prompt(tg, database, prompt_id))


async def add_flag(
    database: Database,
    clock: Clock,
    match: Match,
    rule: str,
    severity: str,
    *,
    status: str = FlagStatus.OPEN,
    days_ago: float = 0,
    snoozed_days: float | None = None,
    evidence: dict[str, Any] | None = None,
) -> Flag:
    """A flag opened `days_ago` days ago, snoozed for `snoozed_days` more if given."""
    async with database.session() as session:
        flag = Flag(
            match_id=match.id or 0,
            rule=rule,
            severity=severity,
            evidence=evidence or {},
            status=status,
            opened_at=clock() - timedelta(days=days_ago),
            snoozed_until=None if snoozed_days is None else clock() + timedelta(days=snoozed_days),
        )
        session.add(flag)
    return flag


class Ask:
    """The `ask` fixture: this week's check-in for one side of the `pair` fixture, due now
    and delivered (`prompt_id, first = await ask.mentee()`)."""

    def __init__(self, tg: FakeTelegram, database: Database, clock: Clock, pair: Pair) -> None:
        self.tg, self.database, self.clock, self.pair = tg, database, clock, pair

    async def mentee(self) -> Asked:
        return await ask(self.tg, self.database, self.clock, self.pair.mentee, self.pair.match)

    async def mentor(self) -> Asked:
        return await ask(self.tg, self.database, self.clock, self.pair.mentor, self.pair.match)


async def add_role(
    database: Database, clock: Clock, telegram_id: int, program_id: int, role: str
) -> None:
    """Someone already known takes a role in another program too, onboarding complete."""
    async with database.session() as session:
        statement = select(Person).where(Person.telegram_id == telegram_id)
        person = (await session.exec(statement)).one()
        await add_membership(session, clock(), person.id or 0, program_id, role)


async def add_coordinator(
    database: Database,
    program: Program,
    clock: Clock,
    telegram_id: int,
    name: str,
    locale: str = "en",
) -> Person:
    """A coordinator of `program` who finished onboarding."""
    return await add_participant(
        database, program, clock, telegram_id=telegram_id, name=name,
        role=Role.COORDINATOR, locale=locale,
    )  # fmt: skip


async def add_second_mentee(
    database: Database,
    program: Program,
    clock: Clock,
    mentor: Person,
    *,
    telegram_id: int,
    name: str,
) -> Match:
    """Another mentee for `mentor`, matched three days ago: a mentor with two matches."""
    mentee = await add_participant(
        database, program, clock, telegram_id=telegram_id, name=name, role=Role.MENTEE
    )
    async with database.session() as session:
        return await add_match(
            session, program.id or 0, mentor, mentee, clock() - timedelta(days=3)
        )


async def join_and_pair_in_chat(
    tg: FakeTelegram,
    database: Database,
    program: Program,
    invite: Callable[..., Awaitable[str]],
    clock: Clock,
    *,
    mentee: tuple[str, str] = ("Alice", "Martin"),
    field: str = "Accounting",
    goal: str = "Find a job in accounting",
    strengths: str = "Entrevues, réseautage",
) -> tuple[FakeUser, FakeUser]:
    """A mentee (English, Toronto) and a mentor (French, Vancouver) who each joined from an
    invitation by tapping and typing in the chat, then matched: the start of a journey."""
    first, last = mentee
    mentee_user = tg.user(101, first, last_name=last)
    await mentee_user.send(f"/start {await invite('mentee')}")
    for label in ("English", "Yes, I agree", f"Keep “{first} {last}”"):
        await mentee_user.tap(label)
    await mentee_user.send(field)
    await mentee_user.send(goal)
    await mentee_user.tap("Eastern (Toronto, Montréal, Ottawa)")
    await mentee_user.tap("Keep the suggestion")
    await mentee_user.tap("✅ All good")
    mentor_user = tg.user(202, "Robert", language_code="fr")
    await mentor_user.send(f"/start {await invite('mentor')}")
    for label in ("Français", "Oui, j’accepte", "Garder «\u00a0Robert\u00a0»"):
        await mentor_user.tap(label)
    await mentor_user.send("Comptabilité")
    await mentor_user.send("15")
    await mentor_user.send(strengths)
    await mentor_user.tap("Pacifique (Vancouver)")
    await mentor_user.tap("Garder cette suggestion")
    await mentor_user.tap("✅ C’est parfait")
    async with database.session() as session:
        people = {p.telegram_id: p for p in (await session.exec(select(Person))).all()}
        await create_match(
            session, program=program, mentor=people[202], mentee=people[101], now=clock(),
            actor_label="test",
        )  # fmt: skip
    return mentee_user, mentor_user
