"""/dashboard: a program's figures with exact numbers from a scripted history (EN and FR),
one line per program and a button each for a coordinator of several, and nothing for
anyone else — participants, strangers, forged buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from conversations.kit.text import flags_line
from locales.translator import translator
from storage.db import Database
from storage.models import (
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Person,
    Program,
    PromptStatus,
    Role,
)
from storage.summary import FlagCounts, dashboard, month_weeks
from tests import builders
from tests.builders import ALICE, ROBERT, add_coordinator, add_pair, add_participant, add_role
from tests.conftest import FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_alerts import week
from tests.test_coordinator import NOT_YOURS, REFUSAL, REFUSAL_FR, second_program

CORA, CLAUDE = 401, 402  # the program's coordinators, English and French
STALE = "That button belongs to an earlier question, so it no longer works."


@dataclass
class History:
    match: Match  # Robert Tremblay ↔ Alice Martin, active
    paused: Match
    closing: Match


async def add_match(
    database: Database,
    program: Program,
    clock: FakeClock,
    mentor: tuple[int, str],
    mentee: tuple[int, str],
    status: str = MatchStatus.ACTIVE,
) -> tuple[Person, Person, Match]:
    mentor_row = await add_participant(
        database, program, clock, telegram_id=mentor[0], name=mentor[1], role=Role.MENTOR
    )
    mentee_row = await add_participant(
        database, program, clock, telegram_id=mentee[0], name=mentee[1], role=Role.MENTEE
    )
    async with database.session() as session:
        match = await builders.add_match(
            session, program.id or 0, mentor_row, mentee_row, clock() - timedelta(days=60),
            status=status,
        )  # fmt: skip
    return mentor_row, mentee_row, match


async def log(
    database: Database, clock: FakeClock, match: Match, met_on: date, minutes: int, **extra: object
) -> None:
    async with database.session() as session:
        session.add(
            MeetingLog(
                match_id=match.id or 0, author_id=match.mentor_id, met_on=met_on,
                minutes=minutes, mode="video", created_at=clock(), **extra,
            )
        )  # fmt: skip


async def flag(
    database: Database,
    clock: FakeClock,
    match: Match,
    rule: str,
    severity: str,
    status: str = FlagStatus.OPEN,
    **extra: object,
) -> None:
    async with database.session() as session:
        session.add(
            Flag(match_id=match.id or 0, rule=rule, severity=severity, status=status,
                 opened_at=clock(), **extra)
        )  # fmt: skip


@pytest.fixture
async def history(database: Database, program: Program, clock: FakeClock) -> History:
    """As of Monday, November 16, 2026, 9:00 in Toronto (week 2026-W47):

    - matches: Robert ↔ Alice active, Paul ↔ Pia paused, Carl ↔ Cleo closing, and Nadia, a
      mentee waiting for a match;
    - check-ins: this week Alice's waits for an answer and Robert answered (1 of 2); last
      week Alice and Robert answered and Pia missed hers (2 of 3), Paul skipped (neither);
    - November: a 45-minute meeting on the 2nd and a 60-minute one on the 10th; October
      31st's and a deleted log do not count; Robert's estimate for last week (a log that
      week) does not count, his estimate for this week (no log) does: 45 minutes. 2.5 h.
    - flags: urgent (open), high (acknowledged), medium (snoozed), low (resolved).
    """
    mentee, mentor, match = await add_pair(database, program, clock)
    paul, pia, paused = await add_match(
        database, program, clock, (501, "Paul"), (502, "Pia"), MatchStatus.PAUSED
    )
    _, _, closing = await add_match(
        database, program, clock, (503, "Carl"), (504, "Cleo"), MatchStatus.CLOSING
    )
    await add_participant(database, program, clock, telegram_id=505, name="Nadia", role="mentee")
    await week(database, clock, mentee, match, 0, PromptStatus.SENT)
    await week(database, clock, mentor, match, 0, contact="call", duration="m30_60", going="4")
    await week(database, clock, mentee, match, 1, helpful="5")
    await week(database, clock, mentor, match, 1, contact="call", duration="o2h", going="5")
    await week(database, clock, pia, paused, 1, PromptStatus.MISSED)
    await week(database, clock, paul, paused, 1, PromptStatus.SKIPPED)
    await week(database, clock, mentee, match, 2, PromptStatus.ANSWERED, kind="reflection")
    await log(database, clock, match, date(2026, 11, 2), 45)
    await log(database, clock, match, date(2026, 11, 10), 60)
    await log(database, clock, match, date(2026, 10, 31), 30)
    await log(database, clock, match, date(2026, 11, 12), 90, deleted_at=clock())
    await flag(database, clock, match, "safety_words", "urgent")
    await flag(database, clock, match, "asked_coordinator", "high", FlagStatus.ACKNOWLEDGED)
    await flag(
        database, clock, paused, "missed_checkins", "medium", FlagStatus.SNOOZED,
        snoozed_until=clock() + timedelta(days=3),
    )  # fmt: skip
    await flag(database, clock, match, "rating_gap", "low", FlagStatus.RESOLVED)
    return History(match, paused, closing)


@pytest.fixture
async def cora(tg: FakeTelegram, database: Database, program: Program, clock: FakeClock):
    await add_coordinator(database, program, clock, CORA, "Cora Lee")
    return tg.user(CORA, "Cora")


@pytest.fixture
async def claude(tg: FakeTelegram, database: Database, program: Program, clock: FakeClock):
    await add_coordinator(database, program, clock, CLAUDE, "Claude Roy", "fr")
    return tg.user(CLAUDE, "Claude", language_code="fr")


ENGLISH = [
    "📊 Career Bridge Toronto · Monday, November 16, 2026",
    "",
    "Matches: 1 active, 1 paused, 1 closing.",
    "Waiting for a match: 1 mentee.",
    "Check-ins answered this week: 50% (1 of 2); last week: 67% (2 of 3).",
    "This month: 2 meetings logged, 2.5 h together (logged, or estimated by the mentor).",
    "Open flags: 2 (1 urgent, 1 high). 1 more is snoozed.",
]


async def test_a_coordinator_sees_the_programs_figures(cora: FakeUser, history: History) -> None:
    await cora.send("/dashboard")
    assert cora.last.text.splitlines() == ENGLISH
    assert cora.buttons == []


async def test_in_french_with_french_numbers(claude: FakeUser, history: History) -> None:
    await claude.send("/dashboard")
    assert claude.last.text.splitlines() == [
        "📊 Career Bridge Toronto · lundi 16 novembre 2026",
        "",
        "Jumelages : 1 actif, 1 en pause, 1 en voie de se terminer.",
        "En attente d’un jumelage : 1 personne mentorée.",
        "Réponses aux suivis cette semaine : 50\xa0% (1 sur 2); la semaine dernière : 67\xa0% "
        "(2 sur 3).",
        "Ce mois-ci : 2 rencontres consignées, 2,5 h ensemble (consignées, ou estimées par "
        "le mentor).",
        "Signalements ouverts : 2 (1 urgent, 1 important). 1 autre est reporté.",
    ]


async def test_an_empty_program(cora: FakeUser) -> None:
    await cora.send("/dashboard")
    assert cora.last.text.splitlines()[2:] == [
        "Matches: 0 active.",
        "Nobody is waiting for a match.",
        "Check-ins answered this week: no check-in reached anyone; last week: no check-in "
        "reached anyone.",
        "This month: 0 meetings logged, 0 h together (logged, or estimated by the mentor).",
        "Open flags: none.",
    ]


def test_a_week_counts_in_the_month_holding_its_thursday() -> None:
    # November 2026 begins on a Sunday: the week of Monday, October 26 is October's.
    assert month_weeks(date(2026, 11, 1)) == []
    assert month_weeks(date(2026, 11, 2)) == ["2026-W45"]
    assert month_weeks(date(2026, 11, 16)) == ["2026-W45", "2026-W46", "2026-W47"]
    assert month_weeks(date(2026, 10, 31)) == ["2026-W40", "2026-W41", "2026-W42", "2026-W43",
                                               "2026-W44"]  # fmt: skip


async def test_the_month_follows_the_programs_time_zone(
    database: Database, program: Program, clock: FakeClock, history: History
) -> None:
    # 03:00 UTC on December 1 is still November 30 in Toronto.
    clock.now = clock.now.replace(month=12, day=1, hour=3)
    async with database.session() as session:
        board = await dashboard(session, program, clock())
    assert board.today == date(2026, 11, 30)
    assert (board.month_meetings, board.month_minutes) == (2, 45 + 60 + 45)


# --- several programs -----------------------------------------------------------------------


@pytest.fixture
async def halifax(database: Database, clock: FakeClock, cora: FakeUser) -> int:
    """A second program Cora coordinates, with one active match and nothing else."""
    program_id = await second_program(database, clock)
    await add_role(database, clock, CORA, program_id, Role.COORDINATOR)
    async with database.session() as session:
        program = await session.get(Program, program_id)
        assert program is not None
    await add_match(database, program, clock, (601, "Hal"), (602, "Ida"))
    return program_id


async def test_a_coordinator_of_two_programs_gets_a_line_each(
    cora: FakeUser, history: History, halifax: int
) -> None:
    await cora.send("/dashboard")
    assert cora.last.text.splitlines() == [
        "📊 Your programs",
        "",
        "• Career Bridge Toronto: 1 active match · 50% answered this week · 2 open flags",
        "• ECE Halifax: 1 active match · no check-in this week · 0 open flags",
    ]
    assert cora.buttons == ["Career Bridge Toronto", "ECE Halifax"]
    await cora.tap("Career Bridge Toronto")
    assert cora.last.text.splitlines() == ENGLISH
    assert cora.buttons == ["‹ All programs"]
    await cora.tap("‹ All programs")
    await cora.tap("ECE Halifax")
    assert cora.last.text.splitlines()[:3] == [
        "📊 ECE Halifax · Monday, November 16, 2026",
        "",
        "Matches: 1 active.",
    ]
    assert len(cora.messages) == 1  # every screen edits the same message


# --- nobody else ----------------------------------------------------------------------------


async def test_participants_and_strangers_are_refused(
    tg: FakeTelegram, program: Program, history: History
) -> None:
    alice, robert = tg.user(ALICE, "Alice"), tg.user(ROBERT, "Robert", language_code="fr")
    await alice.send("/dashboard")
    assert alice.last.text == REFUSAL
    await robert.send("/dashboard")  # Robert chose French
    assert robert.last.text == REFUSAL_FR
    stranger = tg.user(999, "Stan")
    await stranger.send("/dashboard")
    assert stranger.last.text == REFUSAL
    for forged in (f"dash:prog:{program.id}", "dash:page:0:0"):
        await alice.press(forged)
    assert "Career Bridge Toronto" not in " ".join(alice.texts)


async def test_someone_still_joining_is_refused_and_asked_again(tg: FakeTelegram, invite) -> None:
    dora = tg.user(700, "Dora")
    await dora.send(f"/start {await invite('coordinator')}")
    await dora.tap("English")
    question = dora.last.text
    await dora.send("/dashboard")
    assert [message.text for message in dora.messages[-2:]] == [REFUSAL, question]


async def test_forged_and_stale_buttons(
    database: Database, clock: FakeClock, cora: FakeUser, history: History
) -> None:
    other = await second_program(database, clock)
    await cora.send("/dashboard")
    await cora.press(f"dash:prog:{other}")
    assert cora.answers[-1] == NOT_YOURS
    for forged in ("dash:prog:x", "dash:burn:1", "dash:prog:99999999999", "dash:page:0:x"):
        await cora.press(forged)
        assert cora.answers[-1] == STALE
    assert cora.last.text.splitlines() == ENGLISH


async def test_the_menu_offers_the_dashboard_to_coordinators() -> None:
    from conversations.kit.menus import commands

    assert "dashboard" in [c.command for c in commands("en", coordinator=True)]
    assert "dashboard" not in [c.command for c in commands("fr", coordinator=False)]


@pytest.mark.parametrize(
    ("language", "counts", "line"),
    [
        ("en", FlagCounts({}, snoozed=2), "Open flags: none, apart from 2 snoozed."),
        ("fr", FlagCounts({}, snoozed=1), "Signalements ouverts : aucun, sauf 1 reporté."),
        ("en", FlagCounts({"high": 1}, snoozed=1), "Open flags: 1 (1 high). 1 more is snoozed."),
        ("en", FlagCounts({}), "Open flags: none."),
    ],
)
def test_the_flags_line_says_what_is_snoozed(language: str, counts: FlagCounts, line: str) -> None:
    assert flags_line(translator(language), counts) == line
