"""A mentee's goals: from onboarding to /goals (add, reword, achieve, drop — their own only)
and into the weekly check-in, which asks about each open goal by name; EN and FR."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from conversations.instruments import load_instrument
from conversations.kit.goal_questions import GOAL_PROGRESS, achieved_label, with_goals
from locales.translator import translator
from storage.db import Database
from storage.goals import achieved_count, achieved_counts, split_goals
from storage.models import Goal, GoalStatus, Membership, Person, Program
from tests.builders import ALICE, MALLORY, add_pair, add_participant, ask
from tests.conftest import FakeClock
from tests.harness import FakeTelegram
from tests.test_checkin import answers, prompt_row
from tests.test_onboarding import onboard_mentee_in_english


async def goals_in(database: Database, person: Person) -> list[tuple[str, str]]:
    async with database.session() as session:
        statement = (
            select(Goal.text, Goal.status)
            .join(Membership, col(Membership.id) == col(Goal.membership_id))
            .where(Membership.person_id == person.id)
            .order_by(col(Goal.position), col(Goal.id))
        )
        return [(text, status) for text, status in (await session.exec(statement)).all()]


async def seed_goals(database: Database, clock: FakeClock, person: Person, *texts: str) -> None:
    async with database.session() as session:
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == person.id))
        ).one()
        for index, text in enumerate(texts):
            session.add(
                Goal(
                    membership_id=membership.id or 0,
                    text=text,
                    position=index,
                    created_at=clock() + timedelta(seconds=index),
                )
            )


def test_onboarding_answer_splits_into_goals() -> None:
    answer = "- Find a job in accounting\n\n2) Build a network\n• Improve my English  \n  "
    assert split_goals(answer) == [
        "Find a job in accounting",
        "Build a network",
        "Improve my English",
    ]
    assert split_goals("2026 goals. Get certified") == ["2026 goals. Get certified"]
    assert split_goals(None) == []


async def test_onboarding_goals_become_goal_rows(
    tg: FakeTelegram, database: Database, invite
) -> None:
    alice = tg.user(ALICE, "Alice", last_name="Martin")
    await onboard_mentee_in_english(alice, await invite("mentee"))
    await alice.tap("✅ All good")
    async with database.session() as session:
        person = (await session.exec(select(Person).where(Person.telegram_id == ALICE))).one()
    assert await goals_in(database, person) == [
        ("Find a job in accounting", GoalStatus.OPEN),
        ("Build a professional network", GoalStatus.OPEN),
    ]

    await alice.send("/goals")
    listing = alice.last.text
    assert "Your goals\n1. Find a job in accounting\n2. Build a professional network" in listing
    assert alice.last.labels == ["➕ Add a goal", "✏️ Reword", "🎉 Achieved", "🗑 Drop"]


async def test_goals_add_reword_achieve_drop(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, _ = await add_pair(database, program, clock)
    await seed_goals(database, clock, mentee, "Find a job in accounting", "Get my CPA")
    alice = tg.user(ALICE, "Alice")

    await alice.send("/goals")
    await alice.tap("➕ Add a goal")
    assert "What is your new goal?" in alice.last.text
    await alice.send("Practise <interviews> & networking")
    assert "Added to your goals." in alice.last.text
    assert "3. Practise <interviews> & networking" in alice.last.text
    assert "&lt;interviews&gt; &amp;" in alice.last.raw

    await alice.tap("✏️ Reword")
    assert alice.last.labels == [
        "Find a job in accounting", "Get my CPA", "Practise <interviews> & networking", "← Back",
    ]  # fmt: skip
    await alice.tap("Get my CPA")
    assert "Type the new wording for “Get my CPA”." in alice.last.text
    await alice.send("Pass the CPA exam")
    assert "Saved the new wording." in alice.last.text

    await alice.send("/goals")
    await alice.tap("🎉 Achieved")
    await alice.tap("Find a job in accounting")
    assert "🎉 Congratulations! You achieved “Find a job in accounting”." in alice.last.text
    assert "Achieved\n🎉 Find a job in accounting (November 16, 2026)" in alice.last.text

    await alice.tap("🗑 Drop")
    await alice.tap("Practise <interviews> & networking")
    assert "is off your list" in alice.last.text
    assert await goals_in(database, mentee) == [
        ("Find a job in accounting", GoalStatus.ACHIEVED),
        ("Pass the CPA exam", GoalStatus.OPEN),
        ("Practise <interviews> & networking", GoalStatus.DROPPED),
    ]
    async with database.session() as session:
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == mentee.id))
        ).one()
        assert await achieved_count(session, membership.id or 0) == 1
        assert await achieved_counts(session, [membership.id or 0, 999]) == {membership.id: 1}
    assert achieved_label(translator("en"), 1) == "1 goal achieved"
    assert achieved_label(translator("fr"), 2) == "2 objectifs atteints"
    assert achieved_label(translator("fr"), 0) is None


async def test_goal_buttons_refuse_other_people_and_closed_goals(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, _ = await add_pair(database, program, clock)
    await seed_goals(database, clock, mentee, "Find a job in accounting")
    other = await add_participant(
        database, program, clock, telegram_id=MALLORY, name="Mallory", role="mentee"
    )
    await seed_goals(database, clock, other, "Mallory's own goal")
    async with database.session() as session:
        alice_goal = (await session.exec(select(Goal).where(Goal.text.startswith("Find")))).one()
    mallory = tg.user(MALLORY, "Mallory")
    await mallory.send("/goals")
    for action in ("done", "drop", "reword"):
        await mallory.press(f"goal:{action}:{alice_goal.id}")
        assert mallory.answers[-1] == "This button isn't for you, so nothing was changed."
    assert await goals_in(database, mentee) == [("Find a job in accounting", GoalStatus.OPEN)]
    await mallory.send("Hijacked")  # reword was refused: nothing awaits a text
    assert await goals_in(database, mentee) == [("Find a job in accounting", GoalStatus.OPEN)]

    alice = tg.user(ALICE, "Alice")
    await alice.send("/goals")
    await alice.press(f"goal:done:{alice_goal.id}")
    await alice.press(f"goal:done:{alice_goal.id}")
    assert alice.answers[-1] == "That goal isn't open any more."
    await alice.press("goal:done:abc")
    assert "no longer works" in alice.answers[-1]

    mentor = tg.user(202, "Robert", language_code="fr")
    await mentor.send("/goals")
    assert mentor.last.text.startswith("Les objectifs appartiennent aux personnes mentorées.")


async def test_mentee_checkin_asks_each_open_goal_by_name(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, mentor, match = await add_pair(database, program, clock)
    await seed_goals(
        database, clock, mentee, "Find a job", "Get my CPA", "Learn Excel", "Speak at a meetup"
    )
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask(tg, database, clock, mentee, match)
    await alice.tap("Not this week")
    assert "How far did you get with “Find a job” this week?" in alice.last.text
    assert alice.last.labels == ["1 · Not at all", "2", "3", "4", "5 · A lot"]
    await alice.tap("4")
    assert "How far did you get with “Get my CPA” this week?" in alice.last.text
    await alice.tap("2")
    assert "“Learn Excel”" in alice.last.text
    await alice.tap("5 · A lot")
    assert "Is there anything your coordinator should know?" in alice.last.text, "three at most"
    await alice.tap("Skip")
    await alice.tap("No")
    stored = await answers(database, prompt_id)
    async with database.session() as session:
        ids = {g.text: g.id for g in (await session.exec(select(Goal))).all()}
    assert stored == {
        "contact": "none",
        f"goal_{ids['Find a job']}": "4",
        f"goal_{ids['Get my CPA']}": "2",
        f"goal_{ids['Learn Excel']}": "5",
        "note": "",
        "wants_contact": "no",
    }
    assert "progress" not in stored
    assert "• Find a job: 4 / 5" in alice.last.text
    assert (await prompt_row(database, prompt_id)).status == "answered"

    # The mentor's check-in knows nothing of the mentee's goals.
    _, first = await ask(tg, database, clock, mentor, match)
    assert "How far did you get" not in first.text


async def test_checkin_goal_questions_in_french(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, match = await add_pair(database, program, clock)
    async with database.session() as session:
        person = await session.get(Person, mentee.id)
        assert person is not None
        person.locale = "fr"
        session.add(person)
    await seed_goals(database, clock, mentee, "Trouver un emploi en comptabilité")
    alice = tg.user(ALICE, "Alice", language_code="fr")
    await ask(tg, database, clock, mentee, match)
    await alice.tap("Pas cette semaine")
    text = alice.last.text
    assert "Où en êtes-vous avec « Trouver un emploi en comptabilité » cette semaine?" in text
    assert alice.last.labels == ["1 · Pas du tout", "2", "3", "4", "5 · Beaucoup"]
    assert "How far" not in text


def test_without_goals_the_generic_progress_question_stays() -> None:
    instrument = load_instrument("mentee_weekly")
    assert with_goals(instrument, []) is instrument
    goal = Goal(id=7, membership_id=1, text="Find a job", created_at=None)  # type: ignore[arg-type]
    asked = with_goals(instrument, [goal])
    keys = [question.key for question in asked.questions]
    assert "progress" not in keys and "goal_7" in keys
    assert keys.index("goal_7") == [q.key for q in instrument.questions].index("progress")
    assert asked.question("goal_7").text == GOAL_PROGRESS  # type: ignore[union-attr]
