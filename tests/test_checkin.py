"""Weekly check-ins through Telegram, in English and French: every answer lands in the
database when it is given, the chat reads cleanly, and interruptions, restarts, bad input,
other people's buttons, snooze, edit, /checkin, /skip, /pause and /resume behave."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from conversations.checkin import parse_day, pause_end, render_reminder
from conversations.kit.reply import ASKED
from storage.db import Database
from storage.models import (
    Answer,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptStatus,
    Role,
    StoredState,
)
from tests.builders import (
    ALICE,
    MALLORY,
    PERIOD,
    ROBERT,
    Ask,
    add_pair,
    add_participant,
    add_prompt,
    add_second_mentee,
    deliver_prompt,
)
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser

# --- seeding -------------------------------------------------------------------------------------


async def deliver_reminder(tg: FakeTelegram, database: Database, prompt_id: int) -> None:
    await deliver_prompt(tg, database, prompt_id, render_reminder, record=False)


async def answers(database: Database, prompt_id: int) -> dict[str, str]:
    async with database.session() as session:
        rows = await session.exec(select(Answer).where(Answer.prompt_id == prompt_id))
        return {row.question_key: row.value for row in rows.all()}


async def prompt_row(database: Database, prompt_id: int) -> Prompt:
    async with database.session() as session:
        prompt = await session.get(Prompt, prompt_id)
        assert prompt is not None
        return prompt


async def person_row(database: Database, telegram_id: int) -> Person:
    async with database.session() as session:
        statement = select(Person).where(Person.telegram_id == telegram_id)
        return (await session.exec(statement)).one()


async def prompts_of(database: Database, person: Person) -> list[Prompt]:
    async with database.session() as session:
        statement = select(Prompt).where(Prompt.person_id == person.id).order_by(col(Prompt.id))
        return list((await session.exec(statement)).all())


# --- answering by taps ---------------------------------------------------------------------------


async def test_mentee_answers_in_english_answer_by_answer(
    tg: FakeTelegram, database: Database, ask: Ask, clock: FakeClock
) -> None:
    alice = tg.user(ALICE, "Alice", last_name="Martin")
    prompt_id, first = await ask.mentee()

    assert first.text.startswith("Weekly check-in · week of November 16\nHi Alice Martin!")
    assert "Did you and your mentor connect this week?" in first.text
    assert first.labels == [
        "Yes, in person", "Yes, by video or phone", "Only by messages", "Not this week",
        "⏰ In 3 hours", "⏰ Tomorrow",
    ]  # fmt: skip

    await alice.tap("Yes, by video or phone")
    assert await answers(database, prompt_id) == {"contact": "call"}
    first = alice.messages[0]
    assert first.text.endswith(
        "Did you and your mentor connect this week? — Yes, by video or phone"
    )
    assert first.text.startswith("Weekly check-in · week of November 16"), "header kept"
    assert not first.has_buttons
    assert alice.answers[-1] == ""
    assert "How helpful was your time with your mentor?" in alice.last.text
    assert alice.last.labels == ["1 · Not really", "2", "3", "4", "5 · Very helpful"]

    await alice.tap("4")
    assert await answers(database, prompt_id) == {"contact": "call", "helpful": "4"}
    assert alice.messages[-2].text == "How helpful was your time with your mentor? — 4 / 5"
    assert "progress towards your goals" in alice.last.text

    await alice.tap("5 · Great")
    assert (await answers(database, prompt_id))["progress"] == "5"
    assert "Is there anything your coordinator should know?" in alice.last.text
    assert alice.last.labels == ["Skip"]

    await alice.send("My mentor <b>really</b> helped with my résumé & cover letter.")
    stored = await answers(database, prompt_id)
    assert stored["note"] == "My mentor <b>really</b> helped with my résumé & cover letter."
    note_question = alice.messages[-2]
    assert note_question.text == (
        "Is there anything your coordinator should know? — "
        "My mentor <b>really</b> helped with my résumé & cover letter."
    )
    assert not note_question.has_buttons, "the Skip button is gone once answered"
    assert alice.last.labels == ["Yes", "No"]
    assert (await prompt_row(database, prompt_id)).status == PromptStatus.SENT

    await alice.tap("No")
    assert await answers(database, prompt_id) == {
        "contact": "call",
        "helpful": "4",
        "progress": "5",
        "note": "My mentor <b>really</b> helped with my résumé & cover letter.",
        "wants_contact": "no",
    }
    prompt = await prompt_row(database, prompt_id)
    assert prompt.status == PromptStatus.ANSWERED
    assert prompt.answered_at == clock()
    summary = alice.last.text
    assert "Thank you! Your check-in is saved." in summary
    assert "• Contact: Yes, by video or phone" in summary
    assert "• How helpful: 4 / 5" in summary
    assert "• Coordinator to get in touch: No" in summary
    assert alice.last.labels == ["✏️ Edit an answer"]
    assert "&lt;b&gt;" in alice.last.raw, "typed text is escaped when shown back"


async def test_no_contact_skips_the_helpfulness_question(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    await alice.tap("Not this week")
    assert "progress towards your goals" in alice.last.text
    await alice.tap("2")
    await alice.tap("Skip")
    assert alice.messages[-2].text == "Is there anything your coordinator should know? — Skipped"
    await alice.tap("Yes")
    assert await answers(database, prompt_id) == {
        "contact": "none", "progress": "2", "note": "", "wants_contact": "yes",
    }  # fmt: skip
    assert "How helpful" not in alice.last.text


async def test_mentor_answers_in_french_with_a_multiple_choice(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    prompt_id, first = await ask.mentor()
    assert first.text.startswith("Suivi hebdomadaire · semaine du 16 novembre\nBonjour, Robert")
    assert "Avez-vous été en contact avec votre personne mentorée cette semaine?" in first.text
    assert "⏰ Demain" in first.labels

    await robert.tap("Oui, en personne")
    assert await answers(database, prompt_id) == {"contact": "in_person"}
    assert robert.messages[0].text.endswith("cette semaine? — Oui, en personne")
    await robert.tap("De 30 minutes à une heure")
    assert (await answers(database, prompt_id))["duration"] == "m30_60"
    assert "Comment se passe la relation de mentorat?" in robert.last.text
    await robert.tap("4")
    assert (await answers(database, prompt_id))["going"] == "4"

    assert "Est-ce que quelque chose vous freine?" in robert.last.text
    assert robert.last.labels == [
        "☐ Rien, tout va bien", "☐ Difficile à joindre", "☐ Trouver un moment",
        "☐ Besoin d’un soutien au-delà de mon rôle", "☐ Autre chose", "Terminé",
    ]  # fmt: skip
    await robert.tap("Trouver un moment")
    await robert.tap("Autre chose")
    assert robert.last.labels[1:5] == [
        "☐ Difficile à joindre", "☑ Trouver un moment",
        "☐ Besoin d’un soutien au-delà de mon rôle", "☑ Autre chose",
    ]  # fmt: skip
    assert "concerns" not in await answers(database, prompt_id), "nothing stored before Done"
    await robert.tap("Terminé")
    assert (await answers(database, prompt_id))["concerns"] == "schedule,other"
    assert robert.messages[-2].text == (
        "Est-ce que quelque chose vous freine? — Trouver un moment, Autre chose"
    )
    assert "Dites-nous-en un peu plus" in robert.last.text
    await robert.send("Son horaire de travail a changé.")
    assert (await answers(database, prompt_id))[
        "concern_note"
    ] == "Son horaire de travail a changé."
    await robert.tap("Oui")
    assert await answers(database, prompt_id) == {
        "contact": "in_person",
        "duration": "m30_60",
        "going": "4",
        "concerns": "schedule,other",
        "concern_note": "Son horaire de travail a changé.",
        "wants_contact": "yes",
    }
    assert (await prompt_row(database, prompt_id)).status == PromptStatus.ANSWERED
    summary = robert.last.text
    assert "Merci! Votre suivi est enregistré." in summary
    assert "• Préoccupations : Trouver un moment, Autre chose" in summary
    assert "• Contact avec l’équipe de coordination : Oui" in summary
    assert robert.last.labels == ["✏️ Modifier une réponse"]


async def test_an_exclusive_option_clears_the_others(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    prompt_id, _ = await ask.mentor()
    await robert.tap("Pas cette semaine")
    assert "Comment se passe" in robert.last.text, "no duration without contact"
    await robert.tap("3")
    await robert.tap("Terminé")
    assert robert.answers[-1] == "Cochez au moins une réponse, puis touchez «\u00a0Terminé\u00a0»."
    await robert.tap("Difficile à joindre")
    await robert.tap("Rien, tout va bien")
    assert robert.last.labels[:2] == ["☑ Rien, tout va bien", "☐ Difficile à joindre"]
    await robert.tap("Terminé")
    assert (await answers(database, prompt_id))["concerns"] == "none"
    assert "Voulez-vous que l’équipe de coordination" in robert.last.text, "no note asked"


async def test_the_monthly_pulse_replaces_the_weekly_check_in(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    mentee, _, _ = pair
    clock.now = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # the first Monday of December
    alice = tg.user(ALICE, "Alice")
    await alice.send("/checkin")
    (prompt,) = await prompts_of(database, mentee)
    assert (prompt.period, prompt.instrument) == ("2026-W50", "relationship_pulse")
    assert "Monthly relationship pulse · week of December 7" in alice.last.text
    assert "five quick questions" in alice.last.text
    for label in ("4", "5 · Very easy", "3", "4", "5 · Very satisfied"):
        await alice.tap(label)
    assert await answers(database, prompt.id or 0) == {
        "close": "4", "open_up": "5", "rely": "3", "useful": "4", "satisfied": "5",
    }  # fmt: skip
    assert "Thank you! Your check-in is saved." in alice.last.text


# --- interruptions -------------------------------------------------------------------------------


async def test_stopping_halfway_and_resuming_after_a_crash(
    bots: Bots, database: Database, ask: Ask, clock: FakeClock
) -> None:
    tg = bots.telegram
    assert tg is not None
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    await alice.tap("Yes, in person")
    await alice.tap("3")

    tg = await bots.restart(crash=True)
    async with database.session() as session:  # no cache survives: only the answers
        for row in (await session.exec(select(StoredState))).all():
            await session.delete(row)
    tg = await bots.restart(crash=True)
    alice = tg.user(ALICE, "Alice")
    clock.advance(hours=5)

    await alice.send("/checkin")
    assert alice.last.text == (
        "Let's pick up where you left off.\n\n"
        "How do you feel about your progress towards your goals this week?"
    )
    await alice.tap("4")
    assert await answers(database, prompt_id) == {
        "contact": "in_person", "helpful": "3", "progress": "4",
    }  # fmt: skip

    tg = await bots.restart(crash=True)
    alice = tg.user(ALICE, "Alice")
    await alice.send("Nothing to add, thanks.")  # typed: the note, recomputed from the rows
    assert (await answers(database, prompt_id))["note"] == "Nothing to add, thanks."
    assert "get in touch" in alice.last.text
    await alice.tap("No")
    assert (await prompt_row(database, prompt_id)).status == PromptStatus.ANSWERED


async def test_the_old_button_of_an_answered_question_is_stale(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    alice = tg.user(ALICE, "Alice")
    prompt_id, first = await ask.mentee()
    await deliver_reminder(tg, database, prompt_id)  # a second message with live buttons
    await alice.tap("Answer now")
    assert alice.last.text.startswith("Let's pick up where you left off.")
    await alice.tap("Only by messages")
    assert await answers(database, prompt_id) == {"contact": "messages"}

    await alice.press(f"ci:{prompt_id}:contact:none", message_id=first.message_id)
    assert alice.answers[-1] == "You've already answered that question."
    assert await answers(database, prompt_id) == {"contact": "messages"}
    assert "How helpful" in alice.last.text, "the current question is shown again"


async def test_reminder_continues_where_the_person_stopped(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    await alice.tap("Not this week")
    await deliver_reminder(tg, database, prompt_id)
    assert alice.last.text == (
        "Just a gentle reminder: your check-in for the week of November 16 is still waiting. "
        "It takes less than a minute.\n\nYou're partway through: I'll pick up where you left off."
    )
    await alice.tap("Continue")
    assert "progress towards your goals" in alice.last.text
    assert not alice.messages[-2].has_buttons, "the reminder's button is used up"


# --- editing from the summary --------------------------------------------------------------------


async def finish_mentee_checkin(alice: FakeUser) -> None:
    await alice.tap("Yes, in person")
    await alice.tap("4")
    await alice.tap("3")
    await alice.send("All good.")
    await alice.tap("No")


async def test_edit_an_answer_from_the_summary(
    tg: FakeTelegram, database: Database, ask: Ask, clock: FakeClock
) -> None:
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    await finish_mentee_checkin(alice)

    await alice.tap("✏️ Edit an answer")
    assert "Which answer do you want to change?" in alice.last.text
    assert alice.last.labels == [
        "Contact", "How helpful", "Progress", "For the coordinator",
        "Coordinator to get in touch", "← Back",
    ]  # fmt: skip
    await alice.tap("← Back")
    assert alice.last.labels == ["✏️ Edit an answer"]

    await alice.tap("✏️ Edit an answer")
    await alice.tap("Progress")
    assert alice.last.text == (
        "Your answer was: 3 / 5\n\n"
        "How do you feel about your progress towards your goals this week?"
    )
    await alice.tap("5 · Great")
    assert (await answers(database, prompt_id))["progress"] == "5"
    assert "Saved. Here is your check-in now:" in alice.last.text
    assert "• Progress: 5 / 5" in alice.last.text

    # A typed answer changed the same way.
    await alice.tap("✏️ Edit an answer")
    await alice.tap("For the coordinator")
    await alice.send("Actually, I found a job!")
    assert (await answers(database, prompt_id))["note"] == "Actually, I found a job!"
    assert "• For the coordinator: Actually, I found a job!" in alice.last.text

    # No contact after all: the helpfulness answer no longer applies and is dropped.
    await alice.tap("✏️ Edit an answer")
    await alice.tap("Contact")
    await alice.tap("Not this week")
    stored = await answers(database, prompt_id)
    assert stored["contact"] == "none" and "helpful" not in stored
    assert "How helpful" not in alice.last.text
    # …and back to a meeting: the question is asked again, then the summary.
    await alice.tap("✏️ Edit an answer")
    await alice.tap("Contact")
    await alice.tap("Yes, in person")
    assert "How helpful was your time" in alice.last.text
    await alice.tap("2")
    assert (await answers(database, prompt_id))["helpful"] == "2"
    assert "Saved. Here is your check-in now:" in alice.last.text
    prompt = await prompt_row(database, prompt_id)
    assert prompt.status == PromptStatus.ANSWERED

    # Once the period closes, answers can no longer change.
    clock.advance(days=8)
    await alice.tap("✏️ Edit an answer")
    assert alice.answers[-1] == "This check-in is closed now, so it can no longer be changed."
    assert (await answers(database, prompt_id))["helpful"] == "2"


# --- snooze --------------------------------------------------------------------------------------


async def test_snooze_sets_the_reminder(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    mentee, mentor, match = pair
    alice = tg.user(ALICE, "Alice")
    prompt_id = await add_prompt(database, clock, mentee, match, "mentee_weekly")
    async with database.session() as session:
        prompt = await session.get(Prompt, prompt_id)
        assert prompt is not None
        prompt.reminded_at = clock()
        session.add(prompt)
    await deliver_prompt(tg, database, prompt_id)

    await alice.tap("⏰ In 3 hours")
    assert alice.answers[-1] == "Okay, I'll remind you in 3 hours."
    prompt = await prompt_row(database, prompt_id)
    assert prompt.remind_at == clock() + timedelta(hours=3)
    assert prompt.reminded_at is None
    assert alice.messages[0].has_buttons, "the question stays answerable"

    await alice.tap("⏰ Tomorrow")
    assert alice.answers[-1] == "Okay, I'll remind you at 9:00\u202fa.m. tomorrow."
    assert (await prompt_row(database, prompt_id)).remind_at == clock() + timedelta(days=1)

    robert = tg.user(ROBERT, "Robert", language_code="fr")
    other = await add_prompt(database, clock, mentor, match, "mentor_weekly")
    await deliver_prompt(tg, database, other)
    await robert.tap("⏰ Demain")
    assert robert.answers[-1] == "D’accord, je vous le rappellerai demain à 9 h."

    clock.advance(days=6, hours=20)  # the period closes in 4 hours
    await alice.tap("⏰ Tomorrow")
    assert alice.answers[-1].startswith("This check-in closes before then.")
    assert (await prompt_row(database, prompt_id)).remind_at == datetime(
        2026, 11, 17, 14, tzinfo=UTC
    )


# --- refused taps --------------------------------------------------------------------------------


async def test_other_peoples_and_forged_buttons_change_nothing(
    tg: FakeTelegram, database: Database, ask: Ask, clock: FakeClock
) -> None:
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()

    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/resume")  # gives Robert a message to press on
    await robert.press(f"ci:{prompt_id}:contact:call")
    assert robert.answers[-1] == "Ce bouton ne vous est pas destiné : rien n’a été modifié."
    await robert.press(f"ci:{prompt_id}:_snooze:3h")
    await robert.press(f"ci:{prompt_id}:_edit:")
    mallory = tg.user(MALLORY, "Mallory")  # not a participant at all
    await mallory.send("hello")
    await mallory.press(f"ci:{prompt_id}:contact:call")
    assert (
        mallory.answers[-1] == "That button belongs to an earlier question, so it no longer works."
    )
    assert await answers(database, prompt_id) == {}
    prompt = await prompt_row(database, prompt_id)
    assert prompt.remind_at == clock() + timedelta(hours=24)

    for forged, notice in [
        (f"ci:{prompt_id}:contact:bogus", "That button belongs to an earlier question"),
        (f"ci:{prompt_id}:helpful:3", "That button belongs to an earlier question"),
        (f"ci:{prompt_id}:nosuch:1", "That button belongs to an earlier question"),
        (f"ci:{prompt_id}:_skip:busy", "That button belongs to an earlier question"),
        (f"ci:{prompt_id}:_edit:contact", "That button belongs to an earlier question"),
        ("ci:999999:contact:call", "That button belongs to an earlier question"),
        ("ci:nope", "That button belongs to an earlier question"),
    ]:
        await alice.press(forged)
        assert alice.answers[-1].startswith(notice), forged
        assert "Did you and your mentor connect" in alice.last.text, forged
    assert await answers(database, prompt_id) == {}
    assert tg.api.unanswered_callback_queries() == []


# --- bad input at every question -----------------------------------------------------------------

MENTEE_PATH = [
    ("contact", [], "Did you and your mentor connect this week?", False),
    ("helpful", ["tap:Yes, in person"], "How helpful was your time", False),
    ("progress", ["tap:Yes, in person", "tap:4"], "progress towards your goals", False),
    ("note", ["tap:Yes, in person", "tap:4", "tap:3"], "anything your coordinator", True),
    (
        "wants_contact",
        ["tap:Yes, in person", "tap:4", "tap:3", "Fine"],
        "Would you like your coordinator",
        False,
    ),
]


@pytest.mark.parametrize(
    ("key", "path", "question", "typed"), MENTEE_PATH, ids=[step[0] for step in MENTEE_PATH]
)
@pytest.mark.parametrize(
    "bad", ["sticker", "photo", "huge text", "text for buttons", "unknown command", "stale button"]
)
async def test_bad_input_keeps_the_question(
    tg: FakeTelegram,
    database: Database,
    ask: Ask,
    key: str,
    path: list[str],
    question: str,
    typed: bool,
    bad: str,
) -> None:
    if bad == "text for buttons" and typed:
        pytest.skip("this question takes text")
    alice = tg.user(ALICE, "Alice")
    prompt_id, first = await ask.mentee()
    for step in path:
        await (alice.tap(step[4:]) if step.startswith("tap:") else alice.send(step))
    assert question in alice.last.text
    before = await answers(database, prompt_id)

    if bad == "sticker":
        await alice.send_sticker()
        expected = "Please answer in a text message." if typed else "Please tap one of the buttons"
        assert "I can't read a sticker here." in alice.new_messages()[0].text
        assert expected in alice.new_messages()[0].text
    elif bad == "photo":
        await alice.send_photo()
        assert "I can't read that kind of message here" in alice.new_messages()[0].text
    elif bad == "huge text":
        await alice.send("x" * 5000)
        reply = alice.new_messages()[0].text
        expected = "keep it under 1000 characters" if typed else "one of the buttons below"
        assert expected in reply
    elif bad == "text for buttons":
        await alice.send("pretty good")
        assert alice.new_messages()[0].text == "Please answer with one of the buttons below."
    elif bad == "unknown command":
        await alice.send("/frobnicate")
        assert "I don't know that command" in alice.new_messages()[0].text
    elif key == "contact":  # a later question's button, which was never shown
        await alice.press(f"ci:{prompt_id}:progress:2", message_id=first.message_id)
        assert "That button belongs to an earlier question" in alice.answers[-1]
    else:  # the first question's button, once more
        await alice.press(f"ci:{prompt_id}:contact:none", message_id=first.message_id)
        assert alice.answers[-1] == "You've already answered that question."

    assert question in alice.last.text, "the same question is asked again"
    assert await answers(database, prompt_id) == before


# --- /checkin ------------------------------------------------------------------------------------


async def test_checkin_command_starts_this_weeks_check_in(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    mentee, _, _ = pair
    alice = tg.user(ALICE, "Alice")
    clock.advance(days=2)  # Wednesday: this week's check-in was never made (matched late)
    await alice.send("/checkin")
    (prompt,) = await prompts_of(database, mentee)
    assert (prompt.period, prompt.kind, prompt.instrument) == (PERIOD, "checkin", "mentee_weekly")
    assert prompt.status == PromptStatus.SENT
    assert prompt.due_at == datetime(2026, 11, 16, 14, tzinfo=UTC)
    assert prompt.closes_at == datetime(2026, 11, 23, 14, tzinfo=UTC)
    assert prompt.telegram_message_id == alice.last.message_id
    assert alice.last.text.startswith("Weekly check-in · week of November 16")
    await alice.tap("Yes, in person")
    assert alice.messages[-2].text.startswith("Weekly check-in · week of November 16")
    await alice.tap("4")
    await alice.tap("3")
    await alice.tap("Skip")
    await alice.tap("Yes")
    assert (await prompt_row(database, prompt.id or 0)).status == PromptStatus.ANSWERED

    await alice.send("/checkin")  # already answered: offer to change it
    assert "You've already answered this week's check-in." in alice.last.text
    await alice.tap("✏️ Edit an answer")
    await alice.tap("Coordinator to get in touch")
    await alice.tap("No")
    assert (await answers(database, prompt.id or 0))["wants_contact"] == "no"
    assert len(await prompts_of(database, mentee)) == 1


async def test_checkin_command_before_the_first_slot_answers_the_coming_one(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Matched on Tuesday: the check-in of next Monday can be answered ahead of time,
    and the dispatcher then has nothing to send for it."""
    mentee, _, match = await add_pair(database, program, clock)
    async with database.session() as session:
        match.started_at = clock() + timedelta(days=1)
        session.add(match)
    clock.advance(days=1, hours=2)
    alice = tg.user(ALICE, "Alice")
    await alice.send("/checkin")
    (prompt,) = await prompts_of(database, mentee)
    assert prompt.period == "2026-W48"
    assert prompt.due_at == datetime(2026, 11, 23, 14, tzinfo=UTC)
    assert prompt.status == PromptStatus.SENT
    assert "week of November 23" in alice.last.text


async def test_checkin_command_for_people_without_a_check_in(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mallory = tg.user(MALLORY, "Mallory")
    await mallory.send("/checkin")
    assert "Check-ins start once you have joined a program" in mallory.last.text
    await add_participant(
        database, program, clock, telegram_id=ALICE, name="Alice", role=Role.MENTEE
    )
    alice = tg.user(ALICE, "Alice")
    await alice.send("/checkin")
    assert "You don't have a match yet" in alice.last.text
    await alice.send("just chatting")
    assert "I'm not waiting for an answer right now" in alice.last.text


# --- /skip ---------------------------------------------------------------------------------------


async def test_skip_this_week_with_a_reason(tg: FakeTelegram, database: Database, ask: Ask) -> None:
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    await alice.tap("Yes, in person")

    await alice.send("/skip")
    prompt = await prompt_row(database, prompt_id)
    assert prompt.status == PromptStatus.SKIPPED
    assert prompt.remind_at is None
    assert "Okay, this week's check-in is skipped." in alice.last.text
    assert alice.last.labels == ["Too busy", "On holiday", "Sick", "Another reason"]
    await alice.tap("On holiday")
    assert alice.answers[-1] == "Thanks for letting me know."
    assert (await answers(database, prompt_id))["skip_reason"] == "holiday"
    assert alice.last.text.endswith("Reason: On holiday")
    assert not alice.last.has_buttons

    await alice.tap("4")  # the helpfulness question's buttons are still in the chat
    assert alice.answers[-1].startswith("You skipped this check-in.")
    await alice.send("/skip")
    assert alice.last.text == "This week's check-in is already skipped."

    await alice.send("/checkin")  # changed their mind: answer after all
    assert (await prompt_row(database, prompt_id)).status == PromptStatus.SENT
    assert "skip_reason" not in await answers(database, prompt_id)
    assert "How helpful" in alice.last.text


async def test_skip_before_the_check_in_exists_and_after_answering(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    mentee, mentor, match = pair
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/skip")
    (prompt,) = await prompts_of(database, mentor)
    assert (prompt.period, prompt.status) == (PERIOD, PromptStatus.SKIPPED)
    assert "D’accord, vous passez le suivi de cette semaine." in robert.last.text

    alice = tg.user(ALICE, "Alice")
    prompt_id = await add_prompt(database, clock, mentee, match, "mentee_weekly")
    await deliver_prompt(tg, database, prompt_id)
    await finish_mentee_checkin(alice)
    await alice.send("/skip")
    assert "You've already answered this week's check-in" in alice.last.text
    assert (await prompt_row(database, prompt_id)).status == PromptStatus.ANSWERED


# --- /pause and /resume --------------------------------------------------------------------------


async def test_pause_with_a_button_then_resume(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    mentee, _, match = pair
    alice = tg.user(ALICE, "Alice")
    upcoming = await add_prompt(
        database, clock, mentee, match, "mentee_weekly", status=PromptStatus.PENDING,
        period="2026-W48", due_at=clock() + timedelta(days=7),
    )  # fmt: skip
    current = await add_prompt(database, clock, mentee, match, "mentee_weekly")

    await alice.send("/pause")
    assert "Until when should I pause your check-ins?" in alice.last.text
    assert "like December 7, 2026" in alice.last.text
    assert alice.last.labels == ["1 week", "2 weeks", "1 month"]
    await alice.tap("2 weeks")
    person = await person_row(database, ALICE)
    assert person.status == PersonStatus.PAUSED
    assert person.paused_until == date(2026, 11, 30)
    assert [prompt.id for prompt in await prompts_of(database, mentee)] == [current]
    assert upcoming != current
    assert "paused until November 30, 2026" in alice.last.text
    assert not alice.last.has_buttons

    await alice.send("/resume")
    person = await person_row(database, ALICE)
    assert (person.status, person.paused_until) == (PersonStatus.ACTIVE, None)
    assert alice.last.text == (
        "Welcome back! Your check-ins are on again.\nNext check-in: Monday at 9:00\u202fa.m."
    )
    await alice.send("/resume")
    assert alice.last.text == "Your check-ins aren't paused."


async def test_pause_until_a_typed_date_in_french(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/pause")
    assert "par exemple 7 décembre 2026" in robert.last.text
    await robert.send("le 32 janvier")
    assert "Je n’ai pas compris cette date." in robert.last.text
    await robert.send("15 novembre")  # next year's: more than six months away
    assert "Choisissez une date entre demain et dans six mois" in robert.last.text
    assert (await person_row(database, ROBERT)).status == PersonStatus.ACTIVE
    await robert.send("5 janvier")
    person = await person_row(database, ROBERT)
    assert (person.status, person.paused_until) == (PersonStatus.PAUSED, date(2027, 1, 5))
    assert "vos suivis sont suspendus jusqu’au 5 janvier 2027" in robert.last.text
    await robert.send("6 janvier")  # no longer waiting for a date
    assert robert.last.text.startswith("Je n’attends pas de réponse pour le moment.")
    assert (await person_row(database, ROBERT)).paused_until == date(2027, 1, 5)


async def test_pause_with_the_date_as_argument(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/pause 2027-01-05")
    assert (await person_row(database, ALICE)).paused_until == date(2027, 1, 5)
    await alice.send("/pause January 12")
    assert (await person_row(database, ALICE)).paused_until == date(2027, 1, 12)
    await alice.send("/pause 2026-11-16")
    assert "Please choose a date after today" in alice.last.text
    assert (await person_row(database, ALICE)).paused_until == date(2027, 1, 12)


async def test_the_asked_cache_is_only_a_cache(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    """user_data remembers which message asked; without it the answer still lands."""
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    for label in ("Not this week", "3"):
        await alice.tap(label)
    assert ASKED in tg.application.user_data[ALICE]
    tg.application.user_data[ALICE].clear()
    await alice.send("A note")
    assert (await answers(database, prompt_id))["note"] == "A note"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-05", date(2027, 1, 5)),
        ("5 janvier", date(2027, 1, 5)),
        ("le 1er mars 2027", date(2027, 3, 1)),
        ("5 Décembre", date(2026, 12, 5)),
        ("January 5", date(2027, 1, 5)),
        ("Jan 5th, 2027", date(2027, 1, 5)),
        ("december 7, 2026", date(2026, 12, 7)),
        ("16 novembre", date(2027, 11, 16)),  # today's date: next year's
        ("32 janvier", None),
        ("2027-02-30", None),
        ("5/1", None),
        ("next week", None),
    ],
)
def test_dates_people_type(text: str, expected: date | None) -> None:
    assert parse_day(text, date(2026, 11, 16)) == expected


@pytest.mark.parametrize(
    ("today", "choice", "expected"),
    [
        (date(2026, 11, 16), "1w", date(2026, 11, 23)),
        (date(2026, 11, 16), "2w", date(2026, 11, 30)),
        (date(2026, 11, 16), "1m", date(2026, 12, 16)),
        (date(2026, 12, 20), "1m", date(2027, 1, 20)),
        (date(2027, 1, 31), "1m", date(2027, 2, 28)),
    ],
)
def test_pause_lengths(today: date, choice: str, expected: date) -> None:
    assert pause_end(today, choice) == expected


async def test_a_mentor_with_two_mentees_sees_whom_a_check_in_is_about(
    tg: FakeTelegram, database: Database, ask: Ask, program: Program, clock: FakeClock, pair
) -> None:
    _, mentor, _ = pair
    await add_second_mentee(database, program, clock, mentor, telegram_id=303, name="Chloé Roy")
    tg.user(ROBERT, "Robert", language_code="fr")
    _, first = await ask.mentor()
    assert "Celui-ci porte sur votre jumelage avec Alice Martin." in first.text


async def test_a_closed_check_in_takes_no_more_answers(
    tg: FakeTelegram, database: Database, ask: Ask, clock: FakeClock
) -> None:
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    await alice.tap("Yes, in person")
    clock.advance(days=7)
    await alice.tap("4")
    assert alice.answers[-1] == "This check-in is closed now, so it can no longer be changed."
    assert await answers(database, prompt_id) == {"contact": "in_person"}
    await alice.send("A late note")
    assert alice.last.text.startswith("I'm not waiting for an answer right now.")
    assert await answers(database, prompt_id) == {"contact": "in_person"}
