"""Erasing a participant from a coordinator's /people, for a request made by another
channel: the coordinator picks the person, reads the terms /deleteme states (in the third
person), confirms and types the reason; the person is erased with an audit event naming
the coordinator and the reason, and their partner and the other coordinators are told, in
their own languages, without it. Stale and double taps are answered; another program's
coordinator cannot. Afterwards every coordinator view (and the export) names the person
"Erased participant", in English and in French."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from conversations.export import export_codebook
from storage.db import Database
from storage.exports import export_tables
from storage.models import AuditEvent, Match, MatchStatus, Person, PersonStatus, Program
from tests.builders import ROBERT
from tests.conftest import FakeClock
from tests.harness import FakeTelegram
from tests.test_alerts import CLAUDE, CORA, OTTO, raise_safety_flag, seed_people

TERMS_EN = (
    "Erase the data of Alice Martin?\n\n"
    "Erased: their name, username and Telegram account, their profile, everything they "
    "typed (check-in notes, meeting notes, goals, reflections, reasons they gave) and the "
    "messages still waiting to be sent to them.\n"
    "Kept, without their name: dates, counts and the answers they tapped or rated, which "
    "the program needs for its evaluation.\n"
    "Their matches end; their partner and the program's other coordinators are told that "
    "they left, without any reason. This cannot be undone.\n\n"
    "Next, you will type the reason, for the audit trail."
)
ASK_REASON = (
    "Why are you erasing the data of Alice Martin? Type the reason, for example “email of "
    "3 May”. It is kept in the audit trail only; nobody is told it. Or send /cancel."
)
ALREADY = "That person's data is already erased. Nothing was changed."
ERASED_EN, ERASED_FR = "Erased participant", "Personne participante effacée"


@pytest.fixture
async def people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    return await seed_people(database, program, clock)


async def test_a_coordinator_erases_a_mentee_from_people(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    await raise_safety_flag(tg, database, clock, people)
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude")
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    mentee_id, match_id = people["mentee"].id, people["match"].id
    await cora.send("/people")
    await cora.tap("Erase someone's data…")
    assert cora.last.text.startswith("Career Bridge Toronto: whose data should be erased?")
    assert cora.last.labels == ["Alice Martin", "Robert Tremblay", "‹ Back to the list"]
    await cora.tap("Alice Martin")
    assert cora.last.text == TERMS_EN
    assert cora.last.labels == ["Yes, erase their data", "No, keep their data"]
    terms = cora.last
    await cora.tap("Yes, erase their data")
    assert cora.last.text == ASK_REASON
    await cora.send_sticker()
    assert cora.last.text == "I can't read a sticker here. Please answer in a text message."
    await cora.send("x" * 501)
    assert cora.last.text == "That's a bit long: please keep it under 500 characters."
    for user in (robert, claude):
        user.new_messages()
    await cora.send("Email of 3 May")
    assert cora.last.text == (
        f"Done: the data of participant #{mentee_id} is erased. 1 match is closed and the "
        "partner was told."
    )
    assert robert.new_messages()[-1].text.startswith(
        "La personne que vous mentoriez a quitté le programme"
    )
    assert claude.new_messages()[-1].text.startswith(
        "Une personne participante a quitté Career Bridge Toronto"
    )
    assert not any("Email of 3 May" in text for text in (*robert.texts, *claude.texts))
    assert not [m for m in cora.new_messages() if "has left" in m.text]  # she knows

    async with database.session() as session:
        person = await session.get(Person, mentee_id)
        match = await session.get(Match, match_id)
        event = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).one()
    assert person is not None and person.status == PersonStatus.ERASED and person.name is None
    assert match is not None and match.status == MatchStatus.CLOSED
    assert (event.actor_id, event.actor_label) == (people["cora"].id, "coordinator")
    assert event.detail["reason"] == "Email of 3 May"

    # A double tap, or the terms' buttons again: already erased, nothing happens twice.
    await cora.press(f"co:erq:{people['match'].program_id}:{mentee_id}", terms.message_id)
    assert cora.answers[-1] == ALREADY
    await cora.press(f"co:era:{people['match'].program_id}:{mentee_id}", terms.message_id)
    assert cora.answers[-1] == ALREADY
    async with database.session() as session:
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).all()
    assert len(events) == 1
    tg.assert_no_errors()


@pytest.mark.parametrize(("user_id", "label"), [(CORA, ERASED_EN), (CLAUDE, ERASED_FR)])
async def test_views_name_an_erased_person_in_the_readers_language(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    people: dict[str, Any],
    user_id: int,
    label: str,
) -> None:
    await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    program_id, mentee_id = people["match"].program_id, people["mentee"].id
    await cora.press(
        f"co:erq:{program_id}:{mentee_id}", (await cora.send("/people"))[-1].message_id
    )
    await cora.send("Asked by phone")
    reader = tg.user(user_id, "Reader")
    for command in ("/people", f"/match {people['match'].id}", "/flags"):
        await reader.send(command)
        seen = "\n".join(message.text for message in reader.new_messages())
        assert label in seen, (command, seen)
        assert "Alice" not in seen and "Martin" not in seen
    await reader.send("/people")
    assert f"• {label}" in reader.last.text.split("\n")  # her line, and nothing else on it

    async with database.session() as session:
        program = await session.get(Program, program_id)
        assert program is not None
        program.default_locale = "en" if label == ERASED_EN else "fr"
        session.add(program)
    async with database.session() as session:
        tables = await export_tables(session, program_id, export_codebook())
    participants = tables["participants"]
    name = participants.columns.index("name")
    rows = [row for row in participants.rows if row[0] == mentee_id]
    assert rows and all(row[name] == label for row in rows)
    matches = tables["matches"]
    assert matches.rows[0][matches.columns.index("mentee_name")] == label
    tg.assert_no_errors()


async def test_only_the_programs_coordinators_may_and_cancel_keeps_everything(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    otto, cora = tg.user(OTTO, "Otto"), tg.user(CORA, "Cora")
    program_id, mentee_id = people["match"].program_id, people["mentee"].id
    await otto.send("/help")
    for action in ("erl", "era", "erq"):
        await otto.press(f"co:{action}:{program_id}:{mentee_id}")
        assert otto.answers[-1] == "Only this program's coordinators can do that."
    await otto.send("Forged reason")  # no reason is awaited from him
    await cora.send("/people")
    await cora.press(f"co:erq:{program_id}:{mentee_id}")
    await cora.send("/cancel")
    assert cora.last.text == "Okay, stopped. Nothing was changed."
    await cora.send("A reason too late")
    async with database.session() as session:
        person = await session.get(Person, mentee_id)
        erased = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).all()
    assert person is not None and person.status == PersonStatus.ACTIVE and erased == []
    assert not any("Done:" in text for text in cora.texts)
    tg.assert_no_errors()
