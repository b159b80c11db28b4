"""Reflection prompts: the bank by role and phase, the cadence through the dispatcher
(every second week, three days after the check-in, at the check-in's local time), on demand
with /reflect, answered through the check-in dialogue, and /journal — one's own answers
only, paged; EN and FR."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from telegram import Bot

from bot.dispatch import Dispatcher
from conversations import broadcast
from conversations.instruments import Kind, load_instrument
from conversations.kit import alerting as alerts
from conversations.reflection import PAGE_LIMIT
from storage.db import Database
from storage.models import Answer, Match, Person, Program, Prompt, PromptStatus
from storage.schedule import (
    PHASES,
    Slot,
    occurrences,
    plan_reflections,
    reflection_every,
    reflection_slot,
)
from tests.builders import ALICE, ROBERT, add_pair, ask, deliver_prompt
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.harness import FakeTelegram
from tests.test_checkin import answers
from tests.test_dispatch import EchoRenderer
from tests.test_dispatch import add_pair as add_dispatch_pair

TORONTO = ZoneInfo("America/Toronto")


# --- the bank and the cadence, as pure functions ---------------------------------------


def test_every_role_and_phase_has_one_or_two_open_questions() -> None:
    for role in ("mentor", "mentee"):
        for phase in PHASES:
            instrument = load_instrument(f"reflection_{role}_{phase}")
            assert 1 <= len(instrument.questions) <= 2
            assert all(q.kind is Kind.TEXT and q.optional for q in instrument.questions)
            partner = "mentee" if role == "mentor" else "mentor"
            assert f"Your {partner} never sees your answers" in (instrument.intro or "")


def test_cadence_and_phases_over_a_twelve_week_program() -> None:
    slot = Slot(weekday=0, at=time(9), zone=TORONTO)
    started = datetime(2026, 11, 15, 12, tzinfo=UTC)  # a Sunday
    found = occurrences(reflection_slot(slot), started, started + timedelta(weeks=13))
    planned = plan_reflections(found, "mentor", {}, 12, started)
    assert [p.occurrence.local_date.isoformat() for p in planned] == [
        "2026-11-26", "2026-12-10", "2026-12-24", "2027-01-07", "2027-01-21", "2027-02-04",
    ]  # fmt: skip
    assert all(p.occurrence.local_date.weekday() == 3 for p in planned), "Thursdays"
    assert [p.instrument.removeprefix("reflection_mentor_") for p in planned] == [
        "first", "first", "middle", "middle", "last", "last",
    ]  # fmt: skip
    assert all(p.kind == "reflection" and p.remind_at is None for p in planned)
    weekly = plan_reflections(found, "mentee", {"reflection_every_weeks": 3}, 12, started)
    assert [p.occurrence.local_date.day for p in weekly] == [3, 24, 14, 4]
    assert plan_reflections(found, "mentee", {"reflection_every_weeks": 0}, 12, started) == []
    assert reflection_every({"reflection_every_weeks": "nonsense"}) == 0
    assert reflection_every({}) == 2


# --- through the dispatcher -------------------------------------------------------------


@pytest.fixture
async def echo_dispatcher(
    database: Database, clock: FakeClock
) -> AsyncIterator[tuple[Dispatcher, FakeBotApi]]:
    api = FakeBotApi()
    bot = Bot(BOT_TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    yield (
        Dispatcher(
            bot, database, EchoRenderer(), clock, budget=None, alerts=alerts, broadcasts=broadcast
        ),
        api,
    )
    await bot.shutdown()


async def test_dispatcher_sends_reflections_every_second_week_on_thursday(
    database: Database, clock: FakeClock, echo_dispatcher: tuple[Dispatcher, FakeBotApi]
) -> None:
    dispatcher, api = echo_dispatcher
    pair = await add_dispatch_pair(
        database, settings={"reflection_every_weeks": 2}, started=datetime(2026, 11, 15, tzinfo=UTC)
    )
    end = clock.now + timedelta(weeks=12)
    while clock.now < end:
        await dispatcher.tick()
        clock.advance(hours=12)
    async with database.session() as session:
        rows = (
            await session.exec(
                select(Prompt).where(Prompt.kind == "reflection").order_by(col(Prompt.due_at))
            )
        ).all()
    mentee = [p for p in rows if p.person_id == pair.mentee.id]
    mentor = [p for p in rows if p.person_id == pair.mentor.id]
    local = [p.sent_at.astimezone(TORONTO) for p in mentee if p.sent_at]
    assert [day.date().isoformat() for day in local] == [
        "2026-11-26", "2026-12-10", "2026-12-24", "2027-01-07", "2027-01-21", "2027-02-04",
    ]  # fmt: skip
    assert {(day.weekday(), day.time()) for day in local} == {(3, time(9))}
    assert [p.period for p in mentee][:2] == ["2026-W48", "2026-W50"]
    assert [p.instrument for p in mentee] == [
        "reflection_mentee_first", "reflection_mentee_first",
        "reflection_mentee_middle", "reflection_mentee_middle",
        "reflection_mentee_last", "reflection_mentee_last",
    ]  # fmt: skip
    assert [p.instrument.split("_")[1] for p in mentor] == ["mentor"] * 6
    assert all(p.remind_at is None and p.reminded_at is None for p in rows), "no reminders"
    texts = [m.text for messages in api.chats.values() for m in messages]
    assert sum("reflection_" in text for text in texts) == 12, "each sent once"


async def test_reflections_off_when_the_program_says_zero(
    database: Database, clock: FakeClock, echo_dispatcher: tuple[Dispatcher, FakeBotApi]
) -> None:
    dispatcher, _ = echo_dispatcher
    await add_dispatch_pair(
        database, settings={"reflection_every_weeks": 0}, started=datetime(2026, 11, 15, tzinfo=UTC)
    )
    for _ in range(4 * 7):
        await dispatcher.tick()
        clock.advance(days=1)
    async with database.session() as session:
        kinds = set((await session.exec(select(Prompt.kind))).all())
    assert kinds == {"checkin"}


# --- answering, /reflect and /journal through Telegram ----------------------------------


async def add_reflection(
    database: Database, clock: FakeClock, person: Person, match: Match, instrument: str
) -> int:
    async with database.session() as session:
        prompt = Prompt(
            person_id=person.id or 0,
            match_id=match.id or 0,
            kind="reflection",
            period="2026-W47",
            instrument=instrument,
            due_at=clock(),
            closes_at=clock() + timedelta(days=7),
            status=PromptStatus.SENT,
            sent_at=clock(),
        )
        session.add(prompt)
        await session.flush()
        return prompt.id or 0


async def test_reflection_answered_in_the_checkin_dialogue_even_with_a_checkin_open(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, match = await add_pair(database, program, clock)
    alice = tg.user(ALICE, "Alice")
    checkin_id, _ = await ask(tg, database, clock, mentee, match)
    clock.advance(days=3)
    reflection_id = await add_reflection(database, clock, mentee, match, "reflection_mentee_middle")
    first = await deliver_prompt(tg, database, reflection_id)
    assert first.text.startswith("Reflection · week of November 16\nHi Alice Martin!")
    assert "A moment to look back, in your own words." in first.text
    assert "Your mentor never sees your answers" in first.text
    assert "What is something your mentor said that has stayed with you?" in first.text
    assert first.labels == ["Skip", "⏰ In 3 hours", "⏰ Tomorrow"]

    await alice.send("“Your accent is an asset, not a flaw.” <3")
    assert await answers(database, reflection_id) == {
        "stayed": "“Your accent is an asset, not a flaw.” <3"
    }
    assert await answers(database, checkin_id) == {}, "the open check-in took nothing"
    assert "What have you tried differently" in alice.last.text
    await alice.tap("Skip")
    assert "Thank you! Your reflection is saved." in alice.last.text
    async with database.session() as session:
        prompt = await session.get(Prompt, reflection_id)
        assert prompt is not None and prompt.status == PromptStatus.ANSWERED


async def test_reflect_on_demand_and_journal_in_english_and_french(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_pair(database, program, clock)  # matched 30 days ago: the middle weeks
    alice = tg.user(ALICE, "Alice")
    await alice.send("/journal")
    assert "Your journal is empty for now." in alice.last.text

    await alice.send("/reflect")
    assert "What is something your mentor said that has stayed with you?" in alice.last.text
    await alice.send("/reflect")  # the open one again, not a second one
    await alice.send("Ask for feedback early.")
    await alice.send("I asked my manager for feedback.")
    assert "Thank you! Your reflection is saved." in alice.last.text
    clock.advance(hours=1)
    await alice.send("/reflect")  # another one, on demand
    await alice.send("Networking is a skill.")
    await alice.tap("Skip")
    async with database.session() as session:
        periods = (await session.exec(select(Prompt.period).order_by(col(Prompt.id)))).all()
    assert periods == ["2026-W47", "2026-W47-2"]

    await alice.send("/journal")
    journal = alice.last.text
    assert journal.startswith("Your journal\n\nNovember 16, 2026 · What is something your mentor")
    assert journal.index("Networking is a skill.") < journal.index("I asked my manager")
    assert journal.index("I asked my manager") < journal.index("Ask for feedback early.")
    assert "Only you and your program's coordinators can read these." in journal

    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/journal")
    assert robert.last.text.startswith("Votre journal est vide pour l’instant.")
    assert "Ask for feedback" not in robert.last.text, "never the partner's reflections"
    await robert.send("/reflect")
    assert robert.last.text.startswith("Réflexion · semaine du 16 novembre")
    assert "Qu’est-ce que votre personne mentorée vous a appris ce mois-ci?" in robert.last.text
    await robert.send("La patience.")
    await robert.tap("Passer")
    assert "Merci! Votre réflexion est enregistrée." in robert.last.text
    await robert.send("/journal")
    assert "16 novembre 2026" in robert.last.text and "La patience." in robert.last.text
    assert "Networking" not in robert.last.text


async def test_journal_pages_stay_under_telegram_limit(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, match = await add_pair(database, program, clock)
    prompt_id = await add_reflection(database, clock, mentee, match, "reflection_mentee_middle")
    async with database.session() as session:
        prompt = await session.get(Prompt, prompt_id)
        assert prompt is not None
        prompt.status = PromptStatus.ANSWERED
        session.add(prompt)
        for index in range(8):
            period = f"2026-W{30 + index}"
            extra = Prompt(**{**prompt.model_dump(exclude={"id"}), "period": period})
            session.add(extra)
            await session.flush()
            for key in ("stayed", "tried"):
                value = f"Entry {index} {key} " + "&" * 1900
                session.add(
                    Answer(
                        prompt_id=extra.id or 0,
                        question_key=key,
                        value=value,
                        answered_at=clock() - timedelta(days=index),
                    )
                )
    alice = tg.user(ALICE, "Alice")
    await alice.send("/journal")
    pages = [(alice.last.text, alice.last.raw)]
    while "Older ›" in alice.last.labels:
        await alice.tap("Older ›")
        pages.append((alice.last.text, alice.last.raw))
        assert len(pages) < 30
    assert len(pages) == 16, "one long answer a page: sixteen answers"
    assert all(len(raw) <= PAGE_LIMIT + 200 < 4096 for _, raw in pages)
    assert pages[0][0].startswith("Your journal · page 1 of 16\n\nNovember 16, 2026")
    assert pages[-1][0].startswith("Your journal · page 16 of 16\n\nNovember 9, 2026")
    assert all(text.count("…") == 1 for text, _ in pages), "each long answer is cut, not lost"
    await alice.tap("‹ Newer")
    assert alice.last.text.startswith("Your journal · page 15 of 16")
