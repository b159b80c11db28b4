"""A whole first week through the real application: invitations, onboarding in two
languages and two time zones, pairing, the dispatcher sending each check-in at the
participant's own local time, answers stored, and a reminder only for who did not answer."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.dispatch import Dispatcher
from conversations import broadcast, checkin
from conversations.kit import alerting as alerts
from storage.db import Database
from storage.models import Answer, Person, Program, Prompt, PromptStatus
from tests.builders import join_and_pair_in_chat
from tests.conftest import FakeClock
from tests.harness import FakeTelegram


async def test_first_week_from_invitation_to_answered_check_in(
    tg: FakeTelegram, database: Database, program: Program, invite, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 15, 20, 0, tzinfo=UTC)  # Sunday afternoon in Toronto
    alice, bob = await join_and_pair_in_chat(tg, database, program, invite, clock)
    dispatcher = Dispatcher(
        tg.application.bot, database, checkin, clock, alerts=alerts, broadcasts=broadcast
    )
    before = len(alice.messages), len(bob.messages)
    await dispatcher.tick()
    assert (len(alice.messages), len(bob.messages)) == before, "nothing is due on Sunday"

    clock.now = datetime(2026, 11, 16, 14, 0, 30, tzinfo=UTC)  # Monday 9:00 in Toronto
    await dispatcher.tick()
    assert alice.last.text.startswith("Weekly check-in · week of November 16")
    assert len(bob.messages) == before[1], "Vancouver's 9:00 is three hours later"

    clock.now = datetime(2026, 11, 16, 17, 0, 30, tzinfo=UTC)  # Monday 9:00 in Vancouver
    await dispatcher.tick()
    assert bob.last.text.startswith("Suivi hebdomadaire")
    assert "Bonjour, Robert!" in bob.last.text

    await alice.tap("Yes, in person")
    await alice.tap("5 · Very helpful")
    await alice.tap("4")
    await alice.tap("Skip")
    await alice.tap("No")
    assert "Thank you! Your check-in is saved." in alice.last.text

    await dispatcher.tick()
    async with database.session() as session:
        prompts = {p.person_id: p for p in (await session.exec(select(Prompt))).all()}
        stored = (await session.exec(select(Answer))).all()
    assert len(prompts) == 2, "one check-in each, never twice"
    async with database.session() as session:
        people = {p.telegram_id: p for p in (await session.exec(select(Person))).all()}
    assert prompts[people[101].id].status == PromptStatus.ANSWERED
    assert prompts[people[202].id].status == PromptStatus.SENT
    assert {answer.question_key: answer.value for answer in stored} == {
        "contact": "in_person",
        "helpful": "5",
        "goal_1": "4",  # her onboarding goal, asked by name instead of progress in general
        "note": "",  # skipped: answered, with nothing to say
        "wants_contact": "no",
    }

    alice_seen, bob_seen = len(alice.messages), len(bob.messages)
    clock.advance(hours=24, minutes=1)
    await dispatcher.tick()
    assert len(alice.messages) == alice_seen, "no reminder after answering"
    assert len(bob.messages) == bob_seen + 1
    assert "suivi" in bob.last.text.lower()
