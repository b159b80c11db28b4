"""The consent re-ask: someone who agreed to an older wording is shown the new one once,
at their next interaction (what they sent is still answered); agreeing stores the new
version; declining leads to the erase question; being asked is remembered across a lost
cache; the wording names /mydata and /deleteme, in English and French."""

from __future__ import annotations

from sqlmodel import col, select

from conversations.kit.consent import CONSENT_VERSION
from storage.db import Database
from storage.models import AuditEvent, Person, PersonStatus, Program
from tests.builders import ALICE, ROBERT, add_participant
from tests.conftest import FakeClock
from tests.harness import FakeTelegram

OLD = "2026-11"


async def events(database: Database, action: str) -> list[AuditEvent]:
    async with database.session() as session:
        statement = select(AuditEvent).where(AuditEvent.action == action)
        return list((await session.exec(statement.order_by(col(AuditEvent.id)))).all())


async def test_asked_once_and_agreeing_stores_the_new_version(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    alice = await add_participant(
        database, program, clock, telegram_id=ALICE, name="Alice", role="mentee"
    )
    async with database.session() as session:
        row = await session.get(Person, alice.id)
        assert row is not None
        row.consent_version = OLD
        session.add(row)
    user = tg.user(ALICE, "Alice")
    await user.send("/help")
    asked, helped = user.new_messages()
    assert asked.text.startswith(
        "Our consent wording has changed. Please read it again.\n\n"
        "Before we start: what Tandem keeps"
    )
    assert "send /mydata at any time" in asked.text and "/deleteme to erase it" in asked.text
    assert asked.labels == ["Yes, I agree", "No, erase my data"]
    assert helped.text.startswith("What I can do")  # what she sent is answered all the same
    await user.send("/help")
    assert [message.text[:12] for message in user.new_messages()] == ["What I can d"]
    tg.application.user_data[ALICE].clear()  # a lost cache: the audit trail remembers
    await user.send("/help")
    assert len(user.new_messages()) == 1
    assert len(await events(database, "consent.asked")) == 1

    clock.advance(minutes=5)
    await user.press("cst:yes", asked.message_id)
    thanked = user.api.message(ALICE, asked.message_id)
    assert (thanked.text, thanked.labels) == ("Thank you: your consent is up to date.", [])
    async with database.session() as session:
        row = await session.get(Person, alice.id)
    assert row is not None and (row.consent_version, row.consent_at) == (CONSENT_VERSION, clock())
    (given,) = await events(database, "consent.given")
    assert given.detail == {"version": CONSENT_VERSION}
    tg.assert_no_errors()


async def test_declining_in_french_leads_to_erasure_after_confirmation(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    robert = await add_participant(
        database, program, clock, telegram_id=ROBERT, name="Robert", role="mentor", locale="fr"
    )
    async with database.session() as session:
        row = await session.get(Person, robert.id)
        assert row is not None
        row.consent_version = OLD
        session.add(row)
    user = tg.user(ROBERT, "Robert", language_code="fr")
    await user.send("/logs")
    asked = user.new_messages()[0]
    assert asked.text.startswith("Le texte du consentement a changé. Veuillez le relire.")
    assert "envoyez /mydata en tout temps" in asked.text
    await user.tap("Non, effacer mes données")
    edited = user.api.message(ROBERT, asked.message_id)
    assert edited.text.startswith("Effacer vos données?")
    assert edited.labels == ["Oui, effacer mes données", "Non, garder mes données"]
    async with database.session() as session:
        row = await session.get(Person, robert.id)
    assert row is not None and row.status == PersonStatus.ACTIVE  # not before confirming
    await user.tap("Oui, effacer mes données")
    async with database.session() as session:
        row = await session.get(Person, robert.id)
    assert row is not None and row.status == PersonStatus.ERASED
    tg.assert_no_errors()


async def test_current_consent_is_not_asked_again(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_participant(database, program, clock, telegram_id=ALICE, name="Alice", role="mentee")
    user = tg.user(ALICE, "Alice")
    await user.send("/help")
    assert len(user.new_messages()) == 1
    assert await events(database, "consent.asked") == []
