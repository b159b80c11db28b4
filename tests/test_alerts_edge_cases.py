"""Alerts and oversight at their edges: the contact benchmark read in the program's local
days, a reflection sent after /endmatch's reason question keeps its answer, alert copies
stay with the program's coordinators, a flag resolved meanwhile is not alerted again,
dates in alerts and views are the program's local dates and "No note" stops waiting for
a note — in English and French."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, delete, select

from conversations.kit.alerting import notify
from storage.db import Database
from storage.flag_sweep import end_snoozes
from storage.models import (
    Flag,
    FlagStatus,
    Match,
    MeetingLog,
    Membership,
    Program,
)
from tests.builders import ALICE, ROBERT, add_pair, deliver_prompt
from tests.conftest import FakeClock
from tests.fakebot import iter_buttons
from tests.harness import FakeTelegram
from tests.test_alerts import (
    CLAUDE,
    CORA,
    benchmark,
    flag_row,
    raise_safety_flag,
    seed_people,
)
from tests.test_checkin import answers
from tests.test_reflection import add_reflection

# 23:30 in Toronto on Friday October 16, 2026 (EDT): already October 17 in UTC.
LATE_EVENING = datetime(2026, 10, 17, 3, 30, tzinfo=UTC)


@pytest.fixture
async def people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    return await seed_people(database, program, clock)


async def started(database: Database, match: Match, at: datetime) -> None:
    async with database.session() as session:
        row = await session.get(Match, match.id)
        assert row is not None
        row.started_at = at
        session.add(row)


async def log_on(database: Database, clock: FakeClock, match: Match, day: str) -> None:
    """A meeting held on `day` (the author's local date)."""
    async with database.session() as session:
        session.add(
            MeetingLog(
                match_id=match.id or 0, author_id=match.mentor_id, minutes=60, mode="call",
                met_on=datetime.fromisoformat(day).date(), created_at=clock(),
            )
        )  # fmt: skip


# --- the contact benchmark reads the program's local days -------------------------------------


async def test_a_meeting_the_evening_a_match_started_at_2330_counts_in_its_first_month(
    database: Database, program: Program, clock: FakeClock
) -> None:
    _, _, match = await add_pair(database, program, clock)
    await started(database, match, LATE_EVENING)  # Toronto: October 16, 23:30
    await log_on(database, clock, match, "2026-10-16")  # they met that very evening
    await log_on(database, clock, match, "2026-11-10")
    clock.now = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)
    assert await benchmark(database, clock, match) == []  # two days in Oct 16 – Nov 15


async def test_a_month_is_not_judged_before_its_last_local_day_is_over(
    database: Database, program: Program, clock: FakeClock
) -> None:
    _, _, match = await add_pair(database, program, clock)
    await started(database, match, datetime(2026, 10, 16, 14, 0, tzinfo=UTC))
    await log_on(database, clock, match, "2026-10-20")  # month 1: October 16 to November 15
    clock.now = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # November 15, 21:00 in Toronto
    assert await benchmark(database, clock, match) == []  # they may still meet tonight
    clock.now = datetime(2026, 11, 16, 5, 30, tzinfo=UTC)  # November 16, 00:30 in Toronto
    (flag,) = await benchmark(database, clock, match)
    assert flag.evidence["months"] == [
        {"month": 1, "first": "2026-10-16", "last": "2026-11-15", "contacts": 1, "expected": 2}
    ]


async def test_month_ends_late_in_the_month_follow_the_calendar(
    database: Database, program: Program, clock: FakeClock
) -> None:
    _, _, match = await add_pair(database, program, clock)
    await started(database, match, datetime(2027, 1, 31, 4, 30, tzinfo=UTC))  # Jan 30, 23:30
    for day in ("2027-01-30", "2027-02-27"):  # the first and the last day of month 1
        await log_on(database, clock, match, day)
    clock.now = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)  # month 1: Jan 30 – Feb 27 (2027)
    assert await benchmark(database, clock, match) == []
    clock.now = datetime(2027, 3, 31, 14, 0, tzinfo=UTC)  # month 2: Feb 28 – Mar 29
    (flag,) = await benchmark(database, clock, match)
    assert [(m["month"], m["first"], m["last"]) for m in flag.evidence["months"]] == [
        (2, "2027-02-28", "2027-03-29")
    ]


# --- /endmatch's reason question does not take a later prompt's answer ----------------------


async def test_a_reflection_sent_after_the_reason_question_keeps_its_answer(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    await alice.tap("Yes, ask the coordinator")
    clock.advance(minutes=5)
    reflection = await add_reflection(
        database, clock, people["mentee"], people["match"], "reflection_mentee_middle"
    )
    await deliver_prompt(tg, database, reflection)  # the dispatcher, not a tap
    await alice.send("He said my accent is an asset.")
    assert await answers(database, reflection) == {"stayed": "He said my accent is an asset."}
    async with database.session() as session:
        assert (await session.exec(select(Flag))).all() == []
    assert tg.user(CORA, "Cora").messages == []


async def test_the_reason_is_still_taken_when_no_prompt_came_since(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    reflection = await add_reflection(
        database, clock, people["mentor"], people["match"], "reflection_mentor_middle"
    )
    await deliver_prompt(tg, database, reflection)  # before the question: the reason wins
    clock.advance(minutes=5)
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/endmatch")
    await robert.press(f"end:yes:{people['match'].id}", robert.last.message_id)
    await robert.send("Nos horaires ne concordent plus.")
    assert robert.last.text.startswith("Merci de me l’avoir dit.")
    assert await answers(database, reflection) == {}
    async with database.session() as session:
        (flag,) = (await session.exec(select(Flag))).all()
    assert flag.evidence["requests"][0]["reason"] == "Nos horaires ne concordent plus."


# --- alert copies: only for the program's coordinators ------------------------------------------


async def test_a_coordinator_who_left_the_program_gets_no_update_of_their_copy(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    await raise_safety_flag(tg, database, clock, people)
    claude = tg.user(CLAUDE, "Claude", language_code="fr")
    before = claude.messages[0].text
    async with database.session() as session:
        await session.exec(  # type: ignore[call-overload]
            delete(Membership).where(col(Membership.person_id) == people["claude"].id)
        )
    cora = tg.user(CORA, "Cora")
    await cora.tap("Resolve")
    await cora.send("Called Alice: she is safe, moved to another office.")
    assert claude.messages[0].text == before  # the note is not shown to them
    assert "Called Alice" not in claude.messages[0].text
    assert cora.messages[0].text.endswith(
        "✅ Resolved by Cora Lee: Called Alice: she is safe, moved to another office."
    )
    await claude.tap("Prendre en charge")  # their old buttons do nothing either
    assert claude.answers[-1] == "Seule l’équipe de coordination de ce programme peut faire cela."


# --- a flag resolved meanwhile is not alerted again -----------------------------------------------


async def test_a_snooze_ending_as_the_flag_is_resolved_sends_nothing(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.tap("Snooze 7 days")
    clock.advance(days=7)
    async with database.session() as session:
        woken = await end_snoozes(session, clock())
    assert woken == [flag_id]
    await cora.tap("Resolve")  # on the copy she has, before the dispatcher sends again
    await cora.tap("No note")
    assert (await flag_row(database, flag_id)).status == FlagStatus.RESOLVED
    count = len(cora.messages), len(tg.user(CLAUDE, "Claude").messages)
    assert await notify(tg.application.bot, database, woken, now=clock()) == 0
    assert (len(cora.messages), len(tg.user(CLAUDE, "Claude").messages)) == count


# --- dates in alerts and views are the program's local dates ----------------------------------

EVENING = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)  # November 16, 21:00 in Toronto


async def test_an_evening_request_and_snooze_show_the_local_dates(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    clock.now = EVENING
    alice = tg.user(ALICE, "Alice")
    await alice.send("/endmatch")
    await alice.tap("Yes, ask the coordinator")
    await alice.send("We never meet.")
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude", language_code="fr")
    assert "Alice Martin asked on November 16, 2026 to end the match early" in cora.last.text
    assert "Alice Martin a demandé le 16 novembre 2026" in claude.last.text
    await cora.tap("Snooze 7 days")  # until November 23, 21:00 in Toronto
    assert cora.last.text.endswith("💤 Snoozed by Cora Lee until November 23, 2026.")
    assert claude.last.text.endswith("💤 Reporté par Cora Lee jusqu’au 23 novembre 2026.")
    await cora.send("/flags")
    assert "raised today · 💤 snoozed until Nov 23" in cora.last.text
    await cora.send(f"/match {people['match'].id}")
    assert "Cora Lee snoozed “Asked to end the match” until November 23, 2026." in cora.last.text
    assert "asked on November 16, 2026 to end the match early" in cora.last.text
    await claude.send(f"/match {people['match'].id}")
    assert "jusqu’au 23 novembre 2026" in claude.last.text


# --- "No note" ends the wait for a note ---------------------------------------------------------


async def test_after_no_note_the_next_text_goes_where_it_was_meant(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.send("/broadcast")
    (mentees,) = [label for label in cora.last.labels if label.startswith("Mentees")]
    await cora.tap(mentees)
    assert "Send the message text now" in cora.last.text
    await cora.press(f"fl:res:{flag_id}", cora.messages[0].message_id)
    await cora.tap("No note")
    assert (await flag_row(database, flag_id)).status == FlagStatus.RESOLVED
    await cora.send("Check-ins close on Sunday this week.")
    assert cora.last.text.startswith("Preview: this is what they will receive.")
    assert (await flag_row(database, flag_id)).note is None


async def test_after_resolve_a_command_ends_the_wait_for_a_note(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.tap("Resolve")
    assert "Send a short note" in cora.last.text
    await cora.send("/broadcast")
    (mentees,) = [label for label in cora.last.labels if label.startswith("Mentees")]
    await cora.tap(mentees)
    await cora.send("Check-ins close on Sunday this week.")
    assert cora.last.text.startswith("Preview: this is what they will receive.")
    flag = await flag_row(database, flag_id)
    assert (flag.status, flag.note) == (FlagStatus.OPEN, None)


async def test_after_resolve_another_dialogues_button_ends_the_wait_for_a_note(
    tg: FakeTelegram, database: Database, clock: FakeClock, people: dict[str, Any]
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.send("/matches")
    listing = cora.last
    (at_risk,) = [b for b in iter_buttons(listing) if b.text == "🔴 At risk"]
    await cora.press(f"fl:res:{flag_id}", cora.messages[0].message_id)
    assert "Send a short note" in cora.last.text
    await cora.press(at_risk.callback_data or "", listing.message_id)  # moved on
    await cora.send("Spoke with Alice")
    flag = await flag_row(database, flag_id)
    assert (flag.status, flag.note) == (FlagStatus.OPEN, None)
    assert not cora.last.text.startswith("✅")
