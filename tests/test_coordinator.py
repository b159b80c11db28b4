"""Coordinator commands through the real application and the fake Bot API: /invite,
/pair, /people, /newprogram, in English and French, and what others are refused."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import time, timedelta

import pytest
from sqlmodel import func, select

from storage.closure import ClosureReason, set_wants_rematch
from storage.db import Database
from storage.models import (
    AuditEvent,
    Goal,
    GoalStatus,
    Invite,
    Match,
    MatchStatus,
    Membership,
    Person,
    Program,
    Role,
    StoredState,
)
from storage.pairing import create_match
from tests.builders import onboarded
from tests.conftest import ADMIN_ID, Bots, FakeClock
from tests.fakebot import BOT_USERNAME
from tests.harness import FakeTelegram, FakeUser

Invite_ = Callable[..., Awaitable[str]]
REFUSAL = "This command is for program coordinators."
NOT_YOURS = "Only this program's coordinators can do that."
STALE = "That button belongs to an earlier question, so it no longer works."
REFUSAL_FR = "Cette commande est réservée à l’équipe de coordination d’un programme."
NOT_YOURS_FR = "Seule l’équipe de coordination de ce programme peut faire cela."
EASTERN = 4  # index of America/Toronto among the time zone buttons


# --- helpers ------------------------------------------------------------------------------


async def count(database: Database, table: type) -> int:
    async with database.session() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def person_of(database: Database, user: FakeUser) -> Person:
    async with database.session() as session:
        statement = select(Person).where(Person.telegram_id == user.id)
        return (await session.exec(statement)).one()


async def join(
    user: FakeUser,
    code: str,
    role: str,
    language: str = "en",
    *,
    field: str = "Accounting",
    about: str = "Résumés & interviews",
) -> None:
    """Onboard through the buttons' callback data, so it reads the same in any language.
    `about` is a mentee's goals or what a mentor can help with."""
    await user.send(f"/start {code}")
    await user.press(f"onb:language:{language}")
    await user.press("onb:consent:yes")
    await user.press("onb:name:keep")
    if role != Role.COORDINATOR:
        await user.send(field)
        if role == Role.MENTOR:
            await user.send("12")
        await user.send(about)
    await user.press(f"onb:timezone:{EASTERN}")
    if role != Role.COORDINATOR:
        await user.press("onb:day:keep")
    await user.press("onb:summary:done")


async def onboard_coordinator_in_english(user: FakeUser, code: str) -> None:
    """The way a coordinator reads it: every tap by its label."""
    await user.send(f"/start {code}")
    await user.tap("English")
    await user.tap("Yes, I agree")
    await user.tap("Keep")
    await user.tap("Eastern (Toronto, Montréal, Ottawa)")
    await user.tap("✅ All good")
    assert "As a coordinator, you can invite people with /invite" in user.last.text


async def second_program(database: Database, clock: FakeClock, name: str = "ECE Halifax") -> int:
    async with database.session() as session:
        program = Program(
            name=name,
            checkin_time=time(9),
            timezone="America/Halifax",
            created_at=clock(),
        )
        session.add(program)
        await session.flush()
        assert program.id is not None
        return program.id


async def add_member(
    database: Database,
    clock: FakeClock,
    program_id: int,
    role: Role,
    telegram_id: int,
    name: str,
    *,
    username: str | None = None,
    locale: str = "en",
    field: str | None = None,
) -> int:
    """A person who finished joining, written straight to the database (for big lists)."""
    async with database.session() as session:
        person = await onboarded(
            session, clock(), program_id=program_id, role=role, telegram_id=telegram_id,
            name=name, field=field, username=username, locale=locale,
            timezone="America/Toronto",
        )  # fmt: skip
        assert person.id is not None
        return person.id


@pytest.fixture
async def coordinator(tg: FakeTelegram, invite: Invite_) -> FakeUser:
    claire = tg.user(7001, "Claire", last_name="Roy", username="claire_r")
    await onboard_coordinator_in_english(claire, await invite("coordinator"))
    return claire


@pytest.fixture
async def pair_of(tg: FakeTelegram, invite: Invite_) -> tuple[FakeUser, FakeUser]:
    """An English mentor and a French mentee who wait for a match."""
    robert = tg.user(7002, "Robert", last_name="Tremblay", language_code="en")
    await join(robert, await invite("mentor"), "mentor", field="Public accounting")
    alice = tg.user(7003, "Alice", last_name="Martin", language_code="fr")
    await join(
        alice,
        await invite("mentee"),
        "mentee",
        "fr",
        field="Accounting et fiscalité",
        about="Trouver un emploi <en comptabilité>",
    )
    return robert, alice


def code_in(text: str) -> str:
    found = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)", text)
    assert found, text
    return found[1]


# --- /invite --------------------------------------------------------------------------------


async def test_coordinator_invites_a_mentor_with_a_working_link(
    tg: FakeTelegram, database: Database, coordinator: FakeUser, clock: FakeClock
) -> None:
    await coordinator.send("/invite")
    assert "Career Bridge Toronto" in coordinator.last.text
    assert coordinator.buttons == [
        "Mentee",
        "Mentor",
        "Coordinator",
        "5 mentee links",
        "5 mentor links",
    ]
    await coordinator.tap("Mentor")
    text = coordinator.last.text
    assert "Invitation link for Career Bridge Toronto (Mentor)" in text
    assert "It works once, until December 16, 2026." in text
    assert coordinator.last.labels == []  # the role buttons are gone once used
    code = code_in(text)

    claire = await person_of(database, coordinator)
    async with database.session() as session:
        made = (await session.exec(select(Invite).where(Invite.code == code))).one()
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "invite.create"))
        ).all()
    assert (made.role, made.max_uses, made.uses, made.created_by) == ("mentor", 1, 0, claire.id)
    assert made.expires_at == clock() + timedelta(days=30)
    assert [(event.actor_id, event.actor_label) for event in events] == [(claire.id, "coordinator")]
    assert events[0].detail["role"] == "mentor" and events[0].detail["count"] == 1

    newcomer = tg.user(7100, "Nadia")
    await newcomer.send(f"/start {code}")
    assert "Which language do you prefer?" in newcomer.last.text
    await join(newcomer, code, "mentor")
    async with database.session() as session:
        roles = (await session.exec(select(Membership.role))).all()
    assert sorted(roles) == ["coordinator", "mentor"]


async def test_five_links_at_once(database: Database, coordinator: FakeUser) -> None:
    await coordinator.send("/invite")
    await coordinator.tap("5 mentee links")
    text = coordinator.last.text
    assert "5 invitation links for Career Bridge Toronto (Mentee)" in text
    assert "Each works once, until December 16, 2026." in text
    codes = re.findall(r"\?start=([A-Za-z0-9_-]+)", text)
    assert len(set(codes)) == 5
    async with database.session() as session:
        stored = (await session.exec(select(Invite).where(Invite.role == "mentee"))).all()
    assert {invite.code for invite in stored} >= set(codes)


async def test_french_coordinator_invites_in_french(
    tg: FakeTelegram, database: Database, invite: Invite_
) -> None:
    josee = tg.user(7010, "Josée", language_code="fr-CA")
    await join(josee, await invite("coordinator"), "coordinator", "fr")
    await josee.send("/invite")
    assert "qui invitez-vous" in josee.last.text
    assert josee.buttons == [
        "Personne mentorée",
        "Mentor",
        "Équipe de coordination",
        "5 liens pour personnes mentorées",
        "5 liens pour mentors",
    ]
    await josee.tap("Équipe de coordination")
    text = josee.last.text
    assert "Lien d’invitation pour Career Bridge Toronto (Équipe de coordination)" in text
    assert "Il fonctionne une seule fois, jusqu’au 16 décembre 2026." in text
    async with database.session() as session:
        made = (await session.exec(select(Invite).where(Invite.code == code_in(text)))).one()
    assert made.role == "coordinator"


# --- /pair --------------------------------------------------------------------------------


async def test_pair_a_suggestion_and_introduce_both_in_their_language(
    database: Database, coordinator: FakeUser, pair_of: tuple[FakeUser, FakeUser]
) -> None:
    robert, alice = pair_of
    await coordinator.send("/pair")
    text = coordinator.last.text
    assert "Pairing in Career Bridge Toronto" in text
    assert "1 mentor and 1 mentee waiting for a match." in text
    assert "Robert Tremblay ↔ Alice Martin: similar field, close time zones" in text
    assert coordinator.buttons == ["Robert Tremblay ↔ Alice Martin", "Choose myself", "Cancel"]
    await coordinator.tap("Robert Tremblay ↔ Alice Martin")
    assert "Pair Robert Tremblay with Alice Martin?" in coordinator.last.text
    assert "Goals: Trouver un emploi <en comptabilité>" in coordinator.last.text
    assert await count(database, Match) == 0, "nothing happens before the confirmation"
    await coordinator.tap("✅ Yes, pair them")
    assert "Robert Tremblay and Alice Martin are now paired in Career Bridge Toronto" in (
        coordinator.last.text
    )
    assert "until February 8, 2027" in coordinator.last.text

    mentor, mentee, claire = (
        await person_of(database, robert),
        await person_of(database, alice),
        await person_of(database, coordinator),
    )
    async with database.session() as session:
        match = (await session.exec(select(Match))).one()
        event = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "match.create"))
        ).one()
    assert (match.mentor_id, match.mentee_id, match.status) == (mentor.id, mentee.id, "active")
    assert (event.actor_id, event.actor_label) == (claire.id, "coordinator")

    to_alice = alice.last
    assert to_alice.parse_mode == "HTML"
    assert "Voici votre mentor" in to_alice.text
    assert "Robert Tremblay" in to_alice.text
    assert "Public accounting" in to_alice.text and "Résumés & interviews" in to_alice.text
    to_robert = robert.last
    assert "Meet your mentee!" in to_robert.text and "Alice Martin" in to_robert.text
    assert "Goals: Trouver un emploi <en comptabilité>" in to_robert.text
    assert "&lt;en comptabilité&gt;" in to_robert.raw  # user text is escaped

    await coordinator.send("/pair")
    assert "There's nobody to pair in Career Bridge Toronto" in coordinator.last.text


async def ended_early_wanting_a_new_match(
    database: Database, clock: FakeClock, program_id: int, mentee_id: int, mentor_id: int
) -> None:
    """A match of theirs that ended early and closed; the mentee said at closure that
    they want a new match (storage.closure, as the closure survey's answer does)."""
    async with database.session() as session:
        match = Match(
            program_id=program_id, mentor_id=mentor_id, mentee_id=mentee_id,
            status=MatchStatus.CLOSED, started_at=clock() - timedelta(weeks=6),
            closing_at=clock() - timedelta(days=15), closed_at=clock() - timedelta(days=1),
            closure_reason=ClosureReason.NO_TIME,
        )  # fmt: skip
        session.add(match)
        await session.flush()
        await set_wants_rematch(session, match, mentee_id, True, clock())


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_a_mentee_who_asked_for_a_new_match_comes_first_and_is_marked(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, language: str
) -> None:
    assert program.id is not None
    await add_member(
        database, clock, program.id, Role.MENTEE, 7101, "Alice Martin", field="Accounting"
    )
    await add_member(
        database, clock, program.id, Role.MENTOR, 7102, "Robert Tremblay", field="Accounting"
    )
    clock.now += timedelta(days=2)  # Alice has waited longest: without the mark, she'd lead
    bea = await add_member(
        database, clock, program.id, Role.MENTEE, 7103, "Béatrice Roy", field="Nursing"
    )
    marc = await add_member(
        database, clock, program.id, Role.MENTOR, 7104, "Marc Lee", field="Nursing"
    )
    await ended_early_wanting_a_new_match(database, clock, program.id, bea, marc)
    await add_member(
        database, clock, program.id, Role.COORDINATOR, 7105, "Claire Roy", locale=language
    )
    claire = tg.user(7105, "Claire", language_code=language)
    await claire.send("/pair")
    mark = "🔁 asked for a new match" if language == "en" else "🔁 a demandé un nouveau jumelage"
    lines = claire.last.text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("1. "))
    assert lines[first].startswith("1. Marc Lee ↔ Béatrice Roy")
    assert lines[first].endswith(" · " + mark)
    assert lines[first + 1].startswith("2. Robert Tremblay ↔ Alice Martin")
    assert mark not in lines[first + 1]
    assert claire.last.labels[:2] == [
        "🔁 Marc Lee ↔ Béatrice Roy",
        "Robert Tremblay ↔ Alice Martin",
    ]
    await claire.send("/people")
    people = claire.last.text
    (marked,) = [line for line in people.splitlines() if mark in line]
    assert marked.startswith("• Béatrice Roy")
    # Choosing the people themselves: the same mentee first among the mentees, marked.
    await claire.send("/pair")
    await claire.tap("Choose myself" if language == "en" else "Choisir moi-même")
    await claire.tap("Robert Tremblay")
    mentees = [line for line in claire.last.text.splitlines() if line.startswith("• ")]
    assert mentees[0].startswith("• Béatrice Roy") and mentees[0].endswith(" · " + mark)
    assert mark not in mentees[1]
    assert claire.last.labels[:2] == ["🔁 Béatrice Roy", "Alice Martin"]
    await claire.tap("Annuler" if language == "fr" else "Cancel")
    # Once paired again, the mark is gone.
    await claire.send("/pair")
    await claire.tap("🔁 Marc Lee ↔ Béatrice Roy")
    await claire.tap("✅ Yes, pair them" if language == "en" else "✅ Oui, jumeler")
    await claire.send("/people")
    assert mark not in claire.last.text


async def test_choose_myself_with_pages(
    tg: FakeTelegram, database: Database, coordinator: FakeUser, program: Program, clock: FakeClock
) -> None:
    assert program.id is not None
    for number in range(10):
        await add_member(
            database,
            clock,
            program.id,
            Role.MENTOR,
            100 + number,
            f"Mentor {number:02d}",
            field="Engineering",
        )
    mentee_id = await add_member(
        database, clock, program.id, Role.MENTEE, 200, "Zoé Lavoie", locale="fr", field="Génie"
    )
    zoe = tg.user(200, "Zoé", language_code="fr")
    await coordinator.send("/pair")
    await coordinator.tap("Choose myself")
    assert "Career Bridge Toronto: which mentor?" in coordinator.last.text
    first_page = coordinator.buttons
    assert first_page[:8] == [f"Mentor {number:02d}" for number in range(8)]
    assert first_page[8:] == ["Next ›", "Cancel"]
    await coordinator.tap("Next ›")
    assert coordinator.buttons == ["Mentor 08", "Mentor 09", "‹ Previous", "Cancel"]
    await coordinator.tap("Mentor 09")
    assert "which mentee for Mentor 09?" in coordinator.last.text
    await coordinator.tap("Zoé Lavoie")
    assert "Pair Mentor 09 with Zoé Lavoie?" in coordinator.last.text
    tg.api.block(109)  # Mentor 09 blocked the bot
    await coordinator.tap("✅ Yes, pair them")
    async with database.session() as session:
        match = (await session.exec(select(Match))).one()
        mentor = await session.get(Person, match.mentor_id)
    assert mentor is not None and mentor.name == "Mentor 09"
    assert match.mentee_id == mentee_id
    assert "Voici votre mentor" in zoe.last.text
    assert "Mentor 09 and Zoé Lavoie are now paired" in coordinator.last.text
    assert "I couldn't reach Mentor 09: please introduce them yourself." in coordinator.last.text


async def test_cancel_and_text_instead_of_a_tap(
    database: Database, coordinator: FakeUser, pair_of: tuple[FakeUser, FakeUser]
) -> None:
    await coordinator.send("/pair")
    menu = coordinator.last
    await coordinator.send("Robert and Alice please")
    assert coordinator.last.text == "Please answer with one of the buttons below."
    await coordinator.send_sticker()
    assert "I can't read a sticker here" in coordinator.last.text
    assert coordinator.buttons == menu.labels, "the menu still waits for a tap"
    await coordinator.tap("Robert Tremblay ↔ Alice Martin")
    await coordinator.tap("Cancel")
    assert coordinator.api.message(coordinator.chat_id, menu.message_id).text == (
        "Okay, no match was made."
    )
    await coordinator.press("co:zzz:1")
    assert coordinator.answers[-1] == STALE
    assert await count(database, Match) == 0


async def test_a_pairing_error_is_explained(
    database: Database,
    coordinator: FakeUser,
    pair_of: tuple[FakeUser, FakeUser],
    program: Program,
    clock: FakeClock,
) -> None:
    robert, _ = pair_of
    await coordinator.send("/pair")
    await coordinator.tap("Robert Tremblay ↔ Alice Martin")
    # Meanwhile someone else pairs Robert with another mentee.
    assert program.id is not None
    other = await add_member(database, clock, program.id, Role.MENTEE, 300, "Other Mentee")
    mentor = await person_of(database, robert)
    async with database.session() as session:
        mentee = await session.get(Person, other)
        assert mentee is not None
        await create_match(
            session, program=program, mentor=mentor, mentee=mentee, now=clock(), actor_label="cli"
        )
    await coordinator.tap("✅ Yes, pair them")
    assert coordinator.last.text == (
        "Robert Tremblay already has a match in Career Bridge Toronto. Nothing was changed."
    )
    assert await count(database, Match) == 1


async def test_nobody_to_pair(coordinator: FakeUser) -> None:
    await coordinator.send("/pair")
    assert "There's nobody to pair in Career Bridge Toronto right now" in coordinator.last.text
    assert "0 mentors and 0 mentees waiting for a match." in coordinator.last.text
    assert coordinator.last.labels == []


# --- /people --------------------------------------------------------------------------------


async def test_people_lists_everyone_by_role(
    tg: FakeTelegram, database: Database, coordinator: FakeUser, pair_of: tuple[FakeUser, FakeUser]
) -> None:
    late = tg.user(7004, "Léa")
    await late.send(f"/start {await _code(database, coordinator)}")
    await late.press("onb:language:en")
    await late.press("onb:consent:yes")
    await late.press("onb:name:keep")  # still joining: the field question is next
    await coordinator.send("/pair")
    await coordinator.tap("Robert Tremblay ↔ Alice Martin")
    await coordinator.tap("✅ Yes, pair them")

    await coordinator.send("/people")
    text = coordinator.last.text
    assert text.startswith("People in Career Bridge Toronto")
    assert "Coordinators\n• Claire Roy @claire_r · active" in text
    assert "Mentors\n• Léa · joining · not matched yet\n• Robert Tremblay · active" in text
    assert "Robert Tremblay · active · with Alice Martin" in text
    assert "Mentees\n• Alice Martin · active · with Robert Tremblay" in text
    assert coordinator.last.labels == ["Erase someone's data…"]


async def _code(database: Database, coordinator: FakeUser) -> str:
    await coordinator.send("/invite")
    await coordinator.tap("Mentor")
    return code_in(coordinator.last.text)


async def test_people_pages_stay_under_the_message_limit(
    bots: Bots, database: Database, coordinator: FakeUser, program: Program, clock: FakeClock
) -> None:
    assert program.id is not None
    for number in range(70):
        await add_member(
            database,
            clock,
            program.id,
            Role.MENTEE,
            1000 + number,
            f"{'&' * 60}{number:03d}",
            username=f"user_{number:03d}_{'x' * 20}",
        )
    await coordinator.send("/people")
    pages = [coordinator.last.text]
    while "Next ›" in coordinator.buttons:
        await coordinator.tap("Next ›")
        pages.append(coordinator.last.text)
    assert len(pages) >= 3
    assert "page 1 of" in pages[0]
    assert all(len(page) <= 4096 for page in pages)
    listed = [line for page in pages for line in page.splitlines() if line.startswith("• &")]
    assert len(listed) == 70
    bots.api.assert_no_problems()
    await coordinator.tap("‹ Previous")
    assert coordinator.last.text == pages[-2]


async def test_no_mentors_or_mentees_yet(coordinator: FakeUser) -> None:
    await coordinator.send("/people")
    assert "No mentors or mentees yet: send /invite to invite them." in coordinator.last.text


# --- who may do what ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/invite", "/pair", "/people", "/newprogram Sneaky"])
@pytest.mark.parametrize("who", ["mentee", "mentor", "stranger", "joining coordinator"])
async def test_others_are_refused(
    tg: FakeTelegram, database: Database, invite: Invite_, command: str, who: str
) -> None:
    user = tg.user(7500, "Mallory")
    if who in ("mentee", "mentor"):
        await join(user, await invite(who), who)
    elif who == "joining coordinator":
        await user.send(f"/start {await invite('coordinator')}")
        await user.press("onb:language:en")
        await user.press("onb:consent:yes")
    before = [await count(database, table) for table in (Invite, Match, Program, AuditEvent)]

    replies = await user.send(command)
    expected = (
        "Only Tandem administrators can create programs." if "newprogram" in command else REFUSAL
    )
    assert replies[0].text == expected
    assert not any(message.has_buttons and "co:" in str(message.payload) for message in replies)
    if who == "joining coordinator":
        assert "What name should your match" in user.last.text, "onboarding resumes"
    after = [await count(database, table) for table in (Invite, Match, Program, AuditEvent)]
    assert after == before


async def test_refusal_in_french(tg: FakeTelegram, invite: Invite_) -> None:
    user = tg.user(7501, "Marc", language_code="fr")
    await join(user, await invite("mentee"), "mentee", "fr")
    await user.send("/pair")
    assert user.last.text == REFUSAL_FR


async def test_forged_buttons_change_nothing(
    tg: FakeTelegram,
    database: Database,
    coordinator: FakeUser,
    pair_of: tuple[FakeUser, FakeUser],
    clock: FakeClock,
) -> None:
    robert, alice = pair_of
    other = await second_program(database, clock)
    await add_member(database, clock, other, Role.COORDINATOR, 8001, "Other Coordinator")
    secret_mentor = await add_member(database, clock, other, Role.MENTOR, 8002, "Secret Mentor")
    secret_mentee = await add_member(database, clock, other, Role.MENTEE, 8003, "Secret Mentee")
    mine = (await person_of(database, robert)).id
    before = [await count(database, table) for table in (Invite, Match, AuditEvent)]

    await coordinator.send("/people")
    for forged in (
        f"co:ppl:{other}:0",
        f"co:new:{other}:coordinator:1",
        f"co:inv:{other}",
        f"co:pair:{other}",
        f"co:mtr:{other}:0",
        f"co:yes:{other}:{secret_mentor}:{secret_mentee}",
    ):
        assert await coordinator.press(forged) == []
        assert coordinator.answers[-1] == NOT_YOURS, forged
    # In their own program, with people from the other one: named nowhere, nothing made.
    await coordinator.press(f"co:ask:1:{mine}:{secret_mentee}")
    assert coordinator.answers[-1] == "That person is no longer waiting for a match."
    await coordinator.press(f"co:yes:1:{secret_mentor}:{secret_mentee}")
    assert coordinator.answers[-1] == STALE
    await coordinator.press("co:mte:1:99999999999999:0")
    assert coordinator.answers[-1] == STALE
    assert not any("Secret" in text for text in coordinator.texts)

    for forged, refusal in (
        ("co:yes:1:1:2", NOT_YOURS_FR),
        ("co:new:1:coordinator:1", NOT_YOURS_FR),
        ("co:ppl:1:0", NOT_YOURS_FR),
        ("co:pick:0:invite:0", REFUSAL_FR),
    ):
        assert await alice.press(forged) == [], forged
        assert alice.answers[-1] == refusal, forged
    after = [await count(database, table) for table in (Invite, Match, AuditEvent)]
    assert after == before


async def test_coordinator_of_two_programs_picks_one(
    tg: FakeTelegram, database: Database, coordinator: FakeUser, clock: FakeClock
) -> None:
    other = await second_program(database, clock)
    claire = await person_of(database, coordinator)
    async with database.session() as session:
        session.add(
            Membership(
                person_id=claire.id,
                program_id=other,
                role=Role.COORDINATOR,
                joined_at=clock(),
                completed_at=clock(),
            )
        )
    await coordinator.send("/people")
    assert coordinator.last.text == "Which program?"
    assert coordinator.buttons == ["Career Bridge Toronto", "ECE Halifax"]
    await coordinator.tap("ECE Halifax")
    assert coordinator.last.text.startswith("People in ECE Halifax")


async def test_buttons_work_after_a_restart(
    bots: Bots, database: Database, coordinator: FakeUser, pair_of: tuple[FakeUser, FakeUser]
) -> None:
    await coordinator.send("/pair")
    tg = await bots.restart(crash=True)
    async with database.session() as session:
        for row in (await session.exec(select(StoredState))).all():
            await session.delete(row)
    claire = tg.users[coordinator.id]
    await claire.tap("Robert Tremblay ↔ Alice Martin")
    await claire.tap("✅ Yes, pair them")
    assert await count(database, Match) == 1


# --- admins ---------------------------------------------------------------------------------


async def test_admin_creates_a_program_and_invites_its_coordinator(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    ada = tg.user(ADMIN_ID, "Ada")
    await ada.send("/newprogram   Youth  Mentoring Halifax ")
    async with database.session() as session:
        created = (
            await session.exec(select(Program).where(Program.name == "Youth Mentoring Halifax"))
        ).one()
    text = ada.last.text
    assert f"Program Youth Mentoring Halifax created (id {created.id})." in text
    assert "Matches last 12 weeks. Weekly check-in: Monday at 9:00" in text
    assert "send /invite" in text
    assert (created.weeks, created.checkin_weekday, created.checkin_time) == (12, 0, time(9))
    assert (created.timezone, created.default_locale) == ("America/Toronto", "en")

    await ada.send("/newprogram youth mentoring halifax")
    assert ada.last.text == "A program named youth mentoring halifax already exists."
    # Case is folded beyond ASCII, on SQLite too (found by tests/test_fuzz.py: "/newprogram
    # À" twice ended in the unique index's error).
    await ada.send("/newprogram À")
    await ada.send("/newprogram À")
    assert ada.last.text == "A program named À already exists."
    await ada.send("/newprogram à")
    assert ada.last.text == "A program named à already exists."
    # A name of control characters alone is stored as nothing: refused as empty, twice.
    for _ in range(2):
        await ada.send("/newprogram \x1b")
        assert ada.last.text == "A program name needs 1 to 120 characters, and not only digits."
    await ada.send("/newprogram")
    assert "Send the program's name after the command" in ada.last.text
    await ada.send("/newprogram 123")
    assert "not only digits" in ada.last.text
    assert await count(database, Program) == 3

    await ada.send("/invite")
    assert ada.last.text == "Which program?"
    await ada.tap("Youth Mentoring Halifax")
    await ada.tap("Coordinator")
    code = code_in(ada.last.text)
    async with database.session() as session:
        made = (await session.exec(select(Invite).where(Invite.code == code))).one()
        event = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "invite.create"))
        ).one()
    assert (made.program_id, made.role, made.created_by) == (created.id, "coordinator", None)
    assert (event.actor_id, event.actor_label) == (None, f"admin {ADMIN_ID}")

    # The admin is no coordinator: inviting, and /people to erase someone at their request
    # (tests/test_people_erase.py), is all they may do in a program.
    await ada.send("/pair")
    assert ada.last.text == REFUSAL
    await ada.send("/people")
    assert ada.last.text == "Which program?"

    zack = tg.user(7600, "Zack")
    await join(zack, code, "coordinator")
    await zack.send("/people")
    assert zack.last.text.startswith("People in Youth Mentoring Halifax")
    assert "Zack · active" in zack.last.text


async def test_admin_without_programs_is_told_how_to_start(tg: FakeTelegram) -> None:
    ada = tg.user(ADMIN_ID, "Ada")
    await ada.send("/invite")
    assert "There are no programs yet. Create one with /newprogram" in ada.last.text


async def test_a_second_yes_changes_nothing(
    database: Database, coordinator: FakeUser, pair_of: tuple[FakeUser, FakeUser]
) -> None:
    robert, alice = pair_of
    await coordinator.send("/pair")
    await coordinator.tap("Robert Tremblay ↔ Alice Martin")
    yes = next(
        button.callback_data
        for row in coordinator.last.buttons
        for button in row
        if button.text == "✅ Yes, pair them"
    )
    await coordinator.tap("✅ Yes, pair them")
    done = coordinator.last.text
    intros = len(robert.messages), len(alice.messages)
    await coordinator.press(yes)  # a double tap that arrives after the first one
    assert coordinator.last.text == done
    assert (len(robert.messages), len(alice.messages)) == intros
    assert await count(database, Match) == 1


async def test_joining_another_role_mid_pairing_is_not_swallowed(
    database: Database, coordinator: FakeUser, pair_of: tuple[FakeUser, FakeUser], invite: Invite_
) -> None:
    await coordinator.send("/pair")
    await coordinator.send(f"/start {await invite('mentor')}")
    assert "What field" in coordinator.last.text
    await coordinator.send("Human resources")
    assert "years of experience" in coordinator.last.text
    claire = await person_of(database, coordinator)
    async with database.session() as session:
        statement = select(Membership).where(
            Membership.person_id == claire.id, Membership.role == Role.MENTOR
        )
        membership = (await session.exec(statement)).one()
    assert membership.field == "Human resources"


async def test_admin_pages_through_many_programs(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    for number in range(9):
        await second_program(database, clock, f"Program {number}")
    ada = tg.user(ADMIN_ID, "Ada")
    await ada.send("/invite")
    assert ada.buttons[-1] == "Next ›" and len(ada.buttons) == 9
    await ada.tap("Next ›")
    assert ada.buttons == ["Program 7", "Program 8", "‹ Previous"]
    await ada.tap("Program 8")
    await ada.tap("Mentee")
    assert "Invitation link for Program 8 (Mentee)" in ada.last.text


async def test_people_shows_goals_a_mentee_achieved(
    database: Database, coordinator: FakeUser, pair_of: tuple[FakeUser, FakeUser]
) -> None:
    _, alice = pair_of
    person = await person_of(database, alice)
    async with database.session() as session:
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == person.id))
        ).one()
        goals = (await session.exec(select(Goal).where(Goal.membership_id == membership.id))).all()
        assert goals, "the onboarding goals became a list"
        for goal in goals:
            goal.status = GoalStatus.ACHIEVED
            session.add(goal)
    await coordinator.send("/people")
    achieved = "1 goal achieved" if len(goals) == 1 else f"{len(goals)} goals achieved"
    assert f"Alice Martin · active · not matched yet · {achieved}" in coordinator.last.text
    assert "Robert Tremblay · active · not matched yet\n" in coordinator.last.text + "\n"
