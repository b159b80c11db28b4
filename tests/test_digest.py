"""The weekly digest: every coordinator gets it once a week at 8:00 on Monday in their own
time zone (or at the program's day and time), never twice — two ticks, a restart, two
dispatchers at once — with exact figures from a scripted history in English and French,
one message covering all their programs; participants never get it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.dispatch import Dispatcher
from conversations import checkin
from conversations import digest as digest_dialogue
from storage.db import Database
from storage.models import (
    FlagStatus,
    MatchStatus,
    Membership,
    Person,
    PersonStatus,
    Program,
    PromptStatus,
    Role,
)
from storage.summary import (
    claim_digests,
    digest_check_due,
    digest_slot,
)
from tests.builders import ALICE, ROBERT, add_coordinator, add_pair, add_role
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_alerts import week
from tests.test_coordinator import second_program
from tests.test_dashboard import add_match, flag, log

CORA, CLAUDE, VERA, OTTO, UNA = 301, 302, 303, 304, 305
# Monday, November 23, 2026, 7:59 in Toronto (EST, UTC-5): the digest reports 2026-W47.
MONDAY = datetime(2026, 11, 23, 12, 59, tzinfo=UTC)
HEADS = ("📬 Your weekly digest", "📬 Votre bilan hebdomadaire")


def dispatcher(tg: FakeTelegram, database: Database, clock: FakeClock) -> Dispatcher:
    return Dispatcher(
        tg.application.bot, database, checkin, clock,  # type: ignore[arg-type]
        budget=None, advisory_lock=False, digests=digest_dialogue,
    )  # fmt: skip


def digests(user: FakeUser) -> list[str]:
    return [message.text for message in user.messages if message.text.startswith(HEADS)]


async def change(database: Database, model: type, telegram_id: int, **values: Any) -> None:
    """Set fields of a person (or of their membership) found by Telegram id."""
    async with database.session() as session:
        person = (await session.exec(select(Person).where(Person.telegram_id == telegram_id))).one()
        row: Any = person
        if model is Membership:
            row = (await session.exec(select(Membership).where(
                Membership.person_id == person.id))).one()  # fmt: skip
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)


@pytest.fixture
async def people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    """Coordinators: Cora (English) and Claude (French) in Toronto, Vera in Vancouver, Otto
    still joining, Una unreachable. History, as of week 2026-W47 (November 16–22):

    - Robert ↔ Alice (match 1) and Mona ↔ Nadia (match 2) active, Paul ↔ Pia paused;
    - W47 check-ins: Alice, Robert and Mona answered, Nadia missed hers (3 of 4); W46:
      Alice answered, Robert and Mona missed, Nadia skipped (1 of 3);
    - W47: one 90-minute meeting of match 1 (Robert's estimate that week does not count
      over it); Mona reported no contact: match 2 had none;
    - flags: urgent (match 1, open), high (match 2, acknowledged), medium (match 2, open),
      low (match 1, snoozed), and one resolved.
    """
    await add_coordinator(database, program, clock, CORA, "Cora Lee")
    await add_coordinator(database, program, clock, CLAUDE, "Claude Roy", "fr")
    await add_coordinator(database, program, clock, VERA, "Vera Chan")
    await change(database, Person, VERA, timezone="America/Vancouver")
    await add_coordinator(database, program, clock, OTTO, "Otto")
    await change(database, Membership, OTTO, completed_at=None)
    await add_coordinator(database, program, clock, UNA, "Una")
    await change(database, Person, UNA, status=PersonStatus.UNREACHABLE)
    alice, robert, match = await add_pair(database, program, clock)
    mona, nadia, second = await add_match(database, program, clock, (511, "Mona"), (512, "Nadia"))
    await add_match(database, program, clock, (513, "Paul"), (514, "Pia"), MatchStatus.PAUSED)
    await week(database, clock, alice, match, 0, contact="call", helpful="4")
    await week(database, clock, robert, match, 0, contact="call", duration="h1_2", going="4")
    await week(database, clock, mona, second, 0, contact="none", going="3")
    await week(database, clock, nadia, second, 0, PromptStatus.MISSED)
    await week(database, clock, alice, match, 1, helpful="5")
    await week(database, clock, robert, match, 1, PromptStatus.MISSED)
    await week(database, clock, mona, second, 1, PromptStatus.MISSED)
    await week(database, clock, nadia, second, 1, PromptStatus.SKIPPED)
    await log(database, clock, match, date(2026, 11, 18), 90)
    await log(database, clock, second, date(2026, 11, 13), 60)  # W46
    await flag(database, clock, match, "safety_words", "urgent")
    await flag(database, clock, second, "asked_coordinator", "high", FlagStatus.ACKNOWLEDGED)
    await flag(database, clock, second, "missed_checkins", "medium")
    await flag(
        database, clock, match, "rating_gap", "low", FlagStatus.SNOOZED,
        snoozed_until=MONDAY + timedelta(days=3),
    )  # fmt: skip
    await flag(database, clock, second, "low_rating", "medium", FlagStatus.RESOLVED)
    clock.now = MONDAY
    return {"match": match, "second": second}


ENGLISH = [
    "📬 Your weekly digest · week of November 16, 2026",
    "",
    "Career Bridge Toronto",
    "Open flags: 3 (1 urgent, 1 high, 1 medium). 1 more is snoozed.",
    "🚨 Worrying words in a message · Robert Tremblay ↔ Alice Martin (match 1)",
    "• Asked for the coordinator · Mona ↔ Nadia (match 2)",
    "• Missed check-ins · Mona ↔ Nadia (match 2)",
    "Check-ins answered: 75% (3 of 4); the week before: 33% (1 of 3).",
    "Meetings logged: 1, 1.5 h together (logged, or estimated by the mentor).",
    "No contact at all: 1 of 2 active matches.",
    "",
    "/flags lists every open flag; /dashboard shows this week's figures.",
]
FRENCH = [
    "📬 Votre bilan hebdomadaire · semaine du 16 novembre 2026",
    "",
    "Career Bridge Toronto",
    "Signalements ouverts : 3 (1 urgent, 1 important, 1 modéré). 1 autre est reporté.",
    "🚨 Mots préoccupants dans un message · Robert Tremblay ↔ Alice Martin (jumelage 1)",
    "• Veut parler à l’équipe de coordination · Mona ↔ Nadia (jumelage 2)",
    "• Suivis manqués · Mona ↔ Nadia (jumelage 2)",
    "Réponses aux suivis : 75\xa0% (3 sur 4); la semaine précédente : 33\xa0% (1 sur 3).",
    "Rencontres consignées : 1, 1,5 h ensemble (consignées, ou estimées par le mentor).",
    "Aucun contact : 1 sur 2 jumelages actifs.",
    "",
    "/flags : tous les signalements ouverts; /dashboard : les chiffres de cette semaine.",
]


async def test_content_in_english_and_french(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    clock.advance(minutes=1)
    assert (await dispatcher(tg, database, clock).tick()).digests == 2
    (english,) = digests(tg.user(CORA, "Cora"))
    assert english.splitlines() == ENGLISH
    (french,) = digests(tg.user(CLAUDE, "Claude"))
    assert french.splitlines() == FRENCH


async def test_monday_at_eight_once_a_week_even_across_a_restart(
    bots: Bots, tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    cora, claude, vera = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude"), tg.user(VERA, "Vera")
    first = dispatcher(tg, database, clock)
    assert (await first.tick()).digests == 0  # 7:59
    clock.advance(minutes=1)
    assert (await first.tick()).digests == 2  # 8:00 in Toronto: Cora and Claude
    assert (await first.tick()).digests == 0
    clock.advance(minutes=15)
    assert (await first.tick()).digests == 0
    tg = await bots.restart()
    clock.advance(minutes=15)
    restarted = dispatcher(tg, database, clock)
    assert (await restarted.tick()).digests == 0
    clock.now = MONDAY + timedelta(hours=3)  # 7:59 in Vancouver
    assert (await restarted.tick()).digests == 0
    clock.advance(minutes=1)
    assert (await restarted.tick()).digests == 1  # Vera, three hours after Toronto
    assert [len(digests(user)) for user in (cora, claude, vera)] == [1, 1, 1]
    clock.now = MONDAY + timedelta(days=7, minutes=1)  # next Monday, 8:00 in Toronto
    assert (await restarted.tick()).digests == 2
    assert [len(digests(user)) for user in (cora, claude, vera)] == [2, 2, 1]
    for nobody in (OTTO, UNA, ALICE, ROBERT, 511, 512):
        assert digests(tg.user(nobody, "x")) == []


async def test_two_dispatchers_at_once_send_each_digest_once(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    clock.advance(minutes=1)
    one, two = dispatcher(tg, database, clock), dispatcher(tg, database, clock)
    reports = await asyncio.gather(one.tick(), two.tick())
    assert sum(report.digests for report in reports) == 2
    assert len(digests(tg.user(CORA, "Cora"))) == 1
    # Past the quarter-hour gate, the (coordinator, week) claim alone stops a second send.
    async with database.session() as session:
        assert await claim_digests(session, ["1:2026-W48", "9:2026-W48"], clock()) == {"9:2026-W48"}


async def test_the_tick_looks_once_per_quarter_of_an_hour(
    database: Database, clock: FakeClock
) -> None:
    eight = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    looks = []
    for minute in (0, 0, 1, 14, 15, 29, 30):
        async with database.session() as session:
            looks.append(await digest_check_due(session, eight + timedelta(minutes=minute)))
    assert looks == [True, False, False, False, True, False, True]
    async with database.session() as session:  # a clock set back looks again
        assert await digest_check_due(session, eight - timedelta(hours=1))


async def test_a_coordinator_of_two_programs_gets_one_message(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    halifax_id = await second_program(database, clock)
    await add_role(database, clock, CORA, halifax_id, Role.COORDINATOR)
    async with database.session() as session:
        halifax = await session.get(Program, halifax_id)
        assert halifax is not None
    # Hal coordinates Halifax alone and has no time zone of his own: 8:00 in Halifax.
    hal = await add_coordinator(database, halifax, clock, 306, "Hal")
    await change(database, Person, 306, timezone=None)
    clock.now = MONDAY - timedelta(minutes=59)  # 7:00 in Toronto, 8:00 in Halifax
    assert (await dispatcher(tg, database, clock).tick()).digests == 1
    (hals,) = digests(tg.user(306, "Hal"))
    assert "ECE Halifax" in hals and "Career Bridge Toronto" not in hals
    assert hal.id is not None
    clock.now = MONDAY + timedelta(minutes=1)
    await dispatcher(tg, database, clock).tick()
    (text,) = digests(tg.user(CORA, "Cora"))
    blocks = text.split("\n\n")
    assert [block.splitlines()[0] for block in blocks[1:-1]] == [
        "Career Bridge Toronto",
        "ECE Halifax",
    ]
    assert blocks[2].splitlines()[1:] == [
        "Open flags: none.",
        "Check-ins answered: no check-in reached anyone; the week before: no check-in "
        "reached anyone.",
        "Meetings logged: 0, 0 h together (logged, or estimated by the mentor).",
        "No match was active all week.",
    ]


async def test_the_program_sets_the_day_and_time_or_turns_it_off(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, people: dict[str, Any]
) -> None:
    async def configure(digest: dict[str, Any]) -> None:
        async with database.session() as session:
            row = await session.get(Program, program.id)
            assert row is not None
            row.settings = {"digest": digest}
            session.add(row)

    await configure({"weekday": 4, "time": "16:30"})
    clock.advance(minutes=1)
    ticking = dispatcher(tg, database, clock)
    assert (await ticking.tick()).digests == 0  # Monday 8:00: not this program's time
    clock.now = datetime(2026, 11, 27, 21, 29, tzinfo=UTC)  # Friday, 16:29 in Toronto
    assert (await ticking.tick()).digests == 0
    clock.advance(minutes=1)
    assert (await ticking.tick()).digests == 2
    (text,) = digests(tg.user(CORA, "Cora"))
    assert text.startswith("📬 Your weekly digest · week of November 16, 2026")
    await configure({"weekday": 4, "time": "16:30", "enabled": False})
    clock.now = datetime(2026, 12, 4, 21, 30, tzinfo=UTC)  # the next Friday
    assert (await ticking.tick()).digests == 0


def test_digest_settings_fall_back_on_the_defaults() -> None:
    monday_eight = digest_slot({})
    assert monday_eight is not None and (monday_eight.weekday, str(monday_eight.at)) == (
        0,
        "08:00:00",
    )
    assert digest_slot({"digest": {"weekday": 9, "time": "25:00"}}) == monday_eight
    assert digest_slot({"digest": {"enabled": False}}) is None
    friday = digest_slot({"digest": {"weekday": 4, "time": "16:30", "enabled": True}})
    assert friday is not None and (friday.weekday, str(friday.at)) == (4, "16:30:00")


@pytest.mark.parametrize(("down_for", "sent"), [(timedelta(hours=12), 3), (timedelta(hours=24), 1)])
async def test_after_an_outage_it_goes_out_the_same_day_not_later(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    people: dict[str, Any],
    down_for: timedelta,
    sent: int,
) -> None:
    """The bot was down from 7:59 on: back 12 hours later, every digest goes out; back a
    day later, Toronto's are skipped and Vancouver's (due 3 hours later) still goes out."""
    clock.now = MONDAY + down_for + timedelta(minutes=1)
    assert (await dispatcher(tg, database, clock).tick()).digests == sent
    assert len(digests(tg.user(VERA, "Vera"))) == 1


async def test_flood_control_retries_and_a_blocked_coordinator_is_skipped(
    bots: Bots, tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    bots.api.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 5",
        retry_after=5,
    )  # fmt: skip
    clock.advance(minutes=1)
    ticking = dispatcher(tg, database, clock)
    assert (await ticking.tick()).digests == 1  # Cora's met flood control; Claude's went
    bots.api.block(CORA)
    clock.advance(minutes=15)
    assert (await ticking.tick()).digests == 0  # Cora's, tried again: she blocked the bot
    bots.api.unblock(CORA)
    clock.advance(minutes=15)
    assert (await ticking.tick()).digests == 0  # not tried again this week
    tried = [c for c in bots.api.calls_to("sendMessage") if c.params["chat_id"] == CORA]
    assert [call.error_code for call in tried] == [429, 403]
    assert digests(tg.user(CORA, "Cora")) == []
    assert len(digests(tg.user(CLAUDE, "Claude"))) == 1


async def test_programs_at_different_times_give_one_digest_at_the_earliest(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    halifax_id = await second_program(database, clock)
    await add_role(database, clock, CORA, halifax_id, Role.COORDINATOR)
    async with database.session() as session:
        halifax = await session.get(Program, halifax_id)
        assert halifax is not None
        halifax.settings = {"digest": {"weekday": 4, "time": "16:00"}}
        session.add(halifax)
    ticking = dispatcher(tg, database, clock)
    clock.advance(minutes=1)  # Monday, 8:00 in Toronto: Toronto's time comes first
    assert (await ticking.tick()).digests == 2
    (text,) = digests(tg.user(CORA, "Cora"))
    assert "Career Bridge Toronto" in text and "ECE Halifax" in text
    clock.now = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # Friday, 16:00 in Toronto
    assert (await ticking.tick()).digests == 0
    assert len(digests(tg.user(CORA, "Cora"))) == 1
