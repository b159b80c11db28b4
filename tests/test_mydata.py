"""/mydata: the document holds every table that refers to a person (checked against the
models, so a new table cannot be forgotten) and everything the person wrote, but not what
other people wrote about them; the chat shows a summary in the person's language and sends
the same data as a JSON file."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from conversations.kit.consent import CONSENT_VERSION
from conversations.kit.text import labelled
from locales.translator import Html, translator
from storage.db import Database
from storage.models import Person, Program
from storage.mydata import DERIVED, SOURCES, person_document
from tests.builders import ALICE, ROBERT, add_pair
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram
from tests.test_erasure import MARKERS, plant


def refers_to_person(table: sa.Table, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a table points at a person, directly or through the tables it points at."""
    for key in table.foreign_keys:
        target = key.column.table
        if target.name == "person":
            return True
        if target.name not in seen and refers_to_person(target, seen | {table.name}):
            return True
    return False


def test_every_table_about_people_has_a_section() -> None:
    tables = SQLModel.metadata.sorted_tables
    about_people = {table.name for table in tables if refers_to_person(table)}
    assert about_people - DERIVED == set(SOURCES) - {"person", "stored_state"}
    assert {table.name for table in tables} - set(SOURCES) - DERIVED == {"program"}


async def test_the_document_holds_everything_she_wrote_and_not_others_notes(
    database: Database, program: Program
) -> None:
    ids = await plant(database, program.id or 0)
    async with database.session() as session:
        alice = await session.get(Person, ids["alice"])
        assert alice is not None
        document = await person_document(session, alice)
    assert set(document) == set(SOURCES.values())
    for section in set(SOURCES.values()) - {"extensions"}:
        assert document[section], f"{section} is empty although the set-up wrote to it"
    text = json.dumps(document, ensure_ascii=False)
    assert [marker for marker in MARKERS.values() if marker not in text] == []
    assert "Robert's own note" not in text and "Robert" not in text
    assert document["profile"]["consent_version"] == CONSENT_VERSION


async def test_mydata_in_chat_in_english_and_french(
    tg: FakeTelegram, bots: Bots, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_pair(database, program, clock)
    for user_id, name, heading, caption in (
        (ALICE, "Alice", "What Tandem stores about you", "Your data in Tandem (JSON)"),
        (
            ROBERT,
            "Robert",
            "Ce que Tandem enregistre à votre sujet",
            "Vos données dans Tandem (JSON)",
        ),
    ):
        user = tg.user(user_id, name)
        await user.send("/mydata")
        summary = user.new_messages()[0].text
        assert summary.startswith(heading)
        calls = [
            call for call in bots.api.calls_to("sendDocument") if call.params["chat_id"] == user_id
        ]
        (call,) = calls
        file_name, content = call.files["document"][:2]
        assert (file_name, call.params["caption"]) == ("tandem-my-data.json", caption)
        document: dict[str, Any] = json.loads(content)
        assert document["profile"]["name"] in summary
        assert len(document["matches"]) == 1
    alice_summary = tg.user(ALICE, "Alice").messages[-2].text
    assert "Matches: 1" in alice_summary and "Programs: Career Bridge Toronto (mentee)" in (
        alice_summary
    )
    robert = tg.user(ROBERT, "Robert")
    lines = robert.messages[-2].text.splitlines()
    assert [line for line in lines if line.startswith("Programmes")] == [
        labelled(translator("fr"), Html("Programmes"), "Career Bridge Toronto (mentor)")
    ]
    assert labelled(translator("fr"), Html("Langue"), "Français") in lines
    stranger = tg.user(5, "Stranger")
    await stranger.send("/mydata")
    assert stranger.last.text.startswith("Hi! I'm Tandem")
    tg.assert_no_errors()
