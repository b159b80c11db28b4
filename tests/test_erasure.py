"""Erasure (storage.erasure): after `erase_person`, no value the person was or wrote is
left in any text column of any table nor in an export; the program's figures stay the
same; every text column of every table is accounted for, so a new one cannot be missed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel, select

from conversations.export import export_codebook
from conversations.kit.erasure import erasure_keeps
from storage import metrics
from storage.closure import Actor
from storage.db import Database
from storage.end_requests import request_end
from storage.erasure import TEXT_COLUMNS, Ended, erase_person, erased_telegram_id
from storage.exports import export_tables
from storage.models import (
    AlertCopy,
    Answer,
    AuditEvent,
    Broadcast,
    BroadcastDelivery,
    CertificateDelivery,
    ExtensionCopy,
    Flag,
    Goal,
    Invite,
    Match,
    MatchExtension,
    MatchStatus,
    MeetingLog,
    Membership,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
    StoredState,
)
from storage.people import person_by_telegram_id
from storage.persistence import CONVERSATION_PREFIX, USER_DATA
from tests.builders import ALICE, ROBERT, add_match, onboarded

NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
COORDINATOR = 303
WEEKS = ["2026-W45", "2026-W46"]
# What Alice (the mentee) was and wrote: none of it may survive her erasure.
MARKERS = {
    "name": "Zorblaxine",
    "username": "zorbla_x",
    "field": "Quuxography",
    "goals": "becomeQuuxmaster",
    "help": "helpWithFrobnitz",
    "goal": "landFrobnitzJob",
    "note": "mySecretCheckinNote",
    "reflection": "reflectionGlorp",
    "log_note": "logNoteWibble",
    "topic": "topicSnargle",
    "reason": "reasonBlorft",
    "broadcast": "broadcastFizzgig",
    "flag_note": "flagNoteMumble",
    "draft": "draftTextQwop",
}


def text_like(column: sa.Column[Any]) -> bool:
    """A column that can hold words: strings, and JSON documents."""
    kind = column.type
    kind = kind.impl if isinstance(kind, sa.TypeDecorator) else kind
    return isinstance(kind, sa.String | sa.JSON)


def test_every_text_column_is_accounted_for() -> None:
    """Each table's text and JSON columns are listed with what erasure does to them."""
    tables = {table.name: table for table in SQLModel.metadata.sorted_tables}
    assert set(TEXT_COLUMNS) == set(tables), "a table is missing from storage.erasure"
    for name, table in tables.items():
        found = {column.name for column in table.columns if text_like(column)}
        assert found == set(TEXT_COLUMNS[name]), f"{name}: {found ^ set(TEXT_COLUMNS[name])}"


async def plant(database: Database, program_id: int) -> dict[str, int]:
    """A program where Alice (mentee) wrote something everywhere a person can write, and
    coordinated a second program, so every kind of row holds her markers."""
    now = NOW
    async with database.session() as session:
        alice = await onboarded(
            session,
            now - timedelta(weeks=4),
            program_id=program_id,
            role=Role.MENTEE,
            telegram_id=ALICE,
            name=MARKERS["name"],
            username=MARKERS["username"],
            timezone="America/Toronto",
            checkin_weekday=0,
            checkin_time=time(9),
        )
        robert = await onboarded(
            session, now, program_id=program_id, role=Role.MENTOR, telegram_id=ROBERT, name="Robert"
        )
        carol = await onboarded(
            session,
            now,
            program_id=program_id,
            role=Role.COORDINATOR,
            telegram_id=COORDINATOR,
            name="Carol",
        )
        assert alice.id and robert.id and carol.id
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == alice.id))
        ).one()
        membership.field, membership.goals = MARKERS["field"], MARKERS["goals"]
        membership.can_help_with, membership.experience_years = MARKERS["help"], 3
        session.add(Goal(membership_id=membership.id or 0, text=MARKERS["goal"], created_at=now))
        match = await add_match(session, program_id, robert, alice, now - timedelta(weeks=3))
        assert match.id
        for week, offset in zip(WEEKS, (2, 1), strict=True):
            for person, helpful in ((alice, "4"), (robert, "5")):
                prompt = Prompt(
                    person_id=person.id or 0,
                    match_id=match.id,
                    kind=PromptKind.CHECKIN,
                    period=week,
                    instrument="mentee_weekly" if person is alice else "mentor_weekly",
                    due_at=now - timedelta(weeks=offset),
                    closes_at=now - timedelta(weeks=offset) + timedelta(days=6),
                    status=PromptStatus.ANSWERED,
                    answered_at=now - timedelta(weeks=offset),
                )
                session.add(prompt)
                await session.flush()
                answers = {"helpful": helpful, "contact": "in_person"}
                if person is alice:
                    answers["note"] = MARKERS["note"]
                for key, value in answers.items():
                    session.add(
                        Answer(
                            prompt_id=prompt.id or 0,
                            question_key=key,
                            value=value,
                            answered_at=now - timedelta(weeks=offset),
                        )
                    )
        reflection = Prompt(
            person_id=alice.id,
            match_id=match.id,
            kind=PromptKind.REFLECTION,
            period="r1",
            instrument="reflection_mentee_first",
            due_at=now - timedelta(days=3),
            closes_at=now + timedelta(days=3),
            status=PromptStatus.ANSWERED,
        )
        pending = Prompt(
            person_id=alice.id,
            match_id=match.id,
            kind=PromptKind.CHECKIN,
            period="2026-W48",
            instrument="mentee_weekly",
            due_at=now + timedelta(days=7),
            closes_at=now + timedelta(days=13),
        )
        session.add_all([reflection, pending])
        await session.flush()
        session.add(
            Answer(
                prompt_id=reflection.id or 0,
                question_key="hopes",
                value=MARKERS["reflection"],
                answered_at=now,
            )
        )
        session.add(
            MeetingLog(
                match_id=match.id,
                author_id=alice.id,
                met_on=date(2026, 11, 10),
                minutes=45,
                mode="video",
                topics=["resume", MARKERS["topic"]],
                notes=MARKERS["log_note"],
                created_at=now,
            )
        )
        session.add(
            MeetingLog(
                match_id=match.id,
                author_id=robert.id,
                met_on=date(2026, 11, 3),
                minutes=60,
                mode="in_person",
                topics=["networking"],
                notes="Robert's own note",
                created_at=now,
            )
        )
        await request_end(session, match, alice.id, MARKERS["reason"], now)
        # Alice also coordinates: a broadcast, a handled flag with her note, an alert copy.
        broadcast = Broadcast(
            program_id=program_id, text=MARKERS["broadcast"], created_by=alice.id, created_at=now
        )
        session.add(broadcast)
        await session.flush()
        session.add(
            BroadcastDelivery(
                broadcast_id=broadcast.id or 0, person_id=alice.id, next_attempt_at=now
            )
        )
        handled = Flag(
            match_id=match.id,
            rule="missed",
            severity="medium",
            status="resolved",
            opened_at=now,
            handled_by=alice.id,
            handled_at=now,
            note=MARKERS["flag_note"],
        )
        session.add(handled)
        await session.flush()
        session.add(
            AlertCopy(
                flag_id=handled.id or 0,
                person_id=alice.id,
                chat_id=ALICE,
                message_id=7,
                sent_at=now,
            )
        )
        extension = MatchExtension(
            match_id=match.id or 0,
            planned_end=(now + timedelta(weeks=9)).date(),
            weeks=4,
            created_at=now,
        )
        session.add(extension)
        await session.flush()
        session.add_all(
            [
                ExtensionCopy(
                    extension_id=extension.id or 0,
                    person_id=alice.id,
                    chat_id=ALICE,
                    message_id=8,
                    sent_at=now,
                ),
                CertificateDelivery(
                    match_id=match.id or 0, person_id=alice.id, status="sent", updated_at=now
                ),
            ]
        )
        session.add(
            Invite(
                code="a-code-she-made",
                program_id=program_id,
                role=Role.MENTOR,
                created_by=alice.id,
                created_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
        session.add(
            AuditEvent(
                actor_id=alice.id,
                actor_label=f"admin {ALICE}",
                action="program.created",
                detail={"name": "Another"},
                at=now,
            )
        )
        session.add_all(
            [
                StoredState(
                    namespace=USER_DATA,
                    key=str(ALICE),
                    value={"draft": MARKERS["draft"]},
                    updated_at=now,
                ),
                StoredState(
                    namespace=CONVERSATION_PREFIX + "log",
                    key=f"[{ALICE}, {ALICE}]",
                    value="typing",
                    updated_at=now,
                ),
                StoredState(
                    namespace=USER_DATA, key=str(ROBERT), value={"keep": 1}, updated_at=now
                ),
            ]
        )
        return {"alice": alice.id, "robert": robert.id, "match": match.id}


async def every_text(database: Database) -> str:
    """Every text, JSON and Telegram id value of every row of every table, as one string."""
    found: list[str] = []
    async with database.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await connection.execute(sa.select(table))).mappings():
                found.extend(f"{table.name}.{key}={value!r}" for key, value in row.items())
    return "\n".join(found)


async def figures(database: Database, program_id: int) -> tuple[Any, ...]:
    async with database.session() as session:
        return (
            await metrics.checkin_counts(session, program_id, WEEKS),
            await metrics.weekly_ratings(session, program_id, WEEKS),
            await metrics.contact_minutes(session, program_id, WEEKS),
            await metrics.program_meetings(session, program_id, date(2026, 1, 1), date(2027, 1, 1)),
            (
                await session.exec(
                    select(sa.func.count()).select_from(Answer)  # type: ignore[arg-type]
                )
            ).one(),
        )


async def exported(database: Database, program_id: int) -> str:
    async with database.session() as session:
        tables = await export_tables(session, program_id, export_codebook())
    return "\n".join(repr(row) for table in tables.values() for row in table.rows)


async def test_nothing_erased_survives_and_the_figures_stay(
    database: Database, program: Program
) -> None:
    program_id = program.id or 0
    ids = await plant(database, program_id)
    before_text = await every_text(database)
    for marker in MARKERS.values():
        assert marker in before_text, f"the set-up did not plant {marker}"
    assert MARKERS["name"] in await exported(database, program_id)
    before = await figures(database, program_id)

    async with database.session() as session:
        alice = await session.get(Person, ids["alice"])
        assert alice is not None
        erased = await erase_person(
            session,
            alice,
            Actor(None, "cli ana"),
            "asked by email",
            NOW,
            keeps=erasure_keeps(),
        )
    assert erased.ended == (Ended(ids["match"], program_id, ids["robert"], Role.MENTOR),)

    after_text = await every_text(database)
    leaked = [marker for marker in MARKERS.values() if marker in after_text]
    assert leaked == []
    assert f"={ALICE}" not in after_text and f"{ALICE}," not in after_text
    assert not [
        marker for marker in MARKERS.values() if marker in await exported(database, program_id)
    ]
    assert await figures(database, program_id) == before

    async with database.session() as session:
        alice = await session.get(Person, ids["alice"])
        assert alice is not None
        assert alice.status == PersonStatus.ERASED
        assert alice.telegram_id == erased_telegram_id(ids["alice"]) < 0
        assert (alice.name, alice.username, alice.chat_id, alice.timezone) == (None,) * 4
        assert await person_by_telegram_id(session, ALICE) is None
        prompts = (await session.exec(select(Prompt).where(Prompt.person_id == ids["alice"]))).all()
        assert {prompt.status for prompt in prompts} == {PromptStatus.ANSWERED}
        scales = (
            await session.exec(select(Answer.value).where(Answer.question_key == "helpful"))
        ).all()
        assert sorted(scales) == ["4", "4", "5", "5"]
        log = (
            await session.exec(select(MeetingLog).where(MeetingLog.author_id == ids["alice"]))
        ).one()
        assert (log.minutes, log.mode, log.topics, log.notes) == (
            45,
            "video",
            ["resume", "other"],
            None,
        )
        robert_log = (
            await session.exec(select(MeetingLog).where(MeetingLog.author_id == ids["robert"]))
        ).one()
        assert robert_log.notes == "Robert's own note"
        assert (await session.exec(select(StoredState.key))).all() == [str(ROBERT)]
        event = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).one()
        assert (event.actor_label, event.subject) == ("cli ana", f"person:{ids['alice']}")
        assert event.detail["reason"] == "asked by email"
        closed = await session.get(Match, ids["match"])
        assert closed is not None and closed.status == MatchStatus.CLOSED
