"""/deleteme: a participant is told what goes and what stays, confirms, and is erased;
their partner and their program's coordinators are told they left (no reason), each in
their language; afterwards the bot treats them as a stranger and a new invite starts
onboarding afresh; the coordinators' views no longer name them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import AuditEvent, Match, MatchStatus, Person, PersonStatus, Program
from tests.builders import ALICE, ROBERT
from tests.conftest import FakeClock
from tests.harness import FakeTelegram
from tests.test_alerts import CLAUDE, CORA, OTTO, seed_people

ERASE_EN = (
    "Erase your data?\n\n"
    "Erased: your name, username and Telegram account, your profile, everything you typed "
    "(check-in notes, meeting notes, goals, reflections, reasons you gave) and the messages "
    "still waiting to be sent to you.\n"
    "Kept, without your name: dates, counts and the answers you tapped or rated, which your "
    "program needs for its evaluation.\n"
    "Your matches end; your partner and your coordinator are told that you left, without "
    "any reason. This cannot be undone. To see your data first, send /mydata."
)
DONE_EN = (
    "Your data is erased. Thank you for taking part. If you are invited again, you will "
    "start afresh."
)
HOW_TO_JOIN = (
    "Hi! I'm Tandem, the companion of your mentorship program. To join, open the "
    "invitation link your program coordinator sent you (it looks like "
    "t.me/…?start=…). No link yet? Ask your coordinator for one."
)


@pytest.fixture
async def people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    return await seed_people(database, program, clock)


async def test_a_mentee_erases_herself_and_is_a_stranger_afterwards(
    tg: FakeTelegram, database: Database, people: dict[str, Any], invite: Any
) -> None:
    alice, robert = tg.user(ALICE, "Alice"), tg.user(ROBERT, "Robert", language_code="fr")
    cora, claude, otto = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude"), tg.user(OTTO, "Otto")
    await alice.send("/deleteme")
    assert alice.last.text == ERASE_EN
    assert alice.last.labels == ["Yes, erase my data", "No, keep my data"]
    await alice.tap("Yes, erase my data")
    assert alice.last.text == DONE_EN
    assert robert.new_messages()[-1].text == (
        "La personne que vous mentoriez a quitté le programme; votre jumelage a donc "
        "pris fin. Merci pour le temps que vous lui avez consacré."
    )
    match_id = people["match"].id
    assert cora.new_messages()[-1].text == (
        "A participant has left Career Bridge Toronto and their data was erased.\n"
        f"Match #{match_id} is closed."
    )
    assert claude.new_messages()[-1].text == (
        "Une personne participante a quitté Career Bridge Toronto et ses données ont été "
        f"effacées.\nLe jumelage #{match_id} est terminé."
    )
    assert otto.new_messages() == []
    async with database.session() as session:
        person = await session.get(Person, people["mentee"].id)
        match = await session.get(Match, match_id)
        event = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).one()
    assert person is not None and person.status == PersonStatus.ERASED and person.name is None
    assert match is not None and match.status == MatchStatus.CLOSED
    assert (event.actor_id, event.actor_label) == (None, "erased")

    # The coordinators' views no longer name her.
    for command in ("/people", f"/match {match_id}", "/dashboard"):
        await cora.send(command)
        seen = "\n".join(message.text for message in cora.new_messages())
        assert seen and "Alice" not in seen and "Martin" not in seen, command

    # A stranger now: /start without a code, then a new invite onboards her afresh.
    await alice.send("/start")
    assert alice.last.text == HOW_TO_JOIN
    await alice.send("/deleteme")
    assert alice.last.text == HOW_TO_JOIN
    code = await invite("mentee")
    await alice.send(f"/start {code}")
    assert "Which language do you prefer?" in alice.last.text
    tg.assert_no_errors()


async def test_no_keeps_everything_and_a_second_tap_finds_nobody(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/deleteme")
    assert robert.last.text.startswith("Effacer vos données?\n\nEffacé\u00a0: votre nom")
    assert robert.last.labels == ["Oui, effacer mes données", "Non, garder mes données"]
    await robert.tap("Non, garder mes données")
    assert robert.last.text == "Rien n’a été effacé."
    async with database.session() as session:
        person = await session.get(Person, people["mentor"].id)
    assert person is not None and person.status == PersonStatus.ACTIVE

    await robert.send("/deleteme")
    question = robert.last
    await robert.tap("Oui, effacer mes données")
    assert robert.last.text.startswith("Vos données sont effacées.")
    await robert.press("del:yes", question.message_id)
    assert robert.last.text == "Il ne reste aucune donnée vous concernant à effacer."
    tg.assert_no_errors()
