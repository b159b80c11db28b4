"""Storage queries behind the admin commands: programs, finding people, matches, the people
table, who is waiting and suggested pairs. The helpers here also seed tests/test_cli.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.kit.consent import CONSENT_VERSION
from storage.db import Database
from storage.models import (
    AuditEvent,
    Match,
    MatchStatus,
    Membership,
    Person,
    PersonStatus,
    Program,
    Role,
)
from storage.pairing import (
    MatchReason,
    PairingError,
    PairingProblem,
    create_match,
    field_words,
    participants,
    person_label,
    resolve_person,
    suggested_pairs,
    unmatched,
)
from storage.programs import (
    ProgramError,
    ProgramProblem,
    create_program,
    list_programs_with_counts,
    program_by_ref,
)
from tests.conftest import FakeClock


async def make_program(
    session: AsyncSession, now: datetime, name: str = "Career", **overrides: object
) -> Program:
    values: dict[str, object] = {
        "weeks": 12,
        "checkin_weekday": 0,
        "checkin_time": time(9, 0),
        "timezone": "America/Toronto",
        "default_locale": "en",
        "track": None,
    }
    values.update(overrides)
    return await create_program(session, name=name, now=now, **values)


async def add_person(
    session: AsyncSession,
    now: datetime,
    telegram_id: int,
    name: str | None,
    *,
    username: str | None = None,
    locale: str = "en",
    timezone: str | None = None,
    status: str = PersonStatus.ACTIVE,
) -> Person:
    person = Person(
        telegram_id=telegram_id,
        chat_id=telegram_id,
        username=username,
        name=name,
        locale=locale,
        timezone=timezone,
        status=status,
        consent_at=now,
        consent_version=CONSENT_VERSION,
        created_at=now,
    )
    session.add(person)
    await session.flush()
    return person


async def join(
    session: AsyncSession,
    now: datetime,
    person: Person,
    program: Program,
    role: Role,
    *,
    field: str | None = None,
    finished: bool = True,
    waited_days: int = 0,
) -> Membership:
    """Add a membership; `waited_days` moves the end of onboarding into the past."""
    assert person.id is not None and program.id is not None
    membership = Membership(
        person_id=person.id,
        program_id=program.id,
        role=role,
        field=field,
        joined_at=now,
        completed_at=now - timedelta(days=waited_days) if finished else None,
    )
    session.add(membership)
    await session.flush()
    return membership


async def test_create_program_validates_and_refuses_duplicates(
    database: Database, clock: FakeClock
) -> None:
    async with database.session() as session:
        program = await make_program(session, clock.now, "  Career   Mentoring ", track="career")
        assert program.id is not None
        assert program.name == "Career Mentoring"
        assert program.created_at == clock.now
    cases = [
        ({"name": "career mentoring"}, ProgramProblem.DUPLICATE_NAME),
        ({"name": ""}, ProgramProblem.BAD_NAME),
        ({"name": "2026"}, ProgramProblem.BAD_NAME),
        ({"name": "x" * 121}, ProgramProblem.BAD_NAME),
        ({"weeks": 0}, ProgramProblem.BAD_WEEKS),
        ({"checkin_weekday": 7}, ProgramProblem.BAD_WEEKDAY),
        ({"timezone": "Mars/Olympus"}, ProgramProblem.BAD_TIMEZONE),
        ({"default_locale": "de"}, ProgramProblem.BAD_LOCALE),
        ({"track": "t" * 61}, ProgramProblem.BAD_TRACK),
    ]
    for overrides, problem in cases:
        values: dict[str, object] = {"name": "Other", **overrides}
        async with database.session() as session:
            with pytest.raises(ProgramError) as raised:
                await make_program(session, clock.now, **values)
        assert raised.value.problem == problem, overrides
        assert str(raised.value).endswith(".")


async def test_program_by_ref_takes_an_id_or_the_exact_name(
    database: Database, clock: FakeClock
) -> None:
    async with database.session() as session:
        career = await make_program(session, clock.now, "Career")
        youth = await make_program(session, clock.now, "Youth")
    async with database.session() as session:
        assert (await program_by_ref(session, str(youth.id))).id == youth.id
        assert (await program_by_ref(session, f"#{career.id}")).id == career.id
        assert (await program_by_ref(session, " Youth ")).id == youth.id
        assert await program_by_ref(session, "youth") is None
        assert await program_by_ref(session, "99") is None
        assert await program_by_ref(session, "99999999999") is None


async def test_programs_are_listed_with_their_numbers(database: Database, clock: FakeClock) -> None:
    now = clock.now
    async with database.session() as session:
        career = await make_program(session, now, "Career")
        await make_program(session, now, "Empty")
        mentor = await add_person(session, now, 1, "Mona")
        mentee = await add_person(session, now, 2, "Eli")
        erased = await add_person(session, now, 3, None, status=PersonStatus.ERASED)
        coordinator = await add_person(session, now, 4, "Cora")
        await join(session, now, mentor, career, Role.MENTOR)
        await join(session, now, mentee, career, Role.MENTEE)
        await join(session, now, erased, career, Role.MENTEE)
        await join(session, now, coordinator, career, Role.COORDINATOR)
        await create_match(
            session, program=career, mentor=mentor, mentee=mentee, now=now, actor_label="test"
        )
    async with database.session() as session:
        summaries = await list_programs_with_counts(session)
    assert [summary.program.name for summary in summaries] == ["Career", "Empty"]
    first, empty = summaries
    assert (first.mentors, first.mentees, first.coordinators) == (1, 1, 1)
    assert (first.participants, first.open_matches) == (2, 1)
    assert (empty.participants, empty.coordinators, empty.open_matches) == (0, 0, 0)


async def test_resolve_person_by_username_telegram_id_or_person_id(
    database: Database, clock: FakeClock
) -> None:
    async with database.session() as session:
        alice = await add_person(session, clock.now, 5_000_000_001, "Alice", username="AliceM")
        bob = await add_person(session, clock.now, 7, "Bob")
    assert alice.id is not None and bob.id is not None
    async with database.session() as session:
        assert (await resolve_person(session, "@alicem")).id == alice.id
        assert (await resolve_person(session, "5000000001")).id == alice.id
        assert (await resolve_person(session, f"#{bob.id}")).id == bob.id
        # A plain number is a Telegram id first (Bob's), then a person id (Alice's).
        assert (await resolve_person(session, "7")).id == bob.id
        assert (await resolve_person(session, str(alice.id))).id == alice.id
        for unknown in ("@nobody", "@", "#", "#x", "Alice", "", "99999999999", "9" * 30):
            assert await resolve_person(session, unknown) is None, unknown


async def test_person_label_prefers_name_then_username_then_id() -> None:
    person = Person(id=3, telegram_id=1, name=" Ana\n Silva ", consent_version="1")
    assert person_label(person) == "Ana Silva"
    person.name = None
    person.username = "ana"
    assert person_label(person) == "@ana"
    person.username = None
    assert person_label(person) == "#3"


async def test_create_match_records_it_and_the_audit_event(
    database: Database, clock: FakeClock
) -> None:
    # 03:00 UTC on the 17th is still the 16th in Toronto: the plan counts from there.
    now = datetime(2026, 11, 17, 3, 0, tzinfo=UTC)
    async with database.session() as session:
        program = await make_program(session, now, weeks=12)
        mentor = await add_person(session, now, 1, "Mona")
        mentee = await add_person(session, now, 2, "Eli")
        await join(session, now, mentor, program, Role.MENTOR)
        await join(session, now, mentee, program, Role.MENTEE, finished=False)
        match = await create_match(
            session,
            program=program,
            mentor=mentor,
            mentee=mentee,
            now=now,
            actor_id=mentor.id,
            actor_label="admin 1",
        )
    async with database.session() as session:
        stored = await session.get(Match, match.id)
        event = (await session.exec(select(AuditEvent))).one()
    assert stored is not None
    assert (stored.mentor_id, stored.mentee_id, stored.status) == (
        mentor.id,
        mentee.id,
        MatchStatus.ACTIVE,
    )
    assert stored.started_at == now
    assert stored.planned_end == date(2026, 11, 16) + timedelta(weeks=12)
    assert (event.action, event.actor_id, event.actor_label) == (
        "match.create",
        mentor.id,
        "admin 1",
    )
    assert event.subject == f"match:{match.id}"
    assert event.detail == {
        "program_id": program.id,
        "mentor_id": mentor.id,
        "mentee_id": mentee.id,
    }


async def test_create_match_refuses_what_cannot_be_paired(
    database: Database, clock: FakeClock
) -> None:
    now = clock.now
    async with database.session() as session:
        program = await make_program(session, now, "Career")
        other = await make_program(session, now, "Other")
        mona = await add_person(session, now, 1, "Mona")
        eli = await add_person(session, now, 2, "Eli")
        zoe = await add_person(session, now, 3, "Zoe")
        outsider = await add_person(session, now, 4, "Olga")
        gone = await add_person(session, now, 5, "Gus", status=PersonStatus.CLOSED)
        mark = await add_person(session, now, 6, "Mark")
        await join(session, now, mona, program, Role.MENTOR)
        await join(session, now, mark, program, Role.MENTOR)
        await join(session, now, eli, program, Role.MENTEE)
        await join(session, now, zoe, program, Role.MENTEE)
        await join(session, now, gone, program, Role.MENTEE)
        await join(session, now, outsider, other, Role.MENTEE)
        await create_match(
            session, program=program, mentor=mona, mentee=eli, now=now, actor_label="test"
        )
    attempts = [
        (mona, mona, PairingProblem.SAME_PERSON, mona),
        (mark, outsider, PairingProblem.NOT_MEMBER, outsider),
        (zoe, mark, PairingProblem.WRONG_ROLE, zoe),
        (mark, gone, PairingProblem.UNAVAILABLE, gone),
        (mona, zoe, PairingProblem.ALREADY_MATCHED, mona),
        (mark, eli, PairingProblem.ALREADY_MATCHED, eli),
    ]
    for mentor, mentee, reason, about in attempts:
        async with database.session() as session:
            with pytest.raises(PairingError) as raised:
                await create_match(
                    session, program=program, mentor=mentor, mentee=mentee, now=now, actor_label="t"
                )
        assert raised.value.reason == reason, (mentor.name, mentee.name)
        assert raised.value.person.id == about.id
        assert about.name in str(raised.value)
    async with database.session() as session:
        assert len((await session.exec(select(Match))).all()) == 1
        assert len((await session.exec(select(AuditEvent))).all()) == 1


async def test_a_closed_match_frees_both_people(database: Database, clock: FakeClock) -> None:
    now = clock.now
    async with database.session() as session:
        program = await make_program(session, now)
        mona = await add_person(session, now, 1, "Mona")
        eli = await add_person(session, now, 2, "Eli")
        await join(session, now, mona, program, Role.MENTOR)
        await join(session, now, eli, program, Role.MENTEE)
        first = await create_match(
            session, program=program, mentor=mona, mentee=eli, now=now, actor_label="t"
        )
        first.status = MatchStatus.CLOSED
        session.add(first)
    async with database.session() as session:
        second = await create_match(
            session, program=program, mentor=mona, mentee=eli, now=now, actor_label="t"
        )
    assert second.id != first.id


async def test_participants_lists_roles_partners_and_onboarding(
    database: Database, clock: FakeClock
) -> None:
    now = clock.now
    async with database.session() as session:
        program = await make_program(session, now)
        cora = await add_person(session, now, 1, "Cora")
        mona = await add_person(session, now, 2, "Mona", username="mona")
        eli = await add_person(session, now, 3, "Eli", locale="fr")
        ada = await add_person(session, now, 4, None, username="ada")
        erased = await add_person(session, now, 5, None, status=PersonStatus.ERASED)
        await join(session, now, cora, program, Role.COORDINATOR)
        await join(session, now, mona, program, Role.MENTOR)
        await join(session, now, eli, program, Role.MENTEE)
        await join(session, now, ada, program, Role.MENTEE, finished=False)
        await join(session, now, erased, program, Role.MENTEE)
        await create_match(
            session, program=program, mentor=mona, mentee=eli, now=now, actor_label="t"
        )
    async with database.session() as session:
        rows = await participants(session, program.id)
    summary = [
        (person_label(row.person), row.membership.role, row.onboarded, row.partner_name)
        for row in rows
    ]
    assert summary == [
        ("Cora", "coordinator", True, None),
        ("Mona", "mentor", True, "Eli"),
        ("@ada", "mentee", False, None),
        ("Eli", "mentee", True, "Mona"),
    ]
    mentor_row, mentee_row = rows[1], rows[3]
    assert mentor_row.match is not None and mentee_row.match is not None
    assert mentor_row.match.id == mentee_row.match.id


async def test_unmatched_needs_finished_onboarding_and_no_open_match(
    database: Database, clock: FakeClock
) -> None:
    now = clock.now
    async with database.session() as session:
        program = await make_program(session, now)
        other = await make_program(session, now, "Other")
        mona = await add_person(session, now, 1, "Mona")
        mark = await add_person(session, now, 2, "Mark")
        eli = await add_person(session, now, 3, "Eli")
        new = await add_person(session, now, 4, "Nia")
        early = await add_person(session, now, 5, "Ed")
        left = await add_person(session, now, 6, "Lou", status=PersonStatus.CLOSED)
        await join(session, now, mona, program, Role.MENTOR)
        await join(session, now, mark, program, Role.MENTOR)
        await join(session, now, eli, program, Role.MENTEE)
        await join(session, now, new, program, Role.MENTEE, finished=False)
        await join(session, now, early, program, Role.MENTEE, waited_days=10)
        await join(session, now, left, program, Role.MENTEE)
        await join(session, now, mark, other, Role.MENTEE)
        await create_match(
            session, program=program, mentor=mona, mentee=eli, now=now, actor_label="t"
        )
    async with database.session() as session:
        mentors = await unmatched(session, program.id, Role.MENTOR)
        mentees = await unmatched(session, program.id, Role.MENTEE)
    assert [person.name for person in mentors] == ["Mark"]
    assert [person.name for person in mentees] == ["Ed"]


def test_field_words_ignore_case_accents_and_filler() -> None:
    assert field_words("Éducation à la petite enfance") == {"education", "petite", "enfance"}
    assert field_words("IT / Software-Engineering") == {"it", "software", "engineering"}
    assert field_words("Gestion de projet") & field_words("Génie de logiciel") == set()
    assert field_words(None) == frozenset()


async def test_suggested_pairs_rank_by_language_field_and_time_zone(
    database: Database, clock: FakeClock
) -> None:
    now = clock.now  # November: Toronto UTC-5, Halifax UTC-4, Vancouver UTC-8
    async with database.session() as session:
        program = await make_program(session, now, timezone="America/Toronto")
        # Mentors
        fern = await add_person(session, now, 1, "Fern", locale="fr", timezone="America/Halifax")
        vic = await add_person(session, now, 2, "Vic", locale="en", timezone="America/Vancouver")
        # Mentees
        amelie = await add_person(session, now, 3, "Amélie", locale="fr")  # program zone
        sam = await add_person(session, now, 4, "Sam", locale="en", timezone="America/Vancouver")
        await join(session, now, fern, program, Role.MENTOR, field="Comptabilité, finance")
        await join(session, now, vic, program, Role.MENTOR, field="Software engineering")
        await join(session, now, amelie, program, Role.MENTEE, field="comptabilite")
        await join(session, now, sam, program, Role.MENTEE, field="Nursing", waited_days=3)
    async with database.session() as session:
        distinct = await suggested_pairs(session, program.id, now=now)
        every = await suggested_pairs(session, program.id, now=now, distinct=False)
        top = await suggested_pairs(session, program.id, now=now, limit=1)

    def names(suggestions: list) -> list[tuple[str, str, int, tuple[str, ...]]]:
        return [
            (mentor.name, mentee.name, score, tuple(reasons))
            for mentor, mentee, score, reasons, _ in suggestions
        ]

    assert names(distinct) == [
        ("Fern", "Amélie", 3, ("language", "field", "timezone")),
        ("Vic", "Sam", 2, ("language", "timezone")),
    ]
    # Ties (score 0) go to the mentee who has waited longest: Sam.
    assert names(every) == [
        *names(distinct),
        ("Fern", "Sam", 0, ()),
        ("Vic", "Amélie", 0, ()),
    ]
    assert names(top) == names(distinct)[:1]
    assert distinct[0].reasons[0] is MatchReason.LANGUAGE


async def test_suggested_pairs_leave_out_matched_and_unfinished_people(
    database: Database, clock: FakeClock
) -> None:
    now = clock.now
    async with database.session() as session:
        program = await make_program(session, now)
        mona = await add_person(session, now, 1, "Mona")
        both = await add_person(session, now, 2, "Bea")
        eli = await add_person(session, now, 3, "Eli")
        new = await add_person(session, now, 4, "Nia")
        await join(session, now, mona, program, Role.MENTOR)
        await join(session, now, both, program, Role.MENTOR)
        await join(session, now, both, program, Role.MENTEE)
        await join(session, now, eli, program, Role.MENTEE)
        await join(session, now, new, program, Role.MENTEE, finished=False)
        await create_match(
            session, program=program, mentor=mona, mentee=eli, now=now, actor_label="t"
        )
    async with database.session() as session:
        suggestions = await suggested_pairs(session, program.id, now=now)
        assert await suggested_pairs(session, 999, now=now) == []
    # Bea is the only one left, and nobody is suggested to mentor themselves.
    assert suggestions == []
