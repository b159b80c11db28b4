"""/report: the chart's figures come from a scripted history, week by week with gaps; the
coordinator gets a PNG photo (EN and FR) whose caption says the same figures in words;
French labels render without missing glyphs; participants and other programs' buttons
are refused."""

from __future__ import annotations

import asyncio
import io
import warnings
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from conversations.kit.chart_drawing import drawable
from conversations.kit.charts import render_report, report_data
from locales.translator import translator
from storage.db import Database
from storage.metrics import expected_minutes_per_week
from storage.models import Match, MeetingLog, Membership, Program, PromptStatus, Role
from tests.builders import add_pair
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_alerts import week
from tests.test_coordinator import (
    NOT_YOURS,
    NOT_YOURS_FR,
    REFUSAL,
    REFUSAL_FR,
    Invite_,
    join,
    onboard_coordinator_in_english,
    person_of,
    second_program,
)

WEEKS = ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
STALE = "That button belongs to an earlier question, so it no longer works."
PNG = b"\x89PNG\r\n\x1a\n"
EXPECTED_PER_WEEK = expected_minutes_per_week({})  # an hour a week


@pytest.fixture
async def coordinator(tg: FakeTelegram, invite: Invite_) -> FakeUser:
    claire = tg.user(7001, "Claire", last_name="Roy")
    await onboard_coordinator_in_english(claire, await invite("coordinator"))
    return claire


async def history(database: Database, clock: FakeClock, program: Program) -> Match:
    """Four weeks (W44 to this week, W47) of Alice (mentee) and Robert (mentor), plus a
    match that closed in W45 and one that started this week:

    | week | mentee        | mentor                  | contact       | active |
    | W44  | missed        | answered, going 3       | —             | 2      |
    | W45  | helpful 2     | skipped                 | —             | 2      |
    | W46  | helpful 4     | going 5, about 1h30     | 90 (estimate) | 1      |
    | W47  | still waiting | —                       | 60 (logged)   | 2      |
    """
    mentee, mentor, match = await add_pair(database, program, clock)
    await week(database, clock, mentee, match, 3, PromptStatus.MISSED)
    await week(database, clock, mentor, match, 3, going="3")
    await week(database, clock, mentee, match, 2, helpful="2")
    await week(database, clock, mentor, match, 2, PromptStatus.SKIPPED)
    await week(database, clock, mentee, match, 1, helpful="4")
    await week(database, clock, mentor, match, 1, going="5", duration="h1_2")
    await week(database, clock, mentee, match, 0, PromptStatus.SENT)
    now = clock()
    async with database.session() as session:
        session.add(
            MeetingLog(
                match_id=match.id or 0, author_id=mentor.id or 0, met_on=now.date(),
                minutes=60, mode="video", created_at=now,
            )
        )  # fmt: skip
        for started, closed in (
            (now - timedelta(days=90), datetime(2026, 11, 3, 15, tzinfo=UTC)),  # Tuesday, W45
            (now, None),
        ):
            session.add(
                Match(
                    program_id=program.id or 0, mentor_id=mentor.id or 0,
                    mentee_id=mentee.id or 0, started_at=started, closed_at=closed,
                    status="closed" if closed else "active",
                )
            )  # fmt: skip
    return match


def photos(bots: Bots) -> list[tuple[bytes, str]]:
    return [
        (call.files["photo"][1], str(call.params.get("caption", "")))
        for call in bots.api.calls_to("sendPhoto")
        if not call.failed
    ]


def size_of(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size


# --- the figures --------------------------------------------------------------------------


async def test_chart_data_gives_each_week_with_gaps(
    database: Database, program: Program, clock: FakeClock
) -> None:
    await history(database, clock, program)
    async with database.session() as session:
        data = await report_data(session, program, date(2026, 11, 16), 4)
    weeks = data.weeks
    assert [w.period for w in weeks] == WEEKS
    assert [w.monday for w in weeks] == [date(2026, 10, 26) + timedelta(weeks=i) for i in range(4)]
    assert [(w.rate.answered, w.rate.reached) for w in weeks] == [(1, 2), (1, 1), (2, 2), (0, 1)]
    assert [w.mentee_rating for w in weeks] == [None, 2.0, 4.0, None]
    assert [w.mentor_rating for w in weeks] == [3.0, None, 5.0, None]
    assert [w.contact_minutes for w in weeks] == [0, 0, 90, 60]
    assert [w.active_matches for w in weeks] == [2, 2, 1, 2]
    assert [w.expected_minutes for w in weeks] == [n * EXPECTED_PER_WEEK for n in (2, 2, 1, 2)]
    assert (data.response.answered, data.response.reached) == (4, 6)
    assert (data.mentee_average, data.mentor_average) == (3.0, 4.0)
    assert data.contact_minutes == 150
    assert data.expected_minutes == pytest.approx(7 * EXPECTED_PER_WEEK)
    assert not data.empty


async def test_a_program_without_answers_has_nothing_to_chart(
    database: Database, program: Program, clock: FakeClock
) -> None:
    await add_pair(database, program, clock)  # matched, but nothing answered or logged
    async with database.session() as session:
        data = await report_data(session, program, date(2026, 11, 16), 12)
    # Matched on Saturday, October 17 (W42): the chart starts that week.
    assert [w.period for w in data.weeks] == [f"2026-W{n}" for n in range(42, 48)]
    assert [w.active_matches for w in data.weeks] == [1] * 6 and data.empty
    assert data.mentee_average is None and data.response.value is None


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_labels_render_without_missing_glyphs(
    database: Database, program: Program, clock: FakeClock, language: str
) -> None:
    await history(database, clock, program)
    async with database.session() as session:
        data = await report_data(session, program, date(2026, 11, 16), 26)
    # The first match started on Tuesday, August 18: the weeks before it are not drawn.
    assert (data.weeks[0].monday, len(data.weeks)) == (date(2026, 8, 17), 14)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_report(data, translator(language), "Carrière Montréal 🌱 – 50 $ à 100 $")
    assert [str(warning.message) for warning in caught] == []
    assert size_of(png) == (840, 1260)
    assert drawable("Carrière Montréal 🌱 – 50 $") == "Carrière Montréal – 50 $"


async def test_charts_drawn_at_once_in_threads_are_the_charts_drawn_one_by_one(
    database: Database, program: Program, clock: FakeClock
) -> None:
    """Each chart has its own Figure (no pyplot state), so worker threads do not mix."""
    await history(database, clock, program)
    async with database.session() as session:
        short = await report_data(session, program, date(2026, 11, 16), 4)
        long = await report_data(session, program, date(2026, 11, 16), 26)
    jobs = [(short, translator("en")), (long, translator("fr"))] * 3
    alone = [render_report(data, tr, program.name) for data, tr in jobs]
    together = await asyncio.gather(
        *(asyncio.to_thread(render_report, data, tr, program.name) for data, tr in jobs)
    )
    assert list(together) == alone
    assert alone[0] != alone[1]


# --- /report ------------------------------------------------------------------------------


async def test_coordinator_gets_the_chart_and_its_figures_in_words(
    bots: Bots, database: Database, clock: FakeClock, coordinator: FakeUser, program: Program
) -> None:
    await history(database, clock, program)
    await coordinator.send("/report")
    ((png, _),) = photos(bots)
    assert size_of(png) == (840, 1260)
    assert coordinator.last.kind == "photo"
    assert coordinator.last.text.splitlines() == [
        "Career Bridge Toronto, last 12 weeks (Aug 31–Nov 22, 2026; the last one is still "
        "under way).",
        "Check-ins answered: 67% (4 of 6 check-ins delivered).",
        "Average ratings out of 5: mentees 3.0 (how helpful), mentors 4.0 (how it's going).",
        # 150 minutes against 17 match-weeks (the closed match ran from August 18) at
        # 4 hours a month: 941.5 minutes.
        "Contact: 2.5 h logged or estimated, against 17 h expected (15%).",
        "",  # the closed match's outcomes (tests/test_outcomes.py): no follow-up yet
        "Outcomes of 1 closed match:",
        "Follow-ups: none has reached a mentee yet.",
    ]
    assert "<b>Career Bridge Toronto</b>" in coordinator.last.raw
    assert coordinator.buttons == ["4 weeks", "26 weeks"]

    await coordinator.tap("4 weeks")
    assert coordinator.answers[-1] == "Drawing your chart…"
    assert len(photos(bots)) == 2
    first, second = coordinator.messages[-2:]
    assert not first.has_buttons  # the used buttons are gone
    assert second.text.startswith(
        "Career Bridge Toronto, last 4 weeks (Oct 26–Nov 22, 2026; the last one"
    )
    assert "against 7 h expected (36%)." in second.text  # 7 match-weeks
    assert second.labels == ["12 weeks", "26 weeks"]


async def test_french_coordinator_gets_a_french_chart(
    tg: FakeTelegram, bots: Bots, database: Database, clock: FakeClock, program: Program,
    invite: Invite_,
) -> None:  # fmt: skip
    josee = tg.user(7010, "Josée", language_code="fr-CA")
    await join(josee, await invite("coordinator"), "coordinator", "fr")
    await history(database, clock, program)
    await josee.send("/report")
    ((png, _),) = photos(bots)
    assert size_of(png) == (840, 1260)
    assert josee.last.text.splitlines() == [
        "Career Bridge Toronto, les 12 dernières semaines (31 août\u2009–\u200922 nov. 2026; la "
        "dernière est encore en cours).",
        "Suivis remplis : 67\xa0% (4 sur 6 suivis remis).",
        "Notes moyennes sur 5 : personnes mentorées 3,0 (utilité), mentors 4,0 (déroulement).",
        "Temps de contact : 2,5 h consignées ou estimées, sur 17 h prévues (15\xa0%).",
        "",
        "Résultats (1 jumelage terminé)\xa0:",
        "Sondages post-programme\xa0: aucun n’a encore joint de personne mentorée.",
    ]
    assert josee.buttons == ["4 semaines", "26 semaines"]


async def test_a_program_with_nothing_yet_gets_a_sentence(
    bots: Bots, coordinator: FakeUser
) -> None:
    await coordinator.send("/report")
    assert coordinator.last.text == (
        "Career Bridge Toronto: nothing to chart for the last 12 weeks yet — no check-in "
        "reached anyone, nobody gave a rating and no meeting was logged."
    )
    assert coordinator.buttons == ["4 weeks", "26 weeks"]
    await coordinator.tap("26 weeks")
    assert "last 26 weeks yet" in coordinator.last.text
    assert photos(bots) == []


async def test_coordinator_of_two_programs_picks_one(
    bots: Bots, database: Database, clock: FakeClock, coordinator: FakeUser, program: Program
) -> None:
    await history(database, clock, program)
    halifax = await second_program(database, clock)
    claire = await person_of(database, coordinator)
    async with database.session() as session:
        session.add(
            Membership(
                person_id=claire.id or 0, program_id=halifax, role=Role.COORDINATOR,
                joined_at=clock(), completed_at=clock(),
            )
        )  # fmt: skip
    await coordinator.send("/report")
    assert coordinator.last.text == "Which program's chart do you want?"
    assert coordinator.buttons == ["Career Bridge Toronto", "ECE Halifax"]
    await coordinator.tap("ECE Halifax")
    assert coordinator.last.text.startswith("ECE Halifax: nothing to chart")
    await coordinator.send("/report")
    await coordinator.tap("Career Bridge Toronto")
    ((_, caption),) = photos(bots)
    assert "(4 of 6 check-ins delivered)" in caption


async def test_participants_are_refused(
    tg: FakeTelegram, bots: Bots, database: Database, clock: FakeClock, program: Program,
    invite: Invite_,
) -> None:  # fmt: skip
    await history(database, clock, program)
    robert = tg.user(7002, "Robert")
    await join(robert, await invite("mentor"), "mentor")
    alice = tg.user(7003, "Alice", language_code="fr")
    await join(alice, await invite("mentee"), "mentee", "fr")
    await robert.send("/report")
    assert REFUSAL in robert.texts
    await alice.send("/report")
    assert REFUSAL_FR in alice.texts
    # Buttons forged with the program's id show nothing either.
    await alice.press(f"rep:w:{program.id}:12")
    assert alice.answers[-1] == NOT_YOURS_FR
    await robert.press(f"rep:prog:{program.id}")
    assert robert.answers[-1] == NOT_YOURS
    assert photos(bots) == []


async def test_forged_buttons_for_another_program_are_refused(
    bots: Bots, database: Database, clock: FakeClock, coordinator: FakeUser
) -> None:
    halifax = await second_program(database, clock)
    await coordinator.send("/report")
    shown = len(coordinator.messages)
    for forged in (f"rep:w:{halifax}:4", f"rep:prog:{halifax}"):
        await coordinator.press(forged)
        assert coordinator.answers[-1] == NOT_YOURS
    for stale in ("rep:w:1:5", "rep:pdf:1", "rep:w:99999999999:4", "rep:prog:1:2", "rep:"):
        await coordinator.press(stale)
        assert coordinator.answers[-1] == STALE
    assert len(coordinator.messages) == shown
    assert photos(bots) == []


async def test_menu_offers_report_to_coordinators(coordinator: FakeUser, bots: Bots) -> None:
    menus = [
        [command["command"] for command in call.params["commands"]]
        for call in bots.api.calls_to("setMyCommands")
        if "scope" in call.params
    ]
    assert menus and "report" in menus[-1]
