"""/endmatch: a mentor or mentee asks the coordinator to end their match early. The
request reaches the program's coordinators at once with who asked, when and why; nothing
about the match changes; bad input, stale and forged buttons change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from storage.db import Database
from storage.models import AuditEvent, Flag, Match, MatchStatus, Program, Role
from tests.builders import ALICE, MALLORY, ROBERT, add_participant, add_second_mentee, ask
from tests.conftest import FakeClock
from tests.fakebot import iter_buttons
from tests.harness import FakeTelegram
from tests.test_alerts import CLAUDE, CORA, OTTO, seed_people
from tests.test_checkin import answers

CONFIRM = (
    "Ask to end your match with Robert Tremblay early?\n\nSometimes a match doesn't work "
    "out, and that's okay. If you confirm, I'll let your coordinator know; they will get in "
    "touch with you to talk it over and decide together what comes next. Until then nothing "
    "changes, and I won't tell Robert Tremblay myself."
)
REASON_QUESTION = (
    "Would you like to tell your coordinator why, in a few words? Only your program's "
    "coordinators will read it. Type it below, or tap Skip."
)
THANKS = (
    "Thank you for telling me. Your coordinator has your request and will be in touch with "
    "you soon to talk it over. Until then nothing changes: your match, check-ins and "
    "meetings go on as before."
)
ALREADY = (
    "You've already asked to end this match: your coordinator has your request and will be "
    "in touch with you soon."
)
STALE = "That button no longer works."


@pytest.fixture
async def people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    return await seed_people(database, program, clock)


async def flags(database: Database) -> list[Flag]:
    async with database.session() as session:
        return list((await session.exec(select(Flag).order_by(col(Flag.id)))).all())


async def events(database: Database) -> list[AuditEvent]:
    async with database.session() as session:
        rows = await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))
        return list(rows.all())


async def match_status(database: Database, match: Match) -> str:
    async with database.session() as session:
        row = await session.get(Match, match.id)
        assert row is not None
        return row.status


async def test_a_mentee_asks_with_a_reason(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    assert alice.last.text == CONFIRM
    assert alice.last.labels == ["Yes, ask the coordinator", "No, keep going"]
    await alice.tap("Yes, ask the coordinator")
    question = alice.last
    assert (question.text, question.labels) == (REASON_QUESTION, ["Skip"])
    assert await flags(database) == []  # not before the reason
    await alice.send("He cancels every time & says <sorry>")
    assert alice.last.text == THANKS
    assert not alice.api.message(ALICE, question.message_id).has_buttons
    (flag,) = await flags(database)
    assert (flag.rule, flag.severity, flag.status) == ("end_request", "high", "open")
    assert flag.evidence == {
        "requests": [
            {
                "person_id": people["mentee"].id,
                "at": clock().isoformat(),
                "reason": "He cancels every time & says <sorry>",
            }
        ]
    }
    (event,) = await events(database)
    assert (event.actor_id, event.actor_label, event.action, event.subject, event.detail) == (
        people["mentee"].id,
        "mentee",
        "match.end_requested",
        f"match:{people['match'].id}",
        {"reason": "He cancels every time & says <sorry>"},
    )
    assert await match_status(database, people["match"]) == MatchStatus.ACTIVE
    (english,) = tg.user(CORA, "Cora").messages
    assert english.text.splitlines()[0] == "⚠️ Asked to end the match"
    assert (
        "Alice Martin asked on November 16, 2026 to end the match early: "
        "“He cancels every time & says <sorry>”" in english.text
    )
    assert "&amp; says &lt;sorry&gt;" in english.raw  # escaped once, not twice
    assert english.labels == [
        "🏁 End the match",
        "▶️ Keep it going",
        "Acknowledge",
        "Snooze 7 days",
        "Show match",
    ]  # the decision is tests/test_match_end.py's
    (french,) = tg.user(CLAUDE, "Claude").messages
    assert french.text.splitlines()[0] == "⚠️ Demande de fin de jumelage"
    assert (
        "Alice Martin a demandé le 16 novembre 2026 de mettre fin au jumelage plus tôt que "
        "prévu : «\xa0He cancels every time & says <sorry>\xa0»" in french.text
    )
    for outsider in (OTTO, ROBERT):
        assert tg.user(outsider, "x").messages == []


async def test_a_mentor_asks_in_french_without_a_reason(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/endmatch")
    assert robert.last.text.startswith(
        "Demander de mettre fin plus tôt à votre jumelage avec Alice Martin?\n\n"
        "Il arrive qu’un jumelage ne fonctionne pas, et c’est tout à fait normal."
    )
    assert robert.last.labels == ["Oui, aviser l’équipe de coordination", "Non, on continue"]
    await robert.tap("Oui, aviser l’équipe de coordination")
    assert robert.last.text.startswith("Voulez-vous expliquer pourquoi en quelques mots?")
    await robert.tap("Passer")
    assert robert.last.text.startswith(
        "Merci de me l’avoir dit. L’équipe de coordination a reçu votre demande"
    )
    assert not robert.last.has_buttons
    (flag,) = await flags(database)
    assert flag.evidence["requests"][0]["reason"] is None
    assert (await events(database))[0].detail == {"reason": None}
    assert (
        "Robert Tremblay asked on November 16, 2026 to end the match early (no reason given)."
        in tg.user(CORA, "Cora").last.text
    )
    assert "(sans donner de raison)" in tg.user(CLAUDE, "Claude").last.text


async def test_no_keeps_the_match_and_records_nothing(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    await alice.tap("No, keep going")
    assert alice.last.text.startswith("Okay, your match goes on.")
    assert not alice.last.has_buttons
    await alice.send("Just kidding")  # not taken as a reason
    assert "Just kidding" not in str([flag.evidence for flag in await flags(database)])
    assert await flags(database) == [] and await events(database) == []
    assert tg.user(CORA, "Cora").messages == []


async def test_a_second_request_is_already_with_the_coordinator(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    confirmation = alice.last
    await alice.tap("Yes, ask the coordinator")
    skip = alice.last
    await alice.tap("Skip")
    await alice.send("/endmatch")
    assert (alice.last.text, alice.last.has_buttons) == (ALREADY, False)
    match_id = people["match"].id
    await alice.press(f"end:yes:{match_id}", confirmation.message_id)
    assert alice.api.message(ALICE, confirmation.message_id).text == ALREADY
    await alice.press(f"end:skip:{match_id}", skip.message_id)
    assert alice.api.message(ALICE, skip.message_id).text == ALREADY
    assert len(await flags(database)) == 1 and len(await events(database)) == 1
    assert len(tg.user(CORA, "Cora").messages) == 1


async def test_the_partner_asking_too_is_added_to_the_open_flag(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    await alice.tap("Yes, ask the coordinator")
    await alice.send("We never agree on a time.")
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/endmatch")  # he is not told that Alice asked
    assert robert.last.labels == ["Oui, aviser l’équipe de coordination", "Non, on continue"]
    await robert.tap("Oui, aviser l’équipe de coordination")
    await robert.tap("Passer")
    (flag,) = await flags(database)
    assert [request["person_id"] for request in flag.evidence["requests"]] == [
        people["mentee"].id,
        people["mentor"].id,
    ]
    assert [event.actor_label for event in await events(database)] == ["mentee", "mentor"]
    first, second = tg.user(CORA, "Cora").messages
    for alert in (first, second):  # the first copy is brought up to date too
        assert "Alice Martin asked on November 16, 2026" in alert.text
        assert "Robert Tremblay asked on November 16, 2026" in alert.text


async def test_a_long_reason_a_sticker_and_cancel(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    await alice.tap("Yes, ask the coordinator")
    await alice.send("x" * 501)
    assert alice.last.text == "That's a bit long: please keep it under 500 characters."
    await alice.send_sticker()
    assert alice.last.text == "I can't read a sticker here. Please answer in a text message."
    assert await flags(database) == []
    await alice.send("/cancel")
    assert alice.last.text == "Okay, I didn't send anything: your match goes on."
    await alice.send("Too late now")
    assert await flags(database) == [] and await events(database) == []


async def test_the_reason_is_typed_in_french(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/endmatch")
    await robert.tap("Oui, aviser l’équipe de coordination")
    await robert.send("x" * 501)
    assert robert.last.text.startswith("C’est un peu long")
    await robert.send("Nos horaires ne concordent plus.")
    assert robert.last.text.startswith("Merci de me l’avoir dit.")
    (flag,) = await flags(database)
    assert flag.evidence["requests"][0]["reason"] == "Nos horaires ne concordent plus."


async def test_a_checkin_question_asked_since_takes_the_text(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    await alice.tap("Yes, ask the coordinator")
    clock.advance(minutes=1)
    prompt_id, _ = await ask(tg, database, clock, people["mentee"], people["match"])
    await alice.tap("Not this week")
    await alice.tap("4")
    await alice.send("All good this week.")  # the check-in's note, not a reason
    assert (await answers(database, prompt_id))["note"] == "All good this week."
    assert [flag.rule for flag in await flags(database)] == []


async def test_another_dialogues_button_drops_the_question(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/goals")
    goals = alice.last
    (add,) = [button.callback_data for button in iter_buttons(goals) if "Add" in button.text]
    await alice.send("/endmatch")
    await alice.tap("Yes, ask the coordinator")
    await alice.press(str(add), goals.message_id)  # an earlier message's button
    await alice.send("Find a job in accounting")
    assert alice.last.text.startswith("Added to your goals.")
    assert await flags(database) == [] and await events(database) == []


async def test_someone_with_two_matches_picks_one(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, people
) -> None:
    second = await add_second_mentee(
        database, program, clock, people["mentor"], telegram_id=105, name="Béa Roy"
    )
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/endmatch")
    assert robert.last.text == "Pour quel jumelage voulez-vous faire la demande?"
    assert robert.last.labels == ["Alice Martin", "Béa Roy"]
    await robert.tap("Béa Roy")
    assert "votre jumelage avec Béa Roy" in robert.last.text
    await robert.tap("Oui, aviser l’équipe de coordination")
    await robert.tap("Passer")
    (flag,) = await flags(database)
    assert flag.match_id == second.id
    assert "Robert Tremblay ↔ Béa Roy" in tg.user(CORA, "Cora").last.text


async def test_people_without_a_match_are_told_so(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    stranger = tg.user(4242, "Stranger")
    await stranger.send("/endmatch")
    assert stranger.last.text.startswith("Only mentors and mentees can ask to end a match.")
    cora = tg.user(CORA, "Cora")
    await cora.send("/endmatch")
    assert cora.last.text.startswith("You don't have a match to end right now.")
    claude = tg.user(CLAUDE, "Claude")
    await claude.send("/endmatch")
    assert claude.last.text.startswith("Vous n’avez pas de jumelage en cours.")
    async with database.session() as session:
        match = await session.get(Match, people["match"].id)
        assert match is not None
        match.status = MatchStatus.CLOSED
        session.add(match)
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    assert alice.last.text.startswith("You don't have a match to end right now.")
    assert await flags(database) == [] and await events(database) == []


async def test_stale_foreign_and_forged_buttons_change_nothing(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, people
) -> None:
    match_id = people["match"].id
    await add_participant(
        database, program, clock, telegram_id=MALLORY, name="Mallory", role=Role.MENTEE
    )
    mallory = tg.user(MALLORY, "Mallory")
    await mallory.send("/endmatch")  # a message to press on
    for action in ("pick", "yes", "no", "skip"):
        await mallory.press(f"end:{action}:{match_id}")
        assert mallory.answers[-1] == STALE
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    for forged in ("end:burn:1", "end:yes:x", "end:yes:99999999999", "end:yes", "end:skip:9"):
        await alice.press(forged)
        assert alice.answers[-1] == STALE
    async with database.session() as session:
        match = await session.get(Match, match_id)
        assert match is not None
        match.status = MatchStatus.CLOSING
        session.add(match)
    await alice.tap("Yes, ask the coordinator")
    assert alice.answers[-1] == "This match is no longer active, so there is nothing to ask."
    await alice.press(f"end:skip:{match_id}")
    assert alice.answers[-1] == "This match is no longer active, so there is nothing to ask."
    assert await flags(database) == [] and await events(database) == []
    assert tg.user(CORA, "Cora").messages == []


async def test_help_lists_endmatch(tg: FakeTelegram, people: dict[str, Any]) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/help")
    assert "/endmatch: ask your coordinator to end your match early" in alice.last.text
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/help")
    assert "/endmatch : demander à l’équipe de coordination" in robert.last.text


async def test_help_lists_every_coordinator_command(
    tg: FakeTelegram, people: dict[str, Any]
) -> None:
    cora = tg.user(CORA, "Cora")
    await cora.send("/help")
    listed = cora.last.text.split("For coordinators\n")[1].splitlines()
    assert [line.split(":")[0] for line in listed] == [
        "/flags", "/matches", "/match", "/dashboard", "/report", "/broadcast",
        "/invite", "/pair", "/people", "/export",
    ]  # fmt: skip
    assert "/flags: Open flags, the most urgent first" in listed
    claude = tg.user(CLAUDE, "Claude", language_code="fr")
    await claude.send("/help")
    assert "/dashboard : Les chiffres de votre programme en un coup d’œil" in claude.last.text
    alice = tg.user(ALICE, "Alice")
    await alice.send("/help")
    assert "For coordinators" not in alice.last.text
