"""A coordinator's views: match health marks (each reason, the worst winning), /matches
(ordering, filters, pages), /flags (most severe first, pages, the alert behind each),
/match <id> (the timeline), and refusals to anyone outside the program — in English
and French."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from storage.db import Database
from storage.health import Mark, Reason, match_health
from storage.models import (
    AuditEvent,
    Flag,
    FlagStatus,
    Goal,
    GoalStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Membership,
    Person,
    Program,
    PromptStatus,
    Role,
)
from tests.builders import ALICE, add_flag, add_match, add_participant, add_role, onboarded
from tests.conftest import FakeClock
from tests.fakebot import SentMessage, iter_buttons
from tests.harness import FakeTelegram, FakeUser
from tests.test_alerts import CLAUDE, CORA, OTTO, contact_log, week

NOT_FOUND = "I can't find match {id} in your programs. Send /matches to see them."
NOT_FOUND_FR = (
    "Je ne trouve pas le jumelage {id} dans vos programmes. Envoyez /matches pour les voir."
)
REFUSAL = "This command is for program coordinators."
NOT_YOURS = "Only this program's coordinators can do that."


# --- seeding -------------------------------------------------------------------------------


async def health_of(database: Database, program: Program, clock: FakeClock, **options: Any):
    async with database.session() as session:
        return await match_health(session, [program], clock(), **options)


async def many_matches(
    database: Database, program: Program, clock: FakeClock, count: int, first_id: int = 5000
) -> list[Match]:
    """`count` matches started ten days ago, each with a meeting two days ago (on track
    unless flagged): mentor "Mentor NN", mentee "Mentee NN"."""
    matches = []
    async with database.session() as session:
        for index in range(count):
            mentor, mentee = [
                await onboarded(
                    session, clock(), program_id=program.id or 0, role=role,
                    telegram_id=first_id + 2 * index + offset,
                    name=f"{role.value.title()} {index:02d}",
                )
                for offset, role in enumerate((Role.MENTOR, Role.MENTEE))
            ]  # fmt: skip
            match = await add_match(
                session, program.id or 0, mentor, mentee, clock() - timedelta(days=10)
            )
            session.add(
                MeetingLog(
                    match_id=match.id or 0, author_id=mentor.id or 0, minutes=60,
                    mode="video", met_on=(clock() - timedelta(days=2)).date(), created_at=clock(),
                )
            )  # fmt: skip
            matches.append(match)
    return matches


async def other_program(database: Database, clock: FakeClock, name: str = "ECE Halifax") -> Program:
    async with database.session() as session:
        other = Program(name=name, created_at=clock())
        session.add(other)
    return other


@pytest.fixture
async def cora(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> FakeUser:
    await add_participant(
        database, program, clock, telegram_id=CORA, name="Cora Lee", role=Role.COORDINATOR
    )
    return tg.user(CORA, "Cora")


@pytest.fixture
async def claude(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> FakeUser:
    await add_participant(
        database, program, clock, telegram_id=CLAUDE, name="Claude Roy",
        role=Role.COORDINATOR, locale="fr",
    )  # fmt: skip
    return tg.user(CLAUDE, "Claude", language_code="fr")


def callback_data(message: SentMessage) -> list[str]:
    return [button.callback_data or "" for button in iter_buttons(message)]


def assert_fits(message: SentMessage) -> None:
    assert len(message.text) < 4096
    assert all(0 < len(data.encode()) <= 64 for data in callback_data(message))


# --- health marks --------------------------------------------------------------------------


async def test_on_track_when_answering_and_meeting(
    database: Database, program: Program, clock: FakeClock, pair
) -> None:
    mentee, mentor, match = pair
    await contact_log(database, clock, match, 3)
    for weeks_ago in (1, 2):
        await week(database, clock, mentee, match, weeks_ago, contact="call", helpful="4")
        await week(database, clock, mentor, match, weeks_ago, contact="call", going="4")
    await week(database, clock, mentee, match, 0, PromptStatus.SENT)  # this morning's: not judged
    (health,) = await health_of(database, program, clock)
    assert (health.mark, health.judgements) == (Mark.ON_TRACK, ())
    assert (health.rate.answered, health.rate.reached) == (4, 4)
    assert health.last_contact is not None and health.silent_weeks == 0


@pytest.mark.parametrize(
    ("severity", "status", "snoozed_days", "expected"),
    [
        ("urgent", FlagStatus.OPEN, None, Mark.AT_RISK),
        ("high", FlagStatus.ACKNOWLEDGED, None, Mark.AT_RISK),
        ("medium", FlagStatus.OPEN, None, Mark.WATCH),
        ("low", FlagStatus.OPEN, None, Mark.WATCH),
        ("urgent", FlagStatus.SNOOZED, 5, Mark.WATCH),  # snoozed: one step lighter
        ("medium", FlagStatus.SNOOZED, 5, Mark.ON_TRACK),
        ("high", FlagStatus.SNOOZED, -1, Mark.AT_RISK),  # the snooze is over
        ("urgent", FlagStatus.RESOLVED, None, Mark.ON_TRACK),
    ],
)
async def test_flags_mark_the_match(
    database: Database,
    program: Program,
    clock: FakeClock,
    pair,
    severity: str,
    status: str,
    snoozed_days: float | None,
    expected: Mark,
) -> None:
    _, _, match = pair
    await contact_log(database, clock, match, 1)
    await add_flag(
        database, clock, match, "concern", severity, status=status, snoozed_days=snoozed_days
    )
    (health,) = await health_of(database, program, clock)
    assert health.mark == expected
    reasons = [judgement.reason for judgement in health.judgements]
    assert reasons == ([] if expected == Mark.ON_TRACK else [Reason.FLAGS])


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["answered", "answered", "answered", "missed"], None),  # 75%: on track
        (["answered", "answered", "missed"], Mark.WATCH),  # 67%
        (["answered", "missed", "missed", "missed"], Mark.AT_RISK),  # 25%
        (["missed"], None),  # one check-in is too few to judge
        (["sent", "sent", "skipped", "expired"], None),  # open, skipped, paused: not counted
    ],
)
async def test_response_rate_over_four_weeks(
    database: Database,
    program: Program,
    clock: FakeClock,
    pair,
    statuses: list[str],
    expected: Mark | None,
) -> None:
    mentee, mentor, match = pair
    await contact_log(database, clock, match, 1)
    for index, status in enumerate(statuses):
        person = mentee if index % 2 == 0 else mentor
        await week(database, clock, person, match, index // 2, status)
    await week(database, clock, mentee, match, 5, PromptStatus.MISSED)  # older than 4 weeks
    (health,) = await health_of(database, program, clock)
    judged = {judgement.reason: judgement.mark for judgement in health.judgements}
    assert judged.get(Reason.RESPONSE) == expected
    assert health.mark == (expected or Mark.ON_TRACK)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (3, Mark.ON_TRACK),
        (14, Mark.WATCH),
        (27, Mark.WATCH),
        (28, Mark.AT_RISK),
        (None, Mark.AT_RISK),
    ],
)
async def test_contact_against_the_programs_threshold(
    database: Database, program: Program, clock: FakeClock, pair, days: int | None, expected: Mark
) -> None:
    _, _, match = pair  # started 30 days ago
    if days is not None:
        await contact_log(database, clock, match, days)
    (health,) = await health_of(database, program, clock)
    assert health.mark == expected
    if expected != Mark.ON_TRACK:
        assert [judgement.reason for judgement in health.judgements] == [Reason.CONTACT]


async def test_contact_reported_in_a_checkin_counts_and_thresholds_are_per_program(
    database: Database, program: Program, clock: FakeClock, pair
) -> None:
    mentee, _, match = pair
    await contact_log(database, clock, match, 25)
    await week(database, clock, mentee, match, 2, contact="none")  # not a contact
    (health,) = await health_of(database, program, clock)
    assert health.mark == Mark.WATCH and health.silent_weeks == 3
    await week(database, clock, mentee, match, 1, contact="messages")
    (health,) = await health_of(database, program, clock)
    assert health.mark == Mark.ON_TRACK and health.silent_weeks == 1
    async with database.session() as session:
        row = await session.get(Program, program.id)
        assert row is not None
        row.settings = {"flags": {"no_contact_weeks": 1}}
        session.add(row)
    (health,) = await health_of(database, row, clock)
    assert health.mark == Mark.WATCH


async def test_a_paused_match_is_not_judged_on_contact(
    database: Database, program: Program, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    async with database.session() as session:
        row = await session.get(Match, match.id)
        assert row is not None
        row.status = MatchStatus.PAUSED
        session.add(row)
    (health,) = await health_of(database, program, clock)
    assert health.mark == Mark.ON_TRACK


async def test_the_worst_wins_and_every_reason_is_kept(
    database: Database, program: Program, clock: FakeClock, pair
) -> None:
    mentee, mentor, match = pair
    await contact_log(database, clock, match, 15)  # watch
    await week(database, clock, mentee, match, 1, PromptStatus.MISSED)
    await week(database, clock, mentor, match, 1, PromptStatus.MISSED)  # 0%: at risk
    await add_flag(database, clock, match, "rating_gap", "low")  # watch
    (health,) = await health_of(database, program, clock)
    assert health.mark == Mark.AT_RISK
    assert [(j.reason, j.mark) for j in health.judgements] == [
        (Reason.RESPONSE, Mark.AT_RISK),
        (Reason.FLAGS, Mark.WATCH),
        (Reason.CONTACT, Mark.WATCH),
    ]


async def test_closed_matches_apart_and_a_handful_of_queries(
    database: Database, program: Program, clock: FakeClock
) -> None:
    matches = await many_matches(database, program, clock, 30)
    async with database.session() as session:
        row = await session.get(Match, matches[0].id)
        assert row is not None
        row.status, row.closed_at = MatchStatus.CLOSED, clock()
        session.add(row)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        found = await health_of(database, program, clock)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(found) == 29 and all(health.mark == Mark.ON_TRACK for health in found)
    selects = [
        statement for statement in statements if statement.lstrip().upper().startswith("SELECT")
    ]
    assert len(selects) <= 5  # matches and people, flags, check-ins, logs, reported contact
    (closed,) = await health_of(database, program, clock, closed=True)
    assert closed.match.id == matches[0].id and closed.mark is None


# --- /matches ------------------------------------------------------------------------------


def entries(message: SentMessage) -> list[str]:
    """The first line of each match in a /matches page."""
    lines = message.text.splitlines()
    return [line for line in lines if line and line[0] in "🔴🟡🟢⚪" and "(match " in line]


async def test_matches_sorted_at_risk_first_paged_and_filtered(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser
) -> None:
    matches = await many_matches(database, program, clock, 25)
    for index, match in enumerate(matches):
        if index % 5 == 0:
            await add_flag(database, clock, match, "safety_words", "urgent")
        elif index % 5 == 1:
            await add_flag(database, clock, match, "missed_checkins", "medium")
    (listing,) = await cora.send("/matches")
    assert listing.text.splitlines()[:2] == [
        "Matches · Career Bridge Toronto · page 1 of 4",
        "🔴 5 at risk · 🟡 5 to watch · 🟢 15 on track",
    ]
    first = entries(listing)
    assert len(first) == 8
    assert [line.split(" · ")[0] for line in first] == ["🔴 At risk"] * 5 + ["🟡 Watch"] * 3
    assert first[0] == "🔴 At risk · Mentor 00 ↔ Mentee 00 (match 1)"
    assert "week 2 of 12 · no check-ins yet · last contact Nov 14" in listing.text
    assert "↳ Worrying words in a message" in listing.text
    assert listing.labels[0] == "🔴 1 · Mentor 00 ↔ Mentee 00"
    assert listing.labels[-6:] == [
        "Next ›",
        "✓ All",
        "🔴 At risk",
        "🟡 Watch",
        "🟢 On track",
        "Closed",
    ]
    assert_fits(listing)
    seen = first
    for _ in range(3):
        await cora.tap("Next ›")
        seen += entries(cora.last)
        assert_fits(cora.last)
    assert len(seen) == 25 and len(set(seen)) == 25
    assert [line.split(" · ")[0] for line in seen] == (
        ["🔴 At risk"] * 5 + ["🟡 Watch"] * 5 + ["🟢 On track"] * 15
    )
    assert "page 4 of 4" in cora.last.text and "Next ›" not in cora.last.labels
    await cora.tap("🟡 Watch")
    assert cora.last.text.splitlines()[0] == "Matches · Career Bridge Toronto · Watch"
    assert [line.split(" · ")[0] for line in entries(cora.last)] == ["🟡 Watch"] * 5
    assert "✓ 🟡 Watch" in cora.last.labels
    count = len(cora.messages)
    assert await cora.tap("✓ 🟡 Watch") == [] and len(cora.messages) == count  # unchanged
    await cora.tap("Closed")
    assert "No match has closed yet." in cora.last.text


async def test_matches_per_program_when_coordinating_several(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser
) -> None:
    await many_matches(database, program, clock, 2)
    other = await other_program(database, clock)
    await many_matches(database, other, clock, 1, first_id=7000)
    await add_role(database, clock, CORA, other.id or 0, Role.COORDINATOR)
    await cora.send("/matches")
    assert "Career Bridge Toronto · week 2 of 12" in cora.last.text
    assert "ECE Halifax · week 2 of 12" in cora.last.text
    assert cora.last.labels[-3:] == ["✓ All programs", "Career Bridge Toronto", "ECE Halifax"]
    await cora.tap("ECE Halifax")
    assert cora.last.text.splitlines()[0] == "Matches · ECE Halifax"
    assert len(entries(cora.last)) == 1
    assert "✓ ECE Halifax" in cora.last.labels


async def test_matches_in_french_and_when_there_are_none(
    database: Database, program: Program, clock: FakeClock, claude: FakeUser, pair
) -> None:
    (empty,) = await claude.send("/flags")
    assert "Aucun signalement ouvert" in empty.text
    (listing,) = await claude.send("/matches")
    assert listing.text.splitlines()[:3] == [
        "Jumelages · Career Bridge Toronto",
        "🔴 1 à risque · 🟡 0 à surveiller · 🟢 0 sur la bonne voie",
        "",
    ]
    assert "🔴 À risque · Robert Tremblay ↔ Alice Martin (jumelage 1)" in listing.text
    assert "↳ aucun contact depuis 4 semaines" in listing.text
    assert (
        "semaine 5 sur 12 · aucun suivi pour l’instant · aucun contact pour l’instant"
        in listing.text
    )


async def test_no_matches_yet(cora: FakeUser) -> None:
    await cora.send("/matches")
    assert "No matches yet. Send /pair to pair a mentor with a mentee." in cora.last.text


# --- /flags --------------------------------------------------------------------------------


async def test_flags_most_severe_then_oldest_with_pages(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser
) -> None:
    matches = await many_matches(database, program, clock, 8)
    plan = [
        ("rating_gap", "low", 9), ("no_contact", "medium", 2), ("safety_words", "urgent", 1),
        ("asked_coordinator", "high", 3), ("concern", "medium", 6), ("safety_words", "urgent", 4),
        ("low_rating", "medium", 1), ("unreachable", "high", 8),
    ]  # fmt: skip
    for match, (rule, severity, days) in zip(matches, plan, strict=True):
        await add_flag(database, clock, match, rule, severity, days_ago=days)
    await add_flag(database, clock, matches[0], "concern", "urgent", status=FlagStatus.RESOLVED)
    await add_flag(
        database, clock, matches[1], "missed_checkins", "medium",
        status=FlagStatus.SNOOZED, snoozed_days=3, days_ago=7,
    )  # fmt: skip
    (first,) = await cora.send("/flags")
    assert first.text.splitlines()[0] == "9 open flags · Career Bridge Toronto · page 1 of 2"
    titles = [line for line in first.text.splitlines() if line[:1].isdigit() and ". " in line]
    assert titles == [
        "1. 🚨 Worrying words in a message · urgent",  # 4 days old
        "2. 🚨 Worrying words in a message · urgent",  # 1 day old
        "3. ⚠️ Unreachable · high",  # 8 days
        "4. ⚠️ Asked for the coordinator · high",
        "5. ⚠️ Missed check-ins · medium",  # 7 days, snoozed
        "6. ⚠️ Concern reported · medium",  # 6 days
    ]
    assert "Mentor 05 ↔ Mentee 05 (match 6)\nraised 4 days ago · open" in first.text
    assert "raised 7 days ago · 💤 snoozed until Nov 19" in first.text
    assert first.labels == [
        "1 · Worrying words in a message", "2 · Worrying words in a message", "3 · Unreachable",
        "4 · Asked for the coordinator", "5 · Missed check-ins", "6 · Concern reported", "Next ›",
    ]  # fmt: skip
    assert_fits(first)
    await cora.tap("Next ›")
    assert cora.last.text.splitlines()[0] == "9 open flags · Career Bridge Toronto · page 2 of 2"
    assert cora.last.labels == [
        "7 · No contact",
        "8 · Low rating",
        "9 · Mentor and mentee disagree",
        "‹ Previous",
    ]
    await cora.tap("7 · No contact")
    alert = cora.last
    assert alert.text.splitlines()[0] == "⚠️ No contact"
    assert alert.labels == ["Acknowledge", "Snooze 7 days", "Resolve", "Show match"]
    await cora.tap("Acknowledge")  # conversations/alerts.py takes it from here
    async with database.session() as session:
        flag = (await session.exec(select(Flag).where(Flag.rule == "no_contact"))).one()
    assert flag.status == FlagStatus.ACKNOWLEDGED
    await cora.send("/flags")
    await cora.tap("Next ›")
    assert "raised 2 days ago · 👀 acknowledged by Cora Lee" in cora.last.text


async def test_flags_calm_when_there_are_none(cora: FakeUser) -> None:
    (reply,) = await cora.send("/flags")
    assert reply.text == (
        "0 open flags · Career Bridge Toronto\n\nNo open flags: no match needs your attention "
        "right now. I'll alert you as soon as one does."
    )


# --- /match <id> ---------------------------------------------------------------------------


async def test_match_timeline_newest_first(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser, pair
) -> None:
    mentee, mentor, match = pair
    await week(
        database, clock, mentee, match, 1, contact="call", helpful="2", progress="3",
        note="J’aurais besoin d’aide pour mon CV.", wants_contact="yes",
    )  # fmt: skip
    await week(database, clock, mentor, match, 1, PromptStatus.MISSED)
    await week(database, clock, mentee, match, 2, kind="reflection", q1="Mon journal intime")
    async with database.session() as session:
        session.add(
            MeetingLog(
                match_id=match.id or 0, author_id=mentor.id or 0, minutes=45, mode="video",
                topics=["resume", "réseautage"], notes="On a revu le CV & la lettre.",
                met_on=(clock() - timedelta(days=3)).date(), created_at=clock(),
            )
        )  # fmt: skip
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == mentee.id))
        ).one()
        session.add(
            Goal(membership_id=membership.id or 0, text="Trouver un stage", created_at=clock(),
                 status=GoalStatus.ACHIEVED, achieved_at=clock() - timedelta(days=1))
        )  # fmt: skip
    flag = await add_flag(
        database, clock, match, "low_rating", "medium", days_ago=6,
        evidence={"answers": [{"person_id": mentee.id, "key": "helpful", "value": 2,
                               "period": "2026-W46"}]},
    )  # fmt: skip
    cora_row = (await database_person(database, CORA)).id
    async with database.session() as session:
        row = await session.get(Flag, flag.id)
        assert row is not None
        row.status, row.note, row.handled_by = FlagStatus.RESOLVED, "Appel fait.", cora_row
        session.add(row)
        for days, action, detail in ((5, "acknowledge", {}), (4, "resolve", {"with_note": True})):
            session.add(
                AuditEvent(actor_id=cora_row, actor_label="coordinator", action=f"flag.{action}",
                           subject=f"flag:{flag.id}", detail=detail,
                           at=clock() - timedelta(days=days))
            )  # fmt: skip
    (view,) = await cora.send(f"/match {match.id}")
    lines = view.text.splitlines()
    assert lines[:4] == [
        "Robert Tremblay ↔ Alice Martin · Career Bridge Toronto (match 1)",
        "🟡 Watch — few check-ins answered",
        "week 5 of 12 · check-ins answered: 50% · last contact Nov 13",
        "",
    ]
    assert lines[4] == "Timeline, newest first"
    body = view.text
    order = [
        "🎯 Nov 15 · Goal achieved: Trouver un stage",
        "🤝 Nov 13 · Meeting, 45 min, Video (logged by Robert Tremblay)",
        "✅ Nov 12 · Cora Lee resolved “Low rating”: Appel fait.",
        "👀 Nov 11 · Cora Lee acknowledged “Low rating”.",
        "🚩 Nov 10 · Flag raised: Low rating (medium)",
        "✅ Nov 9 · Check-in, Alice Martin: answered",
        "❌ Nov 9 · Check-in, Robert Tremblay: missed",
        "✅ Nov 2 · Reflection, Alice Martin: answered",
        "▶️ Oct 17 · Match started",
    ]
    positions = [body.index(item) for item in order]
    assert positions == sorted(positions)
    assert "   Topics: Résumé, réseautage\n   Notes: “On a revu le CV & la lettre.”" in body
    assert (
        "   Contact: Yes, by video or phone · How helpful: 2 / 5 · Progress: 3 / 5 · "
        "Coordinator to get in touch: Yes\n"
        "   For the coordinator: “J’aurais besoin d’aide pour mon CV.”"
    ) in body
    assert "Alice Martin rated “How helpful” 2 out of 5" in body
    assert "journal" not in body  # a reflection's text stays in the participant's journal
    assert view.labels == ["🏁 End this match", "‹ Matches"]  # conversations/match_end.py
    await cora.tap("‹ Matches")
    assert cora.last.text.startswith("Matches · Career Bridge Toronto")


async def database_person(database: Database, telegram_id: int) -> Person:
    async with database.session() as session:
        return (await session.exec(select(Person).where(Person.telegram_id == telegram_id))).one()


async def test_long_timelines_are_paged(
    database: Database, program: Program, clock: FakeClock, claude: FakeUser, pair
) -> None:
    mentee, mentor, match = pair
    long_note = "Une note très longue. " * 80
    for weeks_ago in range(1, 5):
        await week(database, clock, mentee, match, weeks_ago, contact="call", note=long_note)
        await week(database, clock, mentor, match, weeks_ago, contact="call", concerns="other",
                   concern_note=long_note)  # fmt: skip
    await claude.send("/matches")
    await claude.tap("1 · Robert Tremblay ↔ Alice Martin")
    first = claude.last
    assert "Chronologie, du plus récent au plus ancien · page 1 sur" in first.text
    assert "Match started" not in first.text
    assert_fits(first)
    pages = 1
    while "Plus anciennes ›" in claude.last.labels:
        await claude.tap("Plus anciennes ›")
        assert_fits(claude.last)
        pages += 1
    assert pages > 1 and "Début du jumelage" in claude.last.text
    assert "‹ Plus récentes" in claude.last.labels
    await claude.tap("‹ Jumelages")
    assert claude.last.text.startswith("Jumelages · Career Bridge Toronto")


# --- refusals ------------------------------------------------------------------------------


async def test_match_without_a_number_or_outside_the_programs(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser, claude: FakeUser, pair
) -> None:
    other = await other_program(database, clock)
    (theirs,) = await many_matches(database, other, clock, 1)
    for text in ("/match", "/match abc", "/match 1 2"):
        (reply,) = await cora.send(text)
        assert reply.text.startswith(
            "Send the match number after the command, for example /match 12."
        )
    (reply,) = await cora.send(f"/match {theirs.id}")
    assert reply.text == NOT_FOUND.format(id=theirs.id)
    (reply,) = await cora.send("/match 999")
    assert reply.text == NOT_FOUND.format(id=999)  # the same words: nothing is revealed
    (reply,) = await claude.send(f"/match {theirs.id}")
    assert reply.text == NOT_FOUND_FR.format(id=theirs.id)
    (reply,) = await cora.send("/match #1")
    assert reply.text.startswith("Robert Tremblay ↔ Alice Martin")


async def test_forged_buttons_show_nothing_outside_the_programs(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser, pair
) -> None:
    other = await other_program(database, clock)
    (theirs,) = await many_matches(database, other, clock, 1)
    flag = await add_flag(database, clock, theirs, "safety_words", "urgent")
    await cora.send("/flags")
    before = len(cora.messages)
    forged = {
        f"ov:m:{theirs.id}:0:a:0:0": NOT_FOUND.format(id=theirs.id),
        f"ov:f:{flag.id}": NOT_YOURS,
        f"ov:ms:a:{other.id}:0": NOT_YOURS,
    }
    for data, answer in forged.items():
        await cora.press(data)
        assert cora.answers[-1] == answer
    for data in ("ov:m:x:0:a:0:0", "ov:ms:z:0:0", "ov:fl", "ov:f:99999999999", "ov:zz:1:2"):
        await cora.press(data)
        assert (
            cora.answers[-1] == "That button belongs to an earlier question, so it no longer works."
        )
    assert len(cora.messages) == before
    assert "Worrying words in a message" not in cora.last.text
    async with database.session() as session:
        assert (await session.exec(select(AuditEvent))).all() == []  # views are not actions


@pytest.mark.parametrize("who", [ALICE, OTTO])
async def test_participants_and_other_coordinators_are_refused(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, pair, who: int
) -> None:
    if who == OTTO:
        other = await other_program(database, clock)
        await add_participant(
            database, other, clock, telegram_id=OTTO, name="Otto", role=Role.COORDINATOR
        )
    flag = await add_flag(database, clock, pair[2], "concern", "medium")
    user = tg.user(who, "Someone")
    if who == ALICE:
        for command in ("/flags", "/matches", "/match 1"):
            (reply,) = await user.send(command)
            assert reply.text == REFUSAL
        await user.press(f"ov:m:{pair[2].id}:0:a:0:0", (await user.send("/flags"))[0].message_id)
        assert user.answers[-1] == REFUSAL
        return
    (reply,) = await user.send("/match 1")
    assert reply.text == NOT_FOUND.format(id=1)
    (reply,) = await user.send("/flags")
    assert "No open flags" in reply.text and "Career Bridge" not in reply.text
    await user.press(f"ov:f:{flag.id}")
    assert user.answers[-1] == NOT_YOURS


async def test_refusal_in_french(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, pair
) -> None:
    alice = tg.user(ALICE, "Alice")
    async with database.session() as session:
        person = (await session.exec(select(Person).where(Person.telegram_id == ALICE))).one()
        person.locale = "fr"
        session.add(person)
    (reply,) = await alice.send("/matches")
    assert reply.text == "Cette commande est réservée à l’équipe de coordination d’un programme."


async def test_closed_matches_are_listed_apart(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser, pair
) -> None:
    _, _, match = pair
    async with database.session() as session:
        row = await session.get(Match, match.id)
        assert row is not None
        row.status, row.closed_at = MatchStatus.CLOSED, clock() - timedelta(days=2)
        row.closure_reason = "Found a job"
        session.add(row)
    await cora.send("/matches")
    assert "Robert" not in cora.last.text
    assert (
        "No match is open right now: tap Closed to see the ones that ended, or send /pair "
        "to pair a mentor with a mentee."
    ) in cora.last.text
    await cora.tap("Closed")
    assert entries(cora.last) == ["⚪ Closed · Robert Tremblay ↔ Alice Martin (match 1)"]
    assert "closed November 14, 2026 · Found a job" in cora.last.text
    await cora.tap("⚪ 1 · Robert Tremblay ↔ Alice Martin")
    lines = cora.last.text.splitlines()
    assert lines[1] == "⚪ Closed · closed November 14, 2026 · Found a job"
    assert "⏹ Nov 14 · Match closed" in cora.last.text
    await cora.tap("‹ Matches")
    assert cora.last.text.splitlines()[0] == "Matches · Career Bridge Toronto · Closed"


async def test_flags_name_the_program_when_coordinating_several(
    database: Database, program: Program, clock: FakeClock, cora: FakeUser, pair
) -> None:
    other = await other_program(database, clock)
    (theirs,) = await many_matches(database, other, clock, 1)
    await add_role(database, clock, CORA, other.id or 0, Role.COORDINATOR)
    await add_flag(database, clock, pair[2], "concern", "medium", days_ago=1)
    await add_flag(database, clock, theirs, "asked_coordinator", "high", days_ago=1)
    (reply,) = await cora.send("/flags")
    assert reply.text.splitlines()[0] == "2 open flags"
    assert (
        "1. ⚠️ Asked for the coordinator · high\nMentor 00 ↔ Mentee 00 (match 2)\nECE Halifax\n"
        "raised 1 day ago · open"
    ) in reply.text
    assert "Robert Tremblay ↔ Alice Martin (match 1)\nCareer Bridge Toronto" in reply.text
