"""Coordinator figures at their edges: /report's contact axis labels quarter hours exactly,
a double tap on a /dashboard button sends no second copy, and a program expecting no
contact is not said to have no active match. The rest pins what was checked and found
right: the digest after ISO week 53 in the coordinator's own zone, a broadcast exactly
at the length limit, and people leaving between a broadcast's preview and its sending."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from conversations.broadcast import TEXT_LIMIT
from conversations.kit.chart_drawing import draw_report
from conversations.kit.charts import ChartWeek, ReportData
from conversations.report import caption
from locales.translator import translator
from storage.db import Database
from storage.metrics import Rate
from storage.models import Person, PersonStatus, Program, PromptStatus, Role
from storage.schedule import period_key
from tests.builders import add_coordinator, add_pair, add_prompt
from tests.conftest import FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_broadcast import ALICE, BOB, CLAUDE, ZOE, World, world  # noqa: F401
from tests.test_broadcast import CLAIRE as CLAIRE_ID
from tests.test_dashboard import ENGLISH, History, cora, halifax, history, log  # noqa: F401
from tests.test_digest import CLAUDE as DIGEST_CLAUDE
from tests.test_digest import CORA, change, digests, people  # noqa: F401
from tests.test_digest import MONDAY as DIGEST_MONDAY
from tests.test_digest import dispatcher as digest_dispatcher


def _report(minutes: list[int], active: int = 1, per_match: float = 60) -> ReportData:
    """Weeks from October 26, 2026 with these contact minutes, `active` matches each
    expected to meet `per_match` minutes a week, half the check-ins answered."""
    mondays = [date(2026, 10, 26) + timedelta(weeks=i) for i in range(len(minutes))]
    return ReportData(
        tuple(
            ChartWeek(
                period_key(monday),
                monday,
                Rate(1, 2),
                None,
                None,
                value,
                active,
                per_match * active,
            )
            for monday, value in zip(mondays, minutes, strict=True)
        )
    )


def _contact_axis_labels(
    language: str, minutes: list[int], per_match: float = 60
) -> list[tuple[float, str]]:
    """The contact panel's y ticks and their labels, as /report draws them."""
    figure = draw_report(_report(minutes, per_match=per_match), translator(language), "X")
    figure.canvas.draw()
    axes = figure.axes[2]
    return [
        (tick, label.get_text())
        for tick, label in zip(axes.get_yticks(), axes.get_yticklabels(), strict=True)
        if axes.get_ylim()[0] <= tick <= axes.get_ylim()[1]
    ]


def test_contact_hours_axis_labels_say_the_value_at_their_line() -> None:
    """A small program (one match, 45 minutes a week expected) draws its axis in quarter
    hours: the lines at 0.25 and 0.75 h were labelled "0.2" and "0.8"."""
    english = _contact_axis_labels("en", [20, 40, 45, 0], per_match=45)
    assert ("0.25" in dict(english).values()) and ("0.75" in dict(english).values())
    for tick, label in english:
        assert float(label.replace(",", "")) == tick, (tick, label)
    french = _contact_axis_labels("fr", [20, 40, 45, 0], per_match=45)
    for tick, label in french:
        assert float(label.replace("\u202f", "").replace(",", ".")) == tick, (tick, label)


async def test_a_double_tap_on_a_dashboard_button_sends_no_second_message(
    cora: FakeUser,  # noqa: F811
    history: History,  # noqa: F811
    halifax: int,  # noqa: F811
) -> None:
    """The second press edits the message to what it already shows: Telegram answers
    "message is not modified", which must not turn into a copy of the screen."""
    await cora.send("/dashboard")
    (listing,) = cora.messages
    data = next(
        button.callback_data
        for row in listing.buttons
        for button in row
        if button.text == "Career Bridge Toronto"
    )
    assert data is not None
    await cora.press(data, listing.message_id)
    await cora.press(data, listing.message_id)  # the same tap, delivered twice
    assert len(cora.messages) == 1
    assert cora.last.text.splitlines() == ENGLISH


async def test_the_digest_after_week_53_in_the_coordinators_own_zone(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Vera coordinates a Toronto program from Vancouver: her digest comes at 8:00 in
    Vancouver on Monday, January 4, 2027 (not at 8:00 in Toronto), and reports 2026-W53,
    the ISO week from December 28 to January 3, in English and French."""
    await add_coordinator(database, program, clock, 303, "Vera Chan")
    await change(database, Person, 303, timezone="America/Vancouver")
    await add_coordinator(database, program, clock, 304, "Vic Roy", "fr")
    await change(database, Person, 304, timezone="America/Vancouver")
    mentee, mentor, match = await add_pair(database, program, clock)
    for person, instrument, period, status in (
        (mentee, "mentee_weekly", "2026-W52", PromptStatus.MISSED),
        (mentor, "mentor_weekly", "2026-W52", PromptStatus.ANSWERED),
        (mentee, "mentee_weekly", "2026-W53", PromptStatus.ANSWERED),
        (mentor, "mentor_weekly", "2026-W53", PromptStatus.ANSWERED),
    ):
        await add_prompt(database, clock, person, match, instrument, period=period, status=status)
    await log(database, clock, match, date(2027, 1, 2), 90)  # Saturday of 2026-W53
    await log(database, clock, match, date(2027, 1, 4), 30)  # this week: not reported
    ticking = digest_dispatcher(tg, database, clock)
    clock.now = datetime(2027, 1, 4, 13, 0, tzinfo=UTC)  # 8:00 in Toronto, 5:00 in Vancouver
    assert (await ticking.tick()).digests == 0
    clock.now = datetime(2027, 1, 4, 15, 59, tzinfo=UTC)
    assert (await ticking.tick()).digests == 0
    clock.now = datetime(2027, 1, 4, 16, 0, tzinfo=UTC)  # 8:00 in Vancouver
    assert (await ticking.tick()).digests == 2
    (english,) = digests(tg.user(303, "Vera"))
    assert "Check-ins answered: 100% (2 of 2); the week before: 50% (1 of 2)." in english
    assert "Meetings logged: 1, 1.5 h together" in english
    (french,) = digests(tg.user(304, "Vic"))
    assert french.splitlines()[0].endswith(" · semaine du 28 décembre 2026")


def test_a_program_that_expects_no_contact_is_not_said_to_have_no_active_match() -> None:
    """``expected_minutes_per_week`` may be 0 (the CLI accepts it): the caption said
    "no match was active" of a program whose matches met for 2.5 hours."""
    data = _report([90, 60, 0, 0], active=3, per_match=0)
    english = caption(translator("en"), "Career Bridge Toronto", data).splitlines()
    assert english[-1] == "Contact: 2.5 h logged or estimated."
    french = caption(translator("fr"), "Career Bridge Toronto", data).splitlines()
    assert french[-1] == "Temps de contact : 2,5 h consignées ou estimées."
    idle = _report([0, 0, 0, 0], active=0)
    assert caption(translator("en"), "X", idle).splitlines()[-1] == (
        "Contact: 0 h logged; no match was active."
    )


async def test_a_text_exactly_at_the_limit_previews_and_arrives_in_french(
    world: World,  # noqa: F811
    database: Database,
    program: Program,
) -> None:
    """3,500 characters of markup-looking text, a program name of the longest kind and a
    French coordinator: the preview, the confirmation and the delivered message all fit
    Telegram's 4,096 characters (the fake Bot API refuses anything longer)."""
    async with database.session() as session:
        row = await session.get(Program, program.id)
        assert row is not None
        row.name = ("Programme de mentorat « Femmes & <Leadership> » " + "é" * 120)[:120]
        session.add(row)
    assert program.id is not None
    await world.set_status(ZOE, PersonStatus.UNREACHABLE)  # adds the "left out" line
    claude = await world.add(program.id, Role.COORDINATOR, CLAUDE, "Claude Côté", "fr")
    text = ("<b>&amp;</b> " * 500)[: TEXT_LIMIT - 1] + "!"
    assert len(text) == TEXT_LIMIT
    await claude.send("/broadcast")
    await claude.tap("Tout le monde")
    await claude.send(text)
    assert text in claude.last.text and len(claude.last.text) <= 4096
    await claude.tap("Envoyer à")
    assert text in claude.last.text
    assert (await world.dispatcher.tick()).sent == 3  # Robert, Alice and Bob
    assert world[ALICE].last.text.endswith(text)


async def test_people_who_leave_between_preview_and_send_are_not_sent_to(
    world: World,  # noqa: F811
    database: Database,
) -> None:
    """Zoé's data is erased and Bob blocks the bot after the preview: Send leaves Zoé
    out; Bob (the bot cannot know yet) is tried once, marked unreachable, and the tally
    says so."""
    claire = world[CLAIRE_ID]
    await claire.send("/broadcast")
    await claire.tap("Mentees (3)")
    await claire.send("Pizza <night> & games")
    assert claire.buttons[0] == "Send to 3 people"
    await world[BOB].block_bot()
    await world.set_status(ZOE, PersonStatus.ERASED)
    await claire.tap("Send to 3 people")
    assert claire.last.text.endswith(
        "📤 Sending to 2 people… Send /broadcast later to see how it went."
    )
    report = await world.dispatcher.tick()
    assert (report.sent, report.failed, report.unreachable) == (1, 1, 1)
    assert world[ALICE].last.text.endswith("Pizza <night> & games")
    assert world[ZOE].messages == []
    await claire.send("/broadcast")
    assert "sent to 1 of 2 people, 1 not delivered." in claire.last.text


async def test_two_instances_with_their_own_connections_send_each_digest_once(
    tg: FakeTelegram,
    database: Database,
    database_url: str,
    clock: FakeClock,
    people: dict[str, Any],  # noqa: F811
) -> None:
    """Two dispatchers, each with its own engine (two processes), without the advisory
    lock that normally keeps one at a time: on PostgreSQL they really run at once, and
    the watermark and the (coordinator, week) claims still send every digest once."""
    other = Database(database_url)
    try:
        one = digest_dispatcher(tg, database, clock)
        two = digest_dispatcher(tg, other, clock)
        for minutes in (1, 1, 16, 31):
            clock.now = DIGEST_MONDAY + timedelta(minutes=minutes)
            await asyncio.gather(one.tick(), two.tick(), one.tick(), two.tick())
    finally:
        await other.dispose()
    assert [len(digests(tg.user(who, "x"))) for who in (CORA, DIGEST_CLAUDE)] == [1, 1]
