"""/cancel ends whatever is in progress (issue 11, point 9), through the real Application:
with nothing in progress it says so; mid check-in, while editing a logged meeting and
while adding a goal it ends the wait and says what was kept."""

from __future__ import annotations

from sqlmodel import select

from storage.db import Database
from storage.models import Goal, MeetingLog, Program
from tests.conftest import FakeClock
from tests.harness import FakeTelegram
from tests.test_checkin import ALICE, ROBERT, add_pair, add_prompt, answers, deliver_prompt
from tests.test_goals import seed_goals

STOPPED = "Okay, stopped. Everything you had already answered is kept"


async def test_cancel_with_nothing_in_progress_says_so_in_both_languages(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_pair(database, program, clock)  # Robert writes French
    alice, robert = tg.user(ALICE, "Alice"), tg.user(ROBERT, "Robert")
    await alice.send("/cancel")
    assert alice.last.text == "Nothing is in progress, so there is nothing to cancel."
    await robert.send("/cancel")
    assert "annuler" in robert.last.text
    assert "I don't know" not in alice.last.text


async def test_cancel_mid_checkin_keeps_the_answers(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, match = await add_pair(database, program, clock)
    alice = tg.user(ALICE, "Alice")
    prompt_id = await add_prompt(database, clock, mentee, match, "mentee_weekly")
    await deliver_prompt(tg, database, prompt_id)
    await alice.tap("Yes, by video or phone")
    kept = await answers(database, prompt_id)
    await alice.send("/cancel")
    assert alice.last.text.startswith(STOPPED)
    assert await answers(database, prompt_id) == kept != {}


async def test_cancel_while_adding_a_goal_ends_the_wait(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, _ = await add_pair(database, program, clock)
    await seed_goals(database, clock, mentee, "Find a job")
    alice = tg.user(ALICE, "Alice")
    await alice.send("/goals")
    await alice.tap("➕ Add a goal")
    await alice.send("/cancel")
    assert alice.last.text.startswith(STOPPED)
    await alice.send("this is not a goal")
    async with database.session() as session:
        assert (await session.exec(select(Goal.text))).all() == ["Find a job"]


async def test_cancel_while_editing_a_logged_meeting_keeps_the_meeting(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_pair(database, program, clock, mentor_locale="en")
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 45m yesterday video: résumé")
    await robert.tap("✏️ Edit")
    await robert.tap("Duration")
    await robert.send("/cancel")  # the meeting log answers /cancel in its own words
    assert robert.last.text == "Okay, nothing was logged."
    await robert.send("2 h")
    async with database.session() as session:
        assert (await session.exec(select(MeetingLog.minutes))).all() == [45]
