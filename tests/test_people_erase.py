"""Erasing a participant from a coordinator's /people, for a request made by another
channel: the coordinator picks the person, reads the terms /deleteme states (in the third
person), confirms and types the reason; the person is erased with an audit event naming
the coordinator and the reason, and their partner and the other coordinators are told, in
their own languages, without it. Stale and double taps are answered; another program's
coordinator cannot. Afterwards every coordinator view (and the export) names the person
"Erased participant", in English and in French."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import cli
from conversations.export import export_codebook
from conversations.kit.lifecycle import ask_coordinators
from storage.db import Database
from storage.exports import export_tables
from storage.models import (
    AuditEvent,
    ExtensionStatus,
    Match,
    MatchExtension,
    MatchStatus,
    Person,
    PersonStatus,
    Program,
)
from tests.builders import ALICE, ROBERT
from tests.conftest import ADMIN_ID, FakeClock
from tests.fakebot import BOT_TOKEN
from tests.harness import FakeTelegram
from tests.test_alerts import CLAUDE, CORA, OTTO, raise_safety_flag, seed_people
from tests.test_cli import tandem

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


async def test_an_admin_who_coordinates_no_program_erases_from_people(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    """The chat path `tandem person erase` had alone: /people in any program, the same
    terms, confirmation and reason; the audit event names the admin; the partner and
    every coordinator are told, without the reason."""
    admin = tg.user(ADMIN_ID, "Ada")
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude")
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    mentee_id = people["mentee"].id
    await admin.send("/people")
    assert admin.last.text == "Which program?"
    assert admin.last.labels == ["Career Bridge Toronto", "Other program"]
    await admin.tap("Career Bridge Toronto")
    assert admin.last.text.startswith("People in Career Bridge Toronto")
    await admin.tap("Erase someone's data…")
    await admin.tap("Alice Martin")
    assert admin.last.text == TERMS_EN
    await admin.tap("Yes, erase their data")
    assert admin.last.text == ASK_REASON
    for user in (robert, cora, claude):
        user.new_messages()
    await admin.send("Letter of 2 December")
    assert admin.last.text.startswith(f"Done: the data of participant #{mentee_id} is erased.")
    assert robert.new_messages()[-1].text.startswith(
        "La personne que vous mentoriez a quitté le programme"
    )
    assert cora.new_messages()[-1].text.startswith("A participant has left Career Bridge Toronto")
    assert claude.new_messages()[-1].text.startswith(
        "Une personne participante a quitté Career Bridge Toronto"
    )
    async with database.session() as session:
        person = await session.get(Person, mentee_id)
        (event,) = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).all()
    assert person is not None and person.status == PersonStatus.ERASED and person.name is None
    assert (event.actor_id, event.actor_label) == (None, f"admin {ADMIN_ID}")
    assert event.detail["reason"] == "Letter of 2 December"
    tg.assert_no_errors()


# --- messages already in coordinators' chats that named the erased person -------------


async def extension_waiting(tg: FakeTelegram, database: Database, people: dict[str, Any]) -> None:
    """Both partners asked to extend their match; each coordinator has the request."""
    async with database.session() as session:
        match = await session.get(Match, people["match"].id)
        assert match is not None
        match.planned_end = date(2026, 12, 14)
        session.add(match)
        session.add(
            MatchExtension(
                match_id=match.id or 0, planned_end=match.planned_end, weeks=4,
                status=ExtensionStatus.AGREED, mentee_wants=True, mentor_wants=True,
                created_at=match.started_at,
            )
        )  # fmt: skip
    assert await ask_coordinators(tg.application.bot, database, people["match"].id) == 2


async def test_the_alerts_already_sent_say_erased_participant_after_an_erasure(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    """A safety alert and an extension request named Alice in both coordinators' chats;
    once Cora erases her, each stored copy is edited, in its reader's language, to name
    an erased participant, and the request has no buttons left to act on."""
    await raise_safety_flag(tg, database, clock, people)
    await extension_waiting(tg, database, people)
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude")
    alert, request = cora.messages[0], cora.messages[1]
    alerte, demande = claude.messages[0], claude.messages[1]
    assert all("Alice Martin" in m.text for m in (alert, request, alerte, demande))
    program_id, mentee_id = people["match"].program_id, people["mentee"].id
    await cora.press(
        f"co:erq:{program_id}:{mentee_id}", (await cora.send("/people"))[-1].message_id
    )
    await cora.send("Email of 3 May")
    for reader, message, label in (
        (cora, alert, ERASED_EN), (cora, request, ERASED_EN),
        (claude, alerte, ERASED_FR), (claude, demande, ERASED_FR),
    ):  # fmt: skip
        now = reader.api.message(reader.chat_id, message.message_id)
        assert label in now.text and "Alice" not in now.text and "Martin" not in now.text
    assert "Robert Tremblay ↔ Erased participant" in cora.api.message(CORA, alert.message_id).text
    request = cora.api.message(CORA, request.message_id)
    assert request.text.endswith("The match has ended: nothing is left to decide.")
    assert not request.has_buttons
    demande = claude.api.message(CLAUDE, demande.message_id)
    assert demande.text.endswith("Le jumelage a pris fin\u00a0: il n’y a plus rien à décider.")
    tg.assert_no_errors()


async def test_a_copy_that_cannot_be_edited_is_skipped_and_logged_without_names(
    tg: FakeTelegram,
    database: Database,
    database_url: str,
    clock: FakeClock,
    people: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`tandem person erase`: Claude's copy is gone from his chat (Telegram refuses the
    edit); Cora's copy is edited all the same, and the log names the error only."""
    await raise_safety_flag(tg, database, clock, people)
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude")
    (alert,), (alerte,) = cora.messages, claude.messages
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "telegram_request", lambda: tg.api)
    monkeypatch.setattr(cli, "clock", clock)
    tg.api.fail_next(
        "editMessageText", error_code=400,
        description="Bad Request: message to edit not found", chat_id=CLAUDE,
    )  # fmt: skip
    caplog.set_level(logging.DEBUG)
    args = ("person", "erase", str(people["match"].program_id), f"#{people['mentee'].id}")
    result = await tandem(database_url, *args, "--reason", "Email of 3 May",
                          TELEGRAM_BOT_TOKEN=BOT_TOKEN)  # fmt: skip
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert ERASED_EN in cora.api.message(CORA, alert.message_id).text
    assert "Alice Martin" in claude.api.message(CLAUDE, alerte.message_id).text  # refused
    logged = [r for r in caplog.records if r.name == "conversations.alerts"]
    assert [r.getMessage() for r in logged if "could not update" in r.getMessage()] == [
        "could not update a copy of an alert: BadRequest"
    ]
    assert not any("Alice" in r.getMessage() or "Martin" in r.getMessage() for r in caplog.records)


async def test_deleteme_edits_the_alerts_that_named_the_person_too(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    await raise_safety_flag(tg, database, clock, people)
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude")
    (alert,), (alerte,) = cora.messages, claude.messages
    alice = tg.user(ALICE, "Alice")
    await alice.send("/deleteme")
    await alice.tap("Yes, erase my data")
    assert alice.last.text.startswith("Your data is erased.")
    alert = cora.api.message(CORA, alert.message_id)
    assert "Robert Tremblay ↔ Erased participant" in alert.text and "Alice" not in alert.text
    alerte = claude.api.message(CLAUDE, alerte.message_id)
    assert ERASED_FR in alerte.text and "Alice" not in alerte.text
    tg.assert_no_errors()
